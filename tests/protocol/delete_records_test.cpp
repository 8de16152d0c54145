#include "kb/protocol/messages/delete_records.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(DeleteRecords, V0AndV2RequestBytes) {
  DeleteRecordsRequest request;
  request.topics.push_back({"t", {{0, 5}}});
  request.timeout_ms = 1000;
  ByteVec storage;
  expect_exact_bytes(request, 0,
                     "00000001 0001 74 00000001"
                     "00000000 0000000000000005"  // partition, offset
                     "000003e8",                  // timeout
                     storage);
  auto v2 = expect_exact_bytes(request, 2,
                               "02 02 74 02"
                               "00000000 0000000000000005 00"
                               "00"
                               "000003e8 00",
                               storage);
  EXPECT_EQ(v2.topics.at(0).partitions.at(0).offset, 5);
}

TEST(DeleteRecords, V0AndV2ResponseBytes) {
  DeleteRecordsResponse response;
  response.topics.push_back({"t", {{0, 5, 1}}});
  ByteVec storage;
  expect_exact_bytes(response, 0,
                     "00000000"  // throttle time
                     "00000001 0001 74 00000001"
                     "00000000 0000000000000005 0001",  // partition, low watermark, error
                     storage);
  expect_exact_bytes(response, 2,
                     "00000000 02 02 74 02"
                     "00000000 0000000000000005 0001 00"
                     "00 00",
                     storage);
}

}  // namespace
}  // namespace kb::protocol
