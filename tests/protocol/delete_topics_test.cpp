#include "kb/protocol/messages/delete_topics.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(DeleteTopics, V6RequestBytes) {
  DeleteTopicsRequest request;
  request.topics.push_back({"foo", wire::Uuid{}});
  wire::Uuid id;
  id.bytes[0] = 0xff;
  request.topics.push_back({std::nullopt, id});
  request.timeout_ms = 30000;
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 6,
                                    "03"                                // topics: 2
                                    "04 666f6f"                         //   name "foo"
                                    "00000000000000000000000000000000"  //   no id
                                    "00"                                //   tagged fields
                                    "00"                                //   name: null
                                    "ff000000000000000000000000000000"  //   id
                                    "00"                                //   tagged fields
                                    "00007530"                          // timeout
                                    "00",                               // tagged fields
                                    storage);
  ASSERT_EQ(decoded.topics.size(), 2u);
  EXPECT_EQ(decoded.topics[0].name, std::optional<std::string_view>("foo"));
  EXPECT_FALSE(decoded.topics[1].name.has_value());
  EXPECT_EQ(decoded.topics[1].topic_id, id);
}

TEST(DeleteTopics, V1RequestBytes) {
  DeleteTopicsRequest request;
  request.topic_names = {"a", "bc"};
  request.timeout_ms = 5;
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 1, "00000002 0001 61 0002 6263 00000005", storage);
  EXPECT_EQ(decoded.topic_names, (std::vector<std::string_view>{"a", "bc"}));
}

TEST(DeleteTopics, V5ResponseBytes) {
  DeleteTopicsResponse response;
  response.responses.push_back({std::string("foo"), wire::Uuid{}, 3, std::string("no")});
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 5,
                                    "00000000"   // throttle time
                                    "02"         // responses: 1
                                    "04 666f6f"  //   name "foo"
                                    "0003"       //   error code
                                    "03 6e6f"    //   error message "no"
                                    "00"         //   tagged fields
                                    "00",        // tagged fields
                                    storage);
  EXPECT_EQ(decoded.responses.at(0).error_message, std::optional<std::string>("no"));
}

}  // namespace
}  // namespace kb::protocol
