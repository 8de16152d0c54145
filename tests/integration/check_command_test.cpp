// `kafka-broker check LOG_DIR` against directories the real broker wrote: clean
// after a clean stop and after a SIGKILL, and every kind of damage the storage
// damage tests make named by its own finding, with what the next start's
// recovery would cut; the directory is left as it was. One prediction is held
// to the broker: the offset check says recovery cuts from is where the log
// ends after the next start.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "kb/storage/offset_checkpoint.hpp"
#include "kb/storage/partition_log.hpp"
#include "kb/storage/record_batch.hpp"
#include "kb/storage/segment_index.hpp"
#include "support/broker_process.hpp"
#include "support/log_dir_broker_test.hpp"
#include "support/shell_command.hpp"

namespace kb::testing {
namespace {

namespace fs = std::filesystem;
using Batch = std::vector<uint8_t>;

void put_be(Batch& bytes, size_t at, uint64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    bytes[at + static_cast<size_t>(i)] = static_cast<uint8_t>(value & 0xff);
    value >>= 8;
  }
}

// Every file under `dir` (relative path -> bytes).
std::map<std::string, Batch> files_of(const fs::path& dir) {
  std::map<std::string, Batch> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = read_bytes(e.path());
  return out;
}

class CheckCommandTest : public LogDirBrokerTest {
 protected:
  CheckCommandTest() : LogDirBrokerTest("kb-check-command-") {}

  // Small segments with an index entry per batch: several segments, and
  // index entries to damage.
  const std::map<std::string, std::string> config_{{"log.segment.bytes", "4096"},
                                                   {"log.index.interval.bytes", "0"}};

  CommandResult check(const fs::path& dir) {
    return run_command(std::string(KB_BROKER_BINARY) + " check " + quoted(dir));
  }

  // Produces `count` batches of one 300-byte record to t-0; their offsets.
  void produce_batches(int count) {
    for (int i = 0; i < count; ++i) {
      auto resp = produce("t", value_batch(300, static_cast<char>('a' + i % 26)));
      ASSERT_EQ(resp.error_code, 0);
    }
  }

  // t-0's segment files, by base offset.
  std::vector<fs::path> segments(const fs::path& dir) const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir / "t-0"))
      if (e.path().extension() == ".log") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }

  // Byte positions of the batches of a segment file.
  static std::vector<size_t> batch_positions(const Batch& bytes) {
    std::vector<size_t> out;
    for (size_t at = 0; at + storage::batch_layout::kHeaderSize <= bytes.size();) {
      auto h = storage::RecordBatchHeader::parse(
          storage::Bytes(bytes.data() + at, storage::batch_layout::kHeaderSize));
      if (!h) break;
      out.push_back(at);
      at += h->size_in_bytes();
    }
    return out;
  }
};

TEST_F(CheckCommandTest, NamesEachDamageAndWhatRecoveryWouldCut) {
  start(config_);
  ASSERT_EQ(metadata({"t"}).topics.at(0).error_code, 0);
  produce_batches(40);
  ASSERT_EQ(broker_->stop().code, 0);
  broker_.reset();

  // Clean after a clean stop, and nothing changed by the check.
  const auto before = files_of(data());
  CommandResult clean = check(data());
  EXPECT_EQ(WEXITSTATUS(clean.status), 0) << clean.output;
  EXPECT_NE(clean.output.find("\nclean\n"), std::string::npos) << clean.output;
  EXPECT_NE(clean.output.find("meta.properties: version 1, cluster.id"), std::string::npos)
      << clean.output;
  EXPECT_EQ(files_of(data()), before) << "check changed the directory";
  const auto pristine = segments(data());
  ASSERT_GE(pristine.size(), 3u);

  // Each damage on a copy of the clean directory, named by its finding.
  struct Damage {
    std::string name;
    std::function<void(const fs::path&)> apply;
    std::vector<std::string> findings;
  };
  const auto first_log = [&](const fs::path& dir) { return segments(dir).front(); };
  const auto active_log = [&](const fs::path& dir) { return segments(dir).back(); };
  const auto with_suffix = [](const fs::path& log, const std::string& suffix) {
    return fs::path(log).replace_extension(suffix);
  };
  const std::vector<Damage> damages{
      {"a flipped bit in an older segment's record",
       [&](const fs::path& dir) {
         Batch bytes = read_bytes(first_log(dir));
         bytes[batch_positions(bytes)[1] + 100] ^= 0x10;
         write_bytes(first_log(dir), bytes);
       },
       {"00000000000000000000.log at byte", "CRC mismatch",
        "the next start does not scan this segment (a clean shutdown's files are trusted)"}},
      {"a torn write at the end of the active segment",
       [&](const fs::path& dir) {
         fs::resize_file(active_log(dir), fs::file_size(active_log(dir)) - 10);
       },
       {"batch length reaches past the end of the data",
        "the next start's recovery cuts the segment there"}},
      {"a base offset skipping ahead in the active segment",
       [&](const fs::path& dir) {
         Batch bytes = read_bytes(active_log(dir));
         const size_t at = batch_positions(bytes).back();
         put_be(bytes, at, storage::RecordBatchHeader::parse(bytes)->base_offset + 1000, 8);
         write_bytes(active_log(dir), bytes);
       },
       {"batch offsets skip ahead of the previous batch's end",
        "the next start's recovery cuts the segment there"}},
      {"an older segment's offsets reaching the next segment",
       [&](const fs::path& dir) {
         Batch bytes = read_bytes(first_log(dir));
         const int64_t next_base = std::stoll(segments(dir)[1].stem().string());
         put_be(bytes, batch_positions(bytes).back(), static_cast<uint64_t>(next_base), 8);
         write_bytes(first_log(dir), bytes);
       },
       {"batch offsets reach the next segment's base offset"}},
      {"an index entry naming the wrong offset",
       [&](const fs::path& dir) {
         const fs::path index = with_suffix(first_log(dir), ".index");
         Batch bytes = read_bytes(index);
         auto entries = storage::parse_offset_index(bytes, 0, fs::file_size(first_log(dir)));
         ASSERT_TRUE(entries && entries->size() > 2);
         const size_t last = entries->size() - 1;
         put_be(bytes, last * 8, static_cast<uint64_t>(entries->back().offset + 5), 4);
         write_bytes(index, bytes);
       },
       {"00000000000000000000.index: entry offset", "the batch there ends at offset"}},
      {"an index of a size Kafka's sanity check refuses",
       [&](const fs::path& dir) {
         const fs::path index = with_suffix(first_log(dir), ".index");
         Batch bytes = read_bytes(index);
         bytes.resize(bytes.size() + 3, 0x7f);
         write_bytes(index, bytes);
       },
       {"00000000000000000000.index: fails Kafka's sanity check", "not a multiple of 8"}},
      {"a time index entry with another timestamp",
       [&](const fs::path& dir) {
         const fs::path index = with_suffix(first_log(dir), ".timeindex");
         Batch bytes = read_bytes(index);
         ASSERT_GE(bytes.size(), 12u);
         put_be(bytes, 0, 1700000000000 + 7, 8);
         write_bytes(index, bytes);
       },
       {"00000000000000000000.timeindex: entry offset", "its batch's max timestamp is"}},
      {"a recovery point past the log's end",
       [&](const fs::path& dir) {
         storage::OffsetCheckpoint points =
             storage::read_offset_checkpoint(dir / storage::kRecoveryPointCheckpointFile).offsets;
         points[{"t", 0}] = 100000;
         ASSERT_TRUE(
             storage::write_offset_checkpoint(dir / storage::kRecoveryPointCheckpointFile, points)
                 .ok());
       },
       {"recovery-point-offset-checkpoint: t-0 at offset 100000, past the end of its valid log"}},
      {"a malformed replication checkpoint",
       [&](const fs::path& dir) {
         write_text_file(dir / storage::kReplicationOffsetCheckpointFile, "0\n2\nt 0 5\n");
       },
       {"replication-offset-checkpoint", "Kafka takes the log directory offline"}},
      {"a meta.properties without its cluster id",
       [&](const fs::path& dir) {
         write_text_file(dir / "meta.properties", "version=1\nnode.id=1\n");
       },
       {"meta.properties"}},
  };
  int n = 0;
  for (const Damage& damage : damages) {
    SCOPED_TRACE(damage.name);
    const fs::path copy = root_ / ("damaged-" + std::to_string(n++));
    fs::copy(data(), copy, fs::copy_options::recursive);
    damage.apply(copy);
    CommandResult checked = check(copy);
    EXPECT_EQ(WEXITSTATUS(checked.status), 1) << checked.output;
    EXPECT_NE(checked.output.find("DAMAGE  "), std::string::npos) << checked.output;
    for (const std::string& finding : damage.findings)
      EXPECT_NE(checked.output.find(finding), std::string::npos) << "not named: " << finding << "\n"
                                                                 << checked.output;
  }

  // The prediction held to the broker: a torn tail after an unclean stop,
  // cut where check says.
  {
    const fs::path torn = root_ / "damaged-1";
    fs::remove(torn / storage::kCleanShutdownFile);
    CommandResult checked = check(torn);
    std::smatch cut;
    ASSERT_TRUE(std::regex_search(
        checked.output, cut,
        std::regex(R"(recovery cuts the segment there: \d+ bytes, offsets (\d+) and later)")))
        << checked.output;
    fs::remove_all(data());
    fs::rename(torn, data());
    start(config_);
    EXPECT_EQ(fetch("t", 0).high_watermark, std::stoll(cut[1])) << broker_->log();
  }
}

// After a SIGKILL (no clean shutdown marker, the active segment's index
// files as the broker left them) the directory is clean too.
TEST_F(CheckCommandTest, ADirectoryLeftByASigkillIsClean) {
  start(config_);
  ASSERT_EQ(metadata({"t", "u"}).topics.at(0).error_code, 0);
  produce_batches(30);
  ASSERT_EQ(produce("u", value_batch("one")).error_code, 0);
  broker_->kill_hard();
  broker_.reset();
  CommandResult checked = check(data());
  EXPECT_EQ(WEXITSTATUS(checked.status), 0) << checked.output;
  EXPECT_NE(checked.output.find("no clean shutdown marker"), std::string::npos) << checked.output;
  CommandResult help = run_command(std::string(KB_BROKER_BINARY) + " check --help");
  EXPECT_EQ(WEXITSTATUS(help.status), 0);
  EXPECT_NE(help.output.find("--verify-index-only"), std::string::npos) << help.output;
}

// Every subcommand the broker's usage names takes --help (exit status 0, its
// own usage line), and the README's set-up section shows each.
TEST(Subcommands, EachTakesHelpAndTheReadmeShowsIt) {
  const CommandResult usage = run_command(std::string(KB_BROKER_BINARY) + " --help");
  EXPECT_EQ(WEXITSTATUS(usage.status), 0) << usage.output;
  std::vector<std::string> commands;
  static const std::regex kCommand(R"((?:usage:|\n) +\S*kafka-broker ([a-z][a-z-]*) )");
  for (auto it = std::sregex_iterator(usage.output.begin(), usage.output.end(), kCommand);
       it != std::sregex_iterator(); ++it)
    commands.push_back((*it)[1]);
  // Without a newline after it, `version` ends its line: looked for apart.
  if (usage.output.find("kafka-broker version\n") != std::string::npos)
    commands.emplace_back("version");
  const std::vector<std::string> expected = {"check", "recover-topics", "format", "dump-log",
                                             "version"};
  EXPECT_EQ(commands, expected) << usage.output;
  const std::string readme = read_file(fs::path(KB_CLIENT_SCRIPTS_DIR) / "../../../README.md");
  const size_t setup_at = readme.find("## Set-up");
  ASSERT_NE(setup_at, std::string::npos);
  const std::string setup = readme.substr(setup_at, readme.find("\n## ", setup_at) - setup_at);
  for (const std::string& command : commands) {
    const CommandResult help =
        run_command(std::string(KB_BROKER_BINARY) + " " + command + " --help");
    EXPECT_EQ(WEXITSTATUS(help.status), 0) << command << ": " << help.output;
    EXPECT_NE(help.output.find("usage: "), std::string::npos) << command << ": " << help.output;
    EXPECT_NE(help.output.find("kafka-broker " + command), std::string::npos)
        << command << ": " << help.output;
    // Shown as a command line, or named as what it does ("(`format` ...").
    EXPECT_TRUE(setup.find("kafka-broker " + command) != std::string::npos ||
                setup.find("(`" + command) != std::string::npos)
        << command << " is not in the README's set-up section";
  }
}

}  // namespace
}  // namespace kb::testing
