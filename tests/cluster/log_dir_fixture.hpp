#pragma once

// A fresh temporary log directory per test, loaded into a BrokerState the way
// the broker loads it at start-up (so a second load is a restart).

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "kb/cluster/broker_state.hpp"
#include "kb/cluster/startup.hpp"

namespace kb::cluster {

class LogDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "kb-cluster-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void load(BrokerState& state) {
    LogDirOptions options;
    options.log_dir = dir_;
    ASSERT_TRUE(load_log_dir(options, state).ok());
  }
  std::filesystem::path dir_;
};

}  // namespace kb::cluster
