#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "kb/wire/reader.hpp"
#include "kb/wire/writer.hpp"

namespace kb::protocol {

// Request header v1 (api key, version, correlation id, nullable client id) and
// v2 (v1 plus tagged fields). The client id keeps the classic int16-length
// encoding even in v2 so that any broker can read it.
struct RequestHeader {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string_view> client_id;
};

// Smallest frame that can hold the fixed part of a request header.
constexpr size_t kMinRequestHeaderSize = 8;

// Reads the fixed part (api key, version, correlation id). Enough to answer
// even a request whose version is unknown.
RequestHeader read_request_header_prefix(wire::Reader& reader);

// Reads the client id and, for header v2, the tagged fields.
void read_request_header_rest(wire::Reader& reader, RequestHeader& header, bool flexible);

// Writes response header v0 (correlation id) or v1 (plus empty tagged fields).
void write_response_header(wire::Writer& writer, int32_t correlation_id, bool flexible);

// Writes a request header (used by tests and tools that speak to the broker).
void write_request_header(wire::Writer& writer, const RequestHeader& header, bool flexible);

}  // namespace kb::protocol
