#include "kb/storage/quorum_state.hpp"

#include <fmt/format.h>

#include <system_error>

#include "file_io.hpp"

namespace kb::storage {

std::string quorum_state_text(int32_t leader_id, int32_t leader_epoch) {
  // Field order and spelling of QuorumStateDataJsonConverter's output, with
  // the "data_version" Kafka adds last.
  return fmt::format(
      R"({{"clusterId":"","leaderId":{},"leaderEpoch":{},"votedId":-1,"appliedOffset":0,)"
      R"("currentVoters":[{{"voterId":{}}}],"data_version":0}})",
      leader_id, leader_epoch, leader_id);
}

Result<bool> write_quorum_state_if_absent(const std::filesystem::path& metadata_dir,
                                          int32_t leader_id, int32_t leader_epoch) {
  std::error_code ec;
  const std::filesystem::path path = metadata_dir / kQuorumStateFile;
  if (std::filesystem::exists(path, ec)) return false;
  if (ec) return Error{fmt::format("cannot check {}: {}", path.string(), ec.message())};
  Status written = detail::write_file_atomically(path, quorum_state_text(leader_id, leader_epoch));
  if (!written) return written.error();
  return true;
}

}  // namespace kb::storage
