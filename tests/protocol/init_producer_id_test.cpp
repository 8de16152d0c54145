#include "kb/protocol/messages/init_producer_id.hpp"

#include <gtest/gtest.h>

#include "message_test_util.hpp"

namespace kb::protocol {
namespace {

using test::ByteVec;
using test::expect_exact_bytes;

TEST(InitProducerId, V4RequestBytes) {
  InitProducerIdRequest request;
  request.transaction_timeout_ms = 60000;
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 4,
                                    "00"                // transactional id: null
                                    "0000ea60"          // timeout 60000
                                    "ffffffffffffffff"  // producer id -1
                                    "ffff"              // producer epoch -1
                                    "00",               // tagged fields
                                    storage);
  EXPECT_FALSE(decoded.transactional_id.has_value());
  EXPECT_EQ(decoded.transaction_timeout_ms, 60000);
}

TEST(InitProducerId, V0RequestWithTransactionalId) {
  InitProducerIdRequest request;
  request.transactional_id = "tx";
  request.transaction_timeout_ms = 1;
  ByteVec storage;
  auto decoded = expect_exact_bytes(request, 0, "0002 7478 00000001", storage);
  EXPECT_EQ(decoded.transactional_id, std::optional<std::string_view>("tx"));
}

TEST(InitProducerId, V4ResponseBytes) {
  InitProducerIdResponse response;
  response.producer_id = 3;
  response.producer_epoch = 1;
  ByteVec storage;
  auto decoded = expect_exact_bytes(response, 4,
                                    "00000000"          // throttle time
                                    "0000"              // error code
                                    "0000000000000003"  // producer id
                                    "0001"              // producer epoch
                                    "00",               // tagged fields
                                    storage);
  EXPECT_EQ(decoded.producer_id, 3);
  EXPECT_EQ(decoded.producer_epoch, 1);
}

}  // namespace
}  // namespace kb::protocol
