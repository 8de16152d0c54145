#pragma once

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/user_scram_credentials.hpp"

namespace kb::handlers {

// DescribeUserScramCredentials answers from the metadata image's SCRAM users;
// AlterUserScramCredentials validates as Kafka's controller does (mechanism,
// empty name, iterations 4096-16384, a user altered twice, deleting what does
// not exist) and writes UserScramCredentialRecord /
// RemoveUserScramCredentialRecord to __cluster_metadata in one batch.
ApiEntry describe_user_scram_credentials_entry();
ApiEntry alter_user_scram_credentials_entry();

}  // namespace kb::handlers
