#pragma once

// The ACL APIs as a Kafka broker without an authorizer answers them
// (authorizer.class.name empty, Kafka's default): DescribeAcls (29),
// CreateAcls (30) and DeleteAcls (31) are advertised and answer
// SECURITY_DISABLED (54). Clients rely on that answer: MirrorMaker 2 takes it
// as "no ACLs to mirror" and carries on, where an API missing from ApiVersions
// fails its ACL sync every time. A request naming an UNKNOWN (0) resource
// type, pattern type, operation or permission type is refused as Kafka's
// request parser refuses it: the connection is closed without an answer.

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/acls.hpp"

namespace kb::handlers {

// Kafka 4.x's versions (KIP-896 removed 0).
inline constexpr protocol::VersionRange kServedAclVersions{1, 3};

std::optional<protocol::DescribeAclsResponse> handle_describe_acls(
    RequestContext& ctx, const protocol::DescribeAclsRequest& request, int16_t version);
ApiEntry describe_acls_entry();

std::optional<protocol::CreateAclsResponse> handle_create_acls(
    RequestContext& ctx, const protocol::CreateAclsRequest& request, int16_t version);
ApiEntry create_acls_entry();

std::optional<protocol::DeleteAclsResponse> handle_delete_acls(
    RequestContext& ctx, const protocol::DeleteAclsRequest& request, int16_t version);
ApiEntry delete_acls_entry();

}  // namespace kb::handlers
