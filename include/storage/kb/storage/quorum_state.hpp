#pragma once

// __cluster_metadata-0/quorum-state: the KRaft election state Kafka's
// FileQuorumStateStore keeps next to the metadata log, one line of JSON
// (QuorumStateData, here its version 0, which Kafka writes for a static
// quorum: controller.quorum.voters). This broker is the one voter and the
// leader of the epoch its metadata batches carry; a Kafka node started on the
// directory reads it, resigns that epoch and is elected at the next one.
// Without the file Kafka starts at epoch 0, below the log's, and warns.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "kb/storage/result.hpp"

namespace kb::storage {

inline constexpr std::string_view kQuorumStateFile = "quorum-state";

// What Kafka writes for `leader_id` elected at `leader_epoch` with itself the
// only voter, e.g.
// {"clusterId":"","leaderId":1,"leaderEpoch":1,"votedId":-1,"appliedOffset":0,
//  "currentVoters":[{"voterId":1}],"data_version":0}
std::string quorum_state_text(int32_t leader_id, int32_t leader_epoch);

// Writes it into `metadata_dir` atomically unless a quorum-state is there
// already (Kafka's own, or an earlier one: kept as it is). True when written.
Result<bool> write_quorum_state_if_absent(const std::filesystem::path& metadata_dir,
                                          int32_t leader_id, int32_t leader_epoch);

}  // namespace kb::storage
