#pragma once

#include <cstdint>

#include "kb/protocol/messages/headers.hpp"
#include "kb/wire/reader.hpp"
#include "kb/wire/writer.hpp"

namespace kb::protocol {

// The request and response headers are generated from Kafka's schemas
// (messages/headers.hpp), with the header version each api uses at each of
// its versions (request_header_version, response_header_version). These read
// and write them.

// Smallest frame that can hold the fixed part of a request header.
constexpr size_t kMinRequestHeaderSize = 8;

// Reads the fixed start of every request header (api key, version,
// correlation id: request header v0), enough to find the api and to answer a
// request whose version is not served.
RequestHeader read_request_header_prefix(wire::Reader& reader);

// Reads a whole request header at `header_version` from the start of the
// frame; the reader is then at the body.
void read_request_header(wire::Reader& reader, RequestHeader& header, int16_t header_version);

// Writes a response header at `header_version` (0: correlation id; 1: plus
// its tagged fields).
void write_response_header(wire::Writer& writer, int32_t correlation_id, int16_t header_version);

// Writes a request header (used by tests and tools that speak to the broker).
void write_request_header(wire::Writer& writer, const RequestHeader& header,
                          int16_t header_version);

// A "flexible" flag is no header version: refuse it rather than convert it.
void write_response_header(wire::Writer&, int32_t, bool) = delete;
void write_request_header(wire::Writer&, const RequestHeader&, bool) = delete;
void read_request_header(wire::Reader&, RequestHeader&, bool) = delete;

}  // namespace kb::protocol
