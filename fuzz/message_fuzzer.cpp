// Every request message the protocol layer defines, decoded at every version
// from a request frame (header + body). A decode error is fine; a message that
// decodes must re-encode to bytes that decode and encode to the same bytes.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "fuzz_support.hpp"
#include "kb/base/byte_buffer.hpp"
#include "kb/protocol/header.hpp"
#include "kb/wire/reader.hpp"
#include "kb/wire/serde.hpp"
#include "kb/wire/writer.hpp"

namespace {

using namespace kb;

template <class Request>
void round_trip(wire::Reader& body, int16_t version) {
  const bool flexible = version >= Request::kFirstFlexible;
  Request first;
  wire::decode(body, first, version, flexible);
  if (!body.ok()) return;
  ByteBuffer encoded;
  {
    wire::Writer w(encoded);
    wire::encode(w, first, version, flexible);
  }
  wire::Reader again(encoded.span());
  Request second;
  wire::decode(again, second, version, flexible);
  if (!again.ok() || !again.at_end()) std::abort();
  ByteBuffer reencoded;
  {
    wire::Writer w(reencoded);
    wire::encode(w, second, version, flexible);
  }
  if (encoded.size() != reencoded.size() ||
      (!encoded.empty() && std::memcmp(encoded.data(), reencoded.data(), encoded.size()) != 0))
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> frame(data, size);
  wire::Reader prefix_reader(frame);
  protocol::RequestHeader header = protocol::read_request_header_prefix(prefix_reader);
  if (!prefix_reader.ok()) return 0;
  fuzz::for_each_request([&]<class Request>(const Request&) {
    if (static_cast<int16_t>(Request::kApiKey) != header.api_key) return;
    if (!Request::kVersions.contains(header.api_version)) return;
    wire::Reader reader(frame);
    protocol::read_request_header(
        reader, header, protocol::request_header_version(Request::kApiKey, header.api_version));
    if (reader.ok()) round_trip<Request>(reader, header.api_version);
  });
  return 0;
}
