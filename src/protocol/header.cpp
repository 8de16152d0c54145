#include "kb/protocol/header.hpp"

#include "kb/wire/serde.hpp"

namespace kb::protocol {

namespace {

bool flexible_header(int16_t header_version, int16_t first_flexible) {
  return header_version >= first_flexible;
}

}  // namespace

RequestHeader read_request_header_prefix(wire::Reader& reader) {
  RequestHeader header;
  wire::decode(reader, header, 0, false);
  return header;
}

void read_request_header(wire::Reader& reader, RequestHeader& header, int16_t header_version) {
  header = RequestHeader{};
  wire::decode(reader, header, header_version,
               flexible_header(header_version, RequestHeader::kFirstFlexible));
}

void write_response_header(wire::Writer& writer, int32_t correlation_id, int16_t header_version) {
  ResponseHeader header{correlation_id};
  wire::encode(writer, header, header_version,
               flexible_header(header_version, ResponseHeader::kFirstFlexible));
}

void write_request_header(wire::Writer& writer, const RequestHeader& header,
                          int16_t header_version) {
  wire::encode(writer, header, header_version,
               flexible_header(header_version, RequestHeader::kFirstFlexible));
}

}  // namespace kb::protocol
