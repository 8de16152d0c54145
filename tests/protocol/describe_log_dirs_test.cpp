#include "kb/protocol/messages/describe_log_dirs.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(DescribeLogDirs, NullTopicsAskForEverything) {
  DescribeLogDirsRequest request;
  ByteVec storage;
  auto v0 = expect_exact_bytes(request, 0, "ffffffff", storage);
  EXPECT_FALSE(v0.topics.has_value());
  auto v2 = expect_exact_bytes(request, 2, "00 00", storage);
  EXPECT_FALSE(v2.topics.has_value());
  request.topics.emplace();
  request.topics->push_back({"t", {1}});
  expect_exact_bytes(request, 1, "00000001 0001 74 00000001 00000001", storage);
}

TEST(DescribeLogDirs, V1AndV4ResponseBytes) {
  DescribeLogDirsResponse response;
  auto& dir = response.results.emplace_back();
  dir.log_dir = "/d";
  dir.topics.push_back({"t", {{0, 100, 0, false}}});
  dir.total_bytes = 1024;
  dir.usable_bytes = 512;
  ByteVec storage;
  expect_exact_bytes(response, 1,
                     "00000000"                 // throttle time
                     "00000001 0000 0002 2f64"  // results: 1, error, log dir
                     "00000001 0001 74 00000001"
                     "00000000 0000000000000064 0000000000000000 00",  // index, size, lag, future
                     storage);
  auto v4 = expect_exact_bytes(response, 4,
                               "00000000 0000"  // throttle time, error (v3+)
                               "02 0000 03 2f64"
                               "02 02 74 02"
                               "00000000 0000000000000064 0000000000000000 00 00"
                               "00"
                               "0000000000000400 0000000000000200 00"  // total, usable (v4+)
                               "00",
                               storage);
  EXPECT_EQ(v4.results.at(0).usable_bytes, 512);
}

}  // namespace
}  // namespace kb::protocol
