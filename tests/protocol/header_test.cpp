#include "kb/protocol/header.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "kb/base/byte_buffer.hpp"

namespace kb::protocol {
namespace {

std::vector<uint8_t> contents(const ByteBuffer& b) { return {b.data(), b.data() + b.size()}; }

// Reads a request's header as the broker does: the fixed start first, then
// the whole header at the version its api and api version give.
RequestHeader read_header(wire::Reader& r, std::span<const uint8_t> frame) {
  wire::Reader prefix(frame);
  RequestHeader h = read_request_header_prefix(prefix);
  if (!prefix.ok()) {
    r.fail("short prefix");
    return h;
  }
  read_request_header(r, h, request_header_version(static_cast<ApiKey>(h.api_key), h.api_version));
  return h;
}

TEST(RequestHeader, V1ReadsClientId) {
  const std::vector<uint8_t> bytes = {0, 3, 0, 8, 0, 0, 0, 42, 0, 2, 'k', 'c', 0xaa};
  wire::Reader r(bytes);
  const RequestHeader h = read_header(r, bytes);  // Metadata v8: header v1
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(h.api_key, 3);
  EXPECT_EQ(h.api_version, 8);
  EXPECT_EQ(h.correlation_id, 42);
  EXPECT_EQ(h.client_id, "kc");
  EXPECT_EQ(r.position(), 12u);  // the body starts right after
}

TEST(RequestHeader, V1NullClientId) {
  const std::vector<uint8_t> bytes = {0, 18, 0, 0, 0, 0, 0, 1, 0xff, 0xff};
  wire::Reader r(bytes);
  const RequestHeader h = read_header(r, bytes);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(h.client_id.has_value());
}

TEST(RequestHeader, V2ClientIdKeepsItsInt16Length) {
  // ClientId's schema says flexibleVersions "none": no compact string in v2.
  const std::vector<uint8_t> bytes = {0, 18, 0, 3, 0, 0, 0, 1, 0, 3, 'a', 'b', 'c', 0};
  wire::Reader r(bytes);
  const RequestHeader h = read_header(r, bytes);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(h.client_id, "abc");
  EXPECT_TRUE(r.at_end());
}

TEST(RequestHeader, V2SkipsUnknownTaggedFieldsInAnyOrder) {
  // Client id keeps its int16 length in v2; then two tags (5: 1 byte, 0: 2 bytes).
  const std::vector<uint8_t> bytes = {0,   1, 0, 16, 0,    0, 0, 9,    0,    1,
                                      'x', 2, 5, 1,  0xef, 0, 2, 0xde, 0xad, 0x77};
  wire::Reader r(bytes);
  const RequestHeader h = read_header(r, bytes);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(h.client_id, "x");
  EXPECT_EQ(r.remaining(), 1u);
}

TEST(RequestHeader, TruncatedHeadersFailAtEveryLength) {
  const std::vector<uint8_t> full = {0, 1, 0, 16, 0, 0, 0, 9, 0, 1, 'x', 1, 0, 2, 0xde, 0xad};
  for (size_t n = 0; n < full.size(); ++n) {
    const std::span<const uint8_t> frame(full.data(), n);
    wire::Reader r(frame);
    read_header(r, frame);
    EXPECT_FALSE(r.ok()) << n;
  }
}

TEST(RequestHeader, PrefixIsTheFixedStart) {
  const std::vector<uint8_t> bytes = {0, 18, 0, 99, 0, 0, 0, 5};
  wire::Reader r(bytes);
  const RequestHeader h = read_request_header_prefix(r);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(h.api_key, 18);
  EXPECT_EQ(h.api_version, 99);
  EXPECT_EQ(h.correlation_id, 5);
  EXPECT_EQ(kMinRequestHeaderSize, bytes.size());
}

TEST(ResponseHeader, V0AndV1Bytes) {
  ByteBuffer b;
  wire::Writer w(b);
  write_response_header(w, 0x01020304, int16_t{0});
  EXPECT_EQ(contents(b), (std::vector<uint8_t>{1, 2, 3, 4}));
  b.clear();
  write_response_header(w, 7, int16_t{1});
  EXPECT_EQ(contents(b), (std::vector<uint8_t>{0, 0, 0, 7, 0}));
}

TEST(RequestHeader, WriteThenReadRoundTrips) {
  ByteBuffer b;
  wire::Writer w(b);
  write_request_header(w, {75, 0, 99, "client"}, int16_t{2});
  wire::Reader r(b.span());
  const RequestHeader h = read_header(r, b.span());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(h.api_key, 75);
  EXPECT_EQ(h.correlation_id, 99);
  EXPECT_EQ(h.client_id, "client");
}

// As Kafka's ApiMessageType: the flexible versions of an api's request use
// request header v2, the others v1; responses v1 and v0, except ApiVersions,
// whose response header is v0 at every version.
TEST(HeaderVersion, FollowsEachApisFlexibleVersions) {
  EXPECT_EQ(request_header_version(ApiKey::kProduce, 8), 1);
  EXPECT_EQ(request_header_version(ApiKey::kProduce, 9), 2);
  EXPECT_EQ(response_header_version(ApiKey::kProduce, 8), 0);
  EXPECT_EQ(response_header_version(ApiKey::kProduce, 9), 1);
  EXPECT_EQ(request_header_version(ApiKey::kFetch, 11), 1);
  EXPECT_EQ(request_header_version(ApiKey::kFetch, 12), 2);
  EXPECT_EQ(request_header_version(ApiKey::kApiVersions, 2), 1);
  EXPECT_EQ(request_header_version(ApiKey::kApiVersions, 3), 2);
  for (int16_t v = 0; v <= 4; ++v) EXPECT_EQ(response_header_version(ApiKey::kApiVersions, v), 0);
  // Flexible from its first version: header v2 at every version.
  EXPECT_EQ(request_header_version(ApiKey::kDescribeTopicPartitions, 0), 2);
  // Never flexible.
  EXPECT_EQ(request_header_version(ApiKey::kOffsetDelete, 0), 1);
  EXPECT_EQ(response_header_version(ApiKey::kOffsetDelete, 0), 0);
  EXPECT_EQ(request_header_version(ApiKey::kControlledShutdown, 0), 0);
  // Versions older than the pinned Kafka serves keep their classic headers.
  EXPECT_EQ(response_header_version(ApiKey::kWriteTxnMarkers, 0), 0);
  EXPECT_EQ(response_header_version(ApiKey::kWriteTxnMarkers, 1), 1);
  EXPECT_EQ(request_header_version(ApiKey::kWriteTxnMarkers, 0), 1);
  EXPECT_EQ(request_header_version(static_cast<ApiKey>(-5), 0), -1);
}

// A "flexible" flag is not a header version: it does not convert silently.
template <class Version>
concept WritesResponseHeader = requires(wire::Writer& w, Version v) {
  write_response_header(w, 1, v);
};
template <class Version>
concept WritesRequestHeader = requires(wire::Writer& w, const RequestHeader& h, Version v) {
  write_request_header(w, h, v);
};
static_assert(WritesResponseHeader<int16_t> && !WritesResponseHeader<bool>);
static_assert(WritesRequestHeader<int16_t> && !WritesRequestHeader<bool>);

}  // namespace
}  // namespace kb::protocol
