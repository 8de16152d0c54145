#include "kb/protocol/header.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "kb/base/byte_buffer.hpp"

namespace kb::protocol {
namespace {

std::vector<uint8_t> contents(const ByteBuffer& b) { return {b.data(), b.data() + b.size()}; }

TEST(RequestHeader, V1ReadsClientId) {
  const std::vector<uint8_t> bytes = {0, 3, 0, 12, 0, 0, 0, 42, 0, 2, 'k', 'c', 0xaa};
  wire::Reader r(bytes);
  RequestHeader h = read_request_header_prefix(r);
  read_request_header_rest(r, h, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(h.api_key, 3);
  EXPECT_EQ(h.api_version, 12);
  EXPECT_EQ(h.correlation_id, 42);
  EXPECT_EQ(h.client_id, "kc");
  EXPECT_EQ(r.position(), 12u);  // the body starts right after
}

TEST(RequestHeader, V1NullClientId) {
  const std::vector<uint8_t> bytes = {0, 18, 0, 0, 0, 0, 0, 1, 0xff, 0xff};
  wire::Reader r(bytes);
  RequestHeader h = read_request_header_prefix(r);
  read_request_header_rest(r, h, false);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(h.client_id.has_value());
}

TEST(RequestHeader, V2SkipsUnknownTaggedFields) {
  // Client id keeps its int16 length in v2; then two tags (0: 2 bytes, 5: 1 byte).
  const std::vector<uint8_t> bytes = {0,   1, 0, 16, 0,    0,    0, 9, 0,    1,
                                      'x', 2, 0, 2,  0xde, 0xad, 5, 1, 0xef, 0x77};
  wire::Reader r(bytes);
  RequestHeader h = read_request_header_prefix(r);
  read_request_header_rest(r, h, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(h.client_id, "x");
  EXPECT_EQ(r.remaining(), 1u);
}

TEST(RequestHeader, TruncatedHeadersFailAtEveryLength) {
  const std::vector<uint8_t> full = {0, 1, 0, 16, 0, 0, 0, 9, 0, 1, 'x', 1, 0, 2, 0xde, 0xad};
  for (size_t n = 0; n < full.size(); ++n) {
    wire::Reader r(std::span<const uint8_t>(full.data(), n));
    RequestHeader h = read_request_header_prefix(r);
    read_request_header_rest(r, h, true);
    EXPECT_FALSE(r.ok()) << n;
  }
}

TEST(ResponseHeader, V0AndV1Bytes) {
  ByteBuffer b;
  wire::Writer w(b);
  write_response_header(w, 0x01020304, false);
  EXPECT_EQ(contents(b), (std::vector<uint8_t>{1, 2, 3, 4}));
  b.clear();
  write_response_header(w, 7, true);
  EXPECT_EQ(contents(b), (std::vector<uint8_t>{0, 0, 0, 7, 0}));
}

TEST(RequestHeader, WriteThenReadRoundTrips) {
  ByteBuffer b;
  wire::Writer w(b);
  write_request_header(w, {75, 0, 99, "client"}, true);
  wire::Reader r(b.span());
  RequestHeader h = read_request_header_prefix(r);
  read_request_header_rest(r, h, true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(h.api_key, 75);
  EXPECT_EQ(h.correlation_id, 99);
  EXPECT_EQ(h.client_id, "client");
}

}  // namespace
}  // namespace kb::protocol
