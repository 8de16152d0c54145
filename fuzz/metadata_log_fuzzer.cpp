// Metadata log replay at start-up: the input is the __cluster_metadata-0
// segment of an otherwise valid log directory, loaded as the broker loads it
// (replay into the topic table, then reopening the log for appends, which
// truncates a damaged tail). Then a topic is created (an append after the
// recovered tail) and each known topic's partitions are looked up. Nothing may
// be created outside the log directory, whatever names the records carry.
//
// Input: [flags] [segment]. Flag bit 0: give every batch a correct CRC first
// (so mutations reach the records); otherwise the bytes are used as they are.

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <vector>

#include "fuzz_support.hpp"
#include "kb/cluster/startup.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/storage/metadata_log.hpp"
#include "kb/storage/partition_log.hpp"

namespace {

using namespace kb;
namespace fs = std::filesystem;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::TempDir* root = [] {
    fuzz::quiet_logs();
    return new fuzz::TempDir("kb-fuzz-metadata-");
  }();
  // The log directory sits two levels down so that an escaping name would
  // land inside root, where it is seen.
  const fs::path log_dir = root->path() / "a" / "data";
  fs::remove_all(root->path());
  fs::create_directories(log_dir / storage::kMetadataPartitionDir);
  if (size < 1) return 0;
  std::vector<uint8_t> segment(data + 1, data + size);
  if (data[0] & 1) fuzz::fix_batch_crcs(segment);
  fuzz::write_file(log_dir / storage::kMetadataPartitionDir / storage::segment_file_name(0, ".log"),
                   segment);

  {
    cluster::BrokerState state;
    cluster::LogDirOptions options;
    options.log_dir = log_dir;
    options.partition_options.segment_bytes = 1024 * 1024;
    if (!cluster::load_log_dir(options, state).ok()) return 0;
    (void)cluster::create_topic(state, "created-after-replay", 1);
    // As Produce does: a partition's directory is created when first written.
    for (const auto& [name, topic] : state.topics.topics()) {
      for (const auto& p : topic.partitions)
        (void)state.logs->find_or_create(name, p.partition_index, topic.id);
    }
  }

  // Only the log directory was touched.
  for (const auto& entry : fs::recursive_directory_iterator(root->path())) {
    const std::string rel = fs::relative(entry.path(), root->path()).string();
    if (rel != "a" && rel != "a/data" && !rel.starts_with("a/data/")) std::abort();
  }
  return 0;
}
