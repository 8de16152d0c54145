#include "kb/broker/broker_service.hpp"

#include <exception>

#include <spdlog/spdlog.h>

#include "kb/handlers/api_versions.hpp"
#include "kb/protocol/header.hpp"

namespace kb::broker {

using protocol::ApiKey;

void BrokerService::on_frame(net::Connection& conn, std::span<const uint8_t> frame) {
  wire::Reader reader(frame);
  protocol::RequestHeader header = protocol::read_request_header_prefix(reader);
  if (!reader.ok()) {
    spdlog::warn("connection {} ({}): truncated request header, closing", conn.id(), conn.peer());
    return conn.close_after_flush();
  }

  ByteBuffer& out = conn.output();
  const size_t start = out.size();
  wire::Writer writer(out);
  const bool is_api_versions = header.api_key == static_cast<int16_t>(ApiKey::kApiVersions);

  const handlers::ApiEntry* entry = registry_.find(header.api_key);
  if (entry == nullptr) {
    spdlog::debug("connection {} ({}): unknown api key {}, closing", conn.id(), conn.peer(),
                  header.api_key);
    return conn.close_after_flush();
  }
  if (!entry->versions.contains(header.api_version)) {
    if (is_api_versions) {
      size_t size_at = writer.reserve_int32();
      protocol::write_response_header(writer, header.correlation_id, false);
      handlers::write_api_versions_unsupported(registry_, writer);
      writer.patch_int32(size_at, static_cast<int32_t>(out.size() - size_at - 4));
      return;
    }
    spdlog::debug("connection {} ({}): {} v{} is not served ({}-{}), closing", conn.id(),
                  conn.peer(), entry->name, header.api_version, entry->versions.min,
                  entry->versions.max);
    return conn.close_after_flush();
  }

  const bool flexible = entry->flexible(header.api_version);
  protocol::read_request_header_rest(reader, header, flexible);
  if (!reader.ok()) {
    spdlog::warn("connection {} ({}): malformed {} v{} header at byte {}: {}, closing", conn.id(),
                 conn.peer(), entry->name, header.api_version, reader.error()->position,
                 reader.error()->what);
    return conn.close_after_flush();
  }

  size_t size_at = writer.reserve_int32();
  // ApiVersions answers with header v0 at every version, so a client can read
  // it before knowing what the broker speaks.
  protocol::write_response_header(writer, header.correlation_id, flexible && !is_api_versions);
  handlers::RequestContext ctx{header, registry_};
  handlers::DispatchResult result;
  try {
    result = entry->dispatch(ctx, reader, header.api_version, writer);
  } catch (const std::exception& e) {
    spdlog::error("connection {} ({}): {} v{} failed: {}, closing", conn.id(), conn.peer(),
                  entry->name, header.api_version, e.what());
    out.truncate(start);
    return conn.close_after_flush();
  }
  switch (result) {
    case handlers::DispatchResult::kResponded:
      writer.patch_int32(size_at, static_cast<int32_t>(out.size() - size_at - 4));
      return;
    case handlers::DispatchResult::kNoResponse:
      out.truncate(start);
      return;
    case handlers::DispatchResult::kDecodeFailed:
      out.truncate(start);
      spdlog::warn("connection {} ({}): malformed {} v{} request at byte {}: {}, closing",
                   conn.id(), conn.peer(), entry->name, header.api_version,
                   reader.error() ? reader.error()->position : 0,
                   reader.error() ? reader.error()->what : "unknown");
      return conn.close_after_flush();
  }
}

}  // namespace kb::broker
