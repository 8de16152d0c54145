#include "kb/protocol/header.hpp"

namespace kb::protocol {

RequestHeader read_request_header_prefix(wire::Reader& reader) {
  RequestHeader h;
  h.api_key = reader.int16();
  h.api_version = reader.int16();
  h.correlation_id = reader.int32();
  return h;
}

void read_request_header_rest(wire::Reader& reader, RequestHeader& header, bool flexible) {
  header.client_id = reader.nullable_string();
  if (!flexible) return;
  // No header tags are defined: skip any a client sends, by their size.
  uint32_t count = reader.uvarint();
  for (uint32_t i = 0; i < count && reader.ok(); ++i) {
    reader.uvarint();
    reader.skip(reader.uvarint());
  }
}

void write_response_header(wire::Writer& writer, int32_t correlation_id, bool flexible) {
  writer.int32(correlation_id);
  if (flexible) writer.uvarint(0);
}

void write_request_header(wire::Writer& writer, const RequestHeader& header, bool flexible) {
  writer.int16(header.api_key);
  writer.int16(header.api_version);
  writer.int32(header.correlation_id);
  writer.nullable_string(header.client_id);
  if (flexible) writer.uvarint(0);
}

}  // namespace kb::protocol
