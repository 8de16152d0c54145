// JoinGroup, SyncGroup, Heartbeat and LeaveGroup: the classic group protocol.

#include <algorithm>
#include <memory>

#include "kb/handlers/groups.hpp"
#include "kb/protocol/error_code.hpp"

namespace kb::handlers {

using protocol::ErrorCode;
using protocol::HeartbeatRequest;
using protocol::HeartbeatResponse;
using protocol::JoinGroupRequest;
using protocol::JoinGroupResponse;
using protocol::LeaveGroupRequest;
using protocol::LeaveGroupResponse;
using protocol::SyncGroupRequest;
using protocol::SyncGroupResponse;
using protocol::to_wire;

group::Millis group_time(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

Clock::time_point from_group_time(group::Millis ms) {
  return Clock::time_point(std::chrono::milliseconds(ms));
}

namespace {

std::optional<std::string> optional_string(std::optional<std::string_view> s) {
  return s ? std::optional<std::string>(*s) : std::nullopt;
}

// A result, or none to wait for one (ctx.wait_until set), or, when the
// request may wait no longer, what giving up answers.
template <class Result, class Abandon>
std::optional<Result> settle(RequestContext& ctx, group::Outcome<Result> outcome, Abandon abandon) {
  if (outcome.result) return std::move(outcome.result);
  if (!ctx.may_wait) return abandon();
  ctx.wait_until = from_group_time(outcome.wait_until);
  return std::nullopt;
}

// JoinGroup and SyncGroup alike: without a coordinator, COORDINATOR_NOT_AVAILABLE;
// else the coordinator's result (settled as above) gives the response its error,
// and `shape` the rest.
template <class Response, class Call, class Abandon, class Shape>
std::optional<Response> rebalance_response(RequestContext& ctx, Response response, Call call,
                                           Abandon abandon, Shape shape) {
  if (!ctx.groups) {
    response.error_code = to_wire(ErrorCode::kCoordinatorNotAvailable);
    return response;
  }
  auto result = settle(ctx, call(), abandon);
  if (!result) return std::nullopt;
  response.error_code = result->error;
  shape(response, *result);
  return response;
}

// The group's protocol type and name, in the versions whose response has both.
template <class Response, class Result>
void set_protocol(Response& response, Result& result) {
  response.protocol_type = std::move(result.protocol_type);
  response.protocol_name = std::move(result.protocol_name);
}

// The group APIs of a member need READ on the group.
bool may_read_group(const RequestContext& ctx, std::string_view group_id) {
  return ctx.authorized(security::AclOperation::kRead, security::ResourceType::kGroup, group_id);
}

}  // namespace

namespace {

// JoinGroup with its protocols already in one list (`params` filled but for
// the request's own fields).
std::optional<JoinGroupResponse> join_group(RequestContext& ctx, const JoinGroupRequest& request,
                                            int16_t version, group::JoinParams params) {
  JoinGroupResponse response;
  response.member_id = std::string(request.member_id);
  if (version < 7) response.protocol_name = "";
  if (!may_read_group(ctx, request.group_id)) {
    response.member_id.clear();
    response.error_code = to_wire(ErrorCode::kGroupAuthorizationFailed);
    return response;
  }
  params.group_id = request.group_id;
  params.member_id = request.member_id;
  params.instance_id = request.group_instance_id;
  params.client_id = ctx.header.client_id.value_or("");
  params.client_host = ctx.client_host;
  params.session_timeout_ms = request.session_timeout_ms;
  // v0 has no rebalance timeout: the session timeout serves as both.
  params.rebalance_timeout_ms =
      version >= 1 ? request.rebalance_timeout_ms : request.session_timeout_ms;
  params.protocol_type = request.protocol_type;
  params.require_known_member_id = version >= 4;

  const group::RequestKey key{ctx.connection_id, ctx.header.correlation_id};
  return rebalance_response(
      ctx, std::move(response),
      [&] { return ctx.groups->join(key, params, group_time(ctx.now), topics_view(ctx)); },
      [&] { return ctx.groups->abandon_join(key); },
      [&](JoinGroupResponse& out, group::JoinResult& r) {
        out.generation_id = r.generation;
        if (!r.member_id.empty()) out.member_id = std::move(r.member_id);
        out.leader = std::move(r.leader);
        out.skip_assignment = r.skip_assignment;
        if (version >= 7)
          set_protocol(out, r);
        else
          out.protocol_name = r.protocol_name.value_or("");
        for (auto& m : r.members)
          out.members.push_back(
              {std::move(m.member_id), std::move(m.instance_id), std::move(m.metadata)});
      });
}

// A JoinGroup read over several loop turns: its protocols go into one list a
// part per step (however many the client offers, no turn reads them all),
// are then compared with the member's current ones a part per step, and the
// join is asked with them. Parked, it is asked again by its key, with the list
// it read: the request is never read twice.
struct JoinProgress final : RequestProgress {
  size_t next_protocol_at = 0;  // reader position of the next protocol to read
  int32_t protocols_left = 0;
  std::shared_ptr<group::ProtocolList> protocols = std::make_shared<group::ProtocolList>();
  bool read = false;  // all of the request
  // Comparing with the member's protocols (when it has some).
  std::shared_ptr<const group::ProtocolList> compared_with;
  size_t compared = 0;
  bool same_list = true;
  bool same_names = true;
  bool compare_started = false;
};

DispatchResult dispatch_join_group(RequestContext& ctx, wire::Reader& body, int16_t version,
                                   wire::Writer& out) {
  const bool flexible = version >= JoinGroupRequest::kFirstFlexible;
  std::unique_ptr<JoinProgress> progress = take_progress<JoinProgress>(ctx);
  const bool first_step = progress == nullptr;
  if (first_step) progress = std::make_unique<JoinProgress>();
  auto yield = [&] {
    ctx.progress = std::move(progress);
    return DispatchResult::kYield;
  };

  // JoinGroupRequest::fields(), in its order, with the protocols read apart.
  JoinGroupRequest request;
  wire::Decoder decoder(body, version, flexible);
  decoder(request.group_id);
  decoder(request.session_timeout_ms);
  if (version >= 1) decoder(request.rebalance_timeout_ms);
  decoder(request.member_id);
  if (version >= 5) decoder(request.group_instance_id);
  decoder(request.protocol_type);
  if (!progress->read) {
    const int32_t count = flexible ? body.compact_array_length() : body.array_length();
    if (count == -1) body.fail("null array where one is required");
    if (!body.ok()) return DispatchResult::kDecodeFailed;
    if (first_step) {
      progress->protocols_left = count;
      progress->protocols->reserve(static_cast<size_t>(count), body.remaining());
    } else {
      body.skip(progress->next_protocol_at - body.position());
    }
    group::ProtocolList& list = *progress->protocols;
    size_t items = 0;
    while (progress->protocols_left > 0) {
      JoinGroupRequest::JoinGroupRequestProtocol protocol;
      decoder(protocol);
      if (!body.ok()) return DispatchResult::kDecodeFailed;
      list.add(protocol.name, protocol.metadata);
      --progress->protocols_left;
      if (++items % 64 == 0 && progress->protocols_left > 0 && ctx.step_done(items)) {
        progress->next_protocol_at = body.position();
        return yield();
      }
    }
    if (version >= 8) decoder(request.reason);
    if (flexible) decoder.read_tagged_fields(request);
    if (!body.ok()) return DispatchResult::kDecodeFailed;
    progress->read = true;
    if (ctx.step_done(items + 1)) return yield();
  }

  // A known member's protocols compared with its current ones a part per
  // step (the coordinator compares again at once only if they changed since).
  const group::ProtocolList& list = *progress->protocols;
  if (!progress->compare_started) {
    progress->compare_started = true;
    if (ctx.groups && !request.member_id.empty())
      progress->compared_with = ctx.groups->member_protocols(request.group_id, request.member_id);
    if (progress->compared_with) {
      progress->same_list = list.size() == progress->compared_with->size();
      progress->same_names = list.distinct() == progress->compared_with->distinct();
    }
  }
  if (const auto& current = progress->compared_with) {
    constexpr size_t kCompareChunk = 256;
    size_t items = 0;
    while (progress->compared < list.size() && (progress->same_list || progress->same_names)) {
      const size_t from = progress->compared;
      const size_t to = std::min(list.size(), from + kCompareChunk);
      if (progress->same_list) progress->same_list = list.same_entries(*current, from, to);
      if (progress->same_names) progress->same_names = list.names_in(*current, from, to);
      progress->compared = to;
      items += to - from;
      if (progress->compared < list.size() && ctx.step_done(items)) return yield();
    }
  }

  group::JoinParams params;
  params.protocol_list = progress->protocols;
  params.compared_with = progress->compared_with;
  params.same_list = progress->compared_with && progress->same_list;
  params.same_names = progress->compared_with && progress->same_names;
  std::optional<JoinGroupResponse> response = join_group(ctx, request, version, std::move(params));
  if (!response) {
    // Parked: asked again with what was read, never reading it again.
    ctx.progress = std::move(progress);
    return DispatchResult::kWait;
  }
  wire::encode(out, *response, version, flexible);
  return DispatchResult::kResponded;
}

}  // namespace

std::optional<JoinGroupResponse> handle_join_group(RequestContext& ctx,
                                                   const JoinGroupRequest& request,
                                                   int16_t version) {
  group::JoinParams params;
  for (const auto& p : request.protocols) params.protocols.push_back({p.name, p.metadata});
  return join_group(ctx, request, version, std::move(params));
}

std::optional<SyncGroupResponse> handle_sync_group(RequestContext& ctx,
                                                   const SyncGroupRequest& request,
                                                   int16_t version) {
  group::SyncParams params;
  params.group_id = request.group_id;
  params.generation = request.generation_id;
  params.member_id = request.member_id;
  params.instance_id = request.group_instance_id;
  params.protocol_type = request.protocol_type;
  params.protocol_name = request.protocol_name;
  for (const auto& a : request.assignments)
    params.assignments.emplace_back(a.member_id, a.assignment);
  if (!may_read_group(ctx, request.group_id)) {
    SyncGroupResponse denied;
    denied.error_code = to_wire(ErrorCode::kGroupAuthorizationFailed);
    return denied;
  }

  return rebalance_response(
      ctx, SyncGroupResponse{},
      [&] { return ctx.groups->sync(params, group_time(ctx.now), &ctx.state.topics); },
      [&] { return ctx.groups->abandon_sync(params); },
      [&](SyncGroupResponse& out, group::SyncResult& r) {
        out.assignment = std::move(r.assignment);
        if (version >= 5) set_protocol(out, r);
      });
}

std::optional<HeartbeatResponse> handle_heartbeat(RequestContext& ctx,
                                                  const HeartbeatRequest& request, int16_t) {
  HeartbeatResponse response;
  if (!may_read_group(ctx, request.group_id)) {
    response.error_code = to_wire(ErrorCode::kGroupAuthorizationFailed);
    return response;
  }
  if (!ctx.groups) {
    response.error_code = to_wire(ErrorCode::kCoordinatorNotAvailable);
    return response;
  }
  response.error_code =
      ctx.groups->heartbeat(request.group_id, request.generation_id,
                            {request.member_id, request.group_instance_id}, group_time(ctx.now));
  return response;
}

std::optional<LeaveGroupResponse> handle_leave_group(RequestContext& ctx,
                                                     const LeaveGroupRequest& request,
                                                     int16_t version) {
  LeaveGroupResponse response;
  if (!may_read_group(ctx, request.group_id)) {
    response.error_code = to_wire(ErrorCode::kGroupAuthorizationFailed);
    return response;
  }
  if (!ctx.groups) {
    response.error_code = to_wire(ErrorCode::kCoordinatorNotAvailable);
    return response;
  }
  std::vector<group::MemberRef> members;
  if (version <= 2) {
    members.push_back({request.member_id, std::nullopt});
  } else {
    for (const auto& m : request.members) members.push_back({m.member_id, m.group_instance_id});
  }
  std::vector<int16_t> errors = ctx.groups->leave(request.group_id, members, group_time(ctx.now));
  if (version <= 2) {
    response.error_code = errors.front();
    return response;
  }
  for (size_t i = 0; i < members.size(); ++i)
    response.members.push_back(
        {std::string(members[i].member_id), optional_string(members[i].instance_id), errors[i]});
  return response;
}

ApiEntry join_group_entry() {
  return ApiEntry{JoinGroupRequest::kApiKey, "JoinGroup", JoinGroupRequest::kVersions,
                  JoinGroupRequest::kFirstFlexible, &dispatch_join_group};
}
ApiEntry sync_group_entry() {
  return make_entry<SyncGroupRequest, SyncGroupResponse, &handle_sync_group>(
      "SyncGroup", SyncGroupRequest::kVersions);
}
ApiEntry heartbeat_entry() {
  return make_entry<HeartbeatRequest, HeartbeatResponse, &handle_heartbeat>(
      "Heartbeat", HeartbeatRequest::kVersions);
}
ApiEntry leave_group_entry() {
  return make_entry<LeaveGroupRequest, LeaveGroupResponse, &handle_leave_group>(
      "LeaveGroup", LeaveGroupRequest::kVersions);
}

}  // namespace kb::handlers
