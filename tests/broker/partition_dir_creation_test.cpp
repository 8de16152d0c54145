// Creating many partition directories on helper threads: progress is
// logged while it runs (done of submitted, the rate) and once at the end.

#include "kb/broker/partition_dir_creation.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <regex>
#include <sstream>
#include <string>

#include "kb/cluster/startup.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/net/event_loop.hpp"
#include "kb/storage/partition_creator.hpp"

namespace kb::broker {
namespace {

namespace fs = std::filesystem;

TEST(PartitionDirCreation, LogsProgressWhilePartitionsArePendingAndWhenDone) {
  std::string pattern = (fs::temp_directory_path() / "kb-dir-creation-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const fs::path dir = pattern;
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  spdlog::set_default_logger(logger);
  constexpr int kPartitions = 400;
  {
    net::EventLoop loop;
    cluster::BrokerState state;
    cluster::LogDirOptions options;
    options.log_dir = dir;
    ASSERT_TRUE(cluster::load_log_dir(options, state).ok());
    // One thread and a tick of 20 ms: the creation spans many ticks.
    PartitionDirCreation creation(loop, state, 1, std::chrono::milliseconds(20));
    cluster::NewTopic topic;
    topic.name = "wide";
    topic.partitions = kPartitions;
    for (const auto& result : cluster::create_topics(state, {topic}, false, false))
      ASSERT_EQ(result.error, cluster::AdminError::kNone) << result.message;
    loop.add_before_sleep([&] {
      if (captured.str().find("created partition directories:") != std::string::npos) loop.stop();
    });
    auto guard = loop.run_after(std::chrono::seconds(120), [&] { loop.stop(); });
    loop.run();
    loop.cancel(guard);
    creation.stop();
    state.logs.reset();
    state.metadata_log.reset();
  }
  spdlog::set_default_logger(previous);
  const std::string log = captured.str();
  // Progress lines with done counts that grow, then the end.
  const std::regex progress(R"(creating partition directories: (\d+) of (\d+) done, \d+/s)");
  std::vector<long> done;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), progress);
       it != std::sregex_iterator(); ++it) {
    EXPECT_EQ(std::stol((*it)[2]), kPartitions) << log;
    done.push_back(std::stol((*it)[1]));
  }
  ASSERT_GE(done.size(), 2u) << log;
  EXPECT_TRUE(std::is_sorted(done.begin(), done.end())) << log;
  EXPECT_LT(done.front(), kPartitions);
  EXPECT_NE(log.find("created partition directories: " + std::to_string(kPartitions) + " of " +
                     std::to_string(kPartitions) + " done in"),
            std::string::npos)
      << log;
  long made = 0;
  for (const auto& e : fs::directory_iterator(dir))
    made += e.path().filename().string().starts_with("wide-") ? 1 : 0;
  EXPECT_EQ(made, kPartitions);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace kb::broker
