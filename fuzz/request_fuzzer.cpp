// Request frames (header + body, as the net layer hands them over) through the
// broker's real dispatch: BrokerService with the registry of every served API
// over a BrokerState on a temporary log directory that has a topic "fuzz".
// Each frame goes to a plaintext listener's connection, then to a SASL
// listener's (PLAIN and both SCRAMs) as an unauthenticated client's first
// request and again after a SaslHandshake (so a SaslAuthenticate is
// evaluated): the pre-authentication path. A malformed request must end in a
// clean close or an error response; any response must be a well-formed frame.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "kb/base/byte_buffer.hpp"
#include "kb/broker/broker_service.hpp"
#include "kb/cluster/startup.hpp"
#include "kb/cluster/topic_admin.hpp"
#include "kb/handlers/api_registry.hpp"
#include "kb/net/event_loop.hpp"
#include "kb/net/tcp_server.hpp"
#include "kb/protocol/header.hpp"
#include "kb/protocol/messages/sasl.hpp"
#include "kb/security/jaas.hpp"
#include "kb/security/sasl_mechanisms.hpp"
#include "kb/wire/serde.hpp"
#include "kb/wire/writer.hpp"

namespace {

using namespace kb;

// Produce and auto-creating Metadata grow the log directory; a fresh broker
// every so many inputs keeps long runs bounded on disk.
constexpr uint64_t kInputsPerBroker = 20'000;

struct FuzzBroker {
  fuzz::TempDir dir{"kb-fuzz-requests-"};
  cluster::BrokerState state;
  net::EventLoop loop;
  handlers::ApiRegistry registry = handlers::make_broker_registry();
  std::unique_ptr<broker::BrokerService> service;
  std::unique_ptr<net::TcpServer> server;  // never listens: it owns the connections' settings
  security::SaslMechanisms sasl;
  std::unique_ptr<broker::BrokerService> sasl_service;
  std::unique_ptr<net::TcpServer> sasl_server;
  uint64_t inputs = 0;

  FuzzBroker() {
    // Every served API has seeds and is decoded by the message fuzzer only if
    // it is in AllRequests.
    if (std::string mismatch = fuzz::request_list_mismatch(registry); !mismatch.empty()) {
      std::fprintf(stderr, "fuzz::AllRequests does not match the broker's registry: %s\n",
                   mismatch.c_str());
      std::abort();
    }
    cluster::LogDirOptions options;
    options.log_dir = dir.path() / "data";
    options.partition_options.segment_bytes = 1024 * 1024;
    state.log_config.segment_bytes = options.partition_options.segment_bytes;
    if (!cluster::load_log_dir(options, state).ok()) std::abort();
    state.endpoints.push_back({"PLAINTEXT", "localhost", 9092});
    if (cluster::create_topic(state, "fuzz", 2).error != cluster::CreateTopicError::kNone)
      std::abort();
    service = std::make_unique<broker::BrokerService>(loop, registry, state);
    server = std::make_unique<net::TcpServer>(loop, *service, net::ServerOptions{});
    sasl.enabled = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
    sasl.plain_users = security::PlainUsers::from_jaas(
        security::parse_jaas_config("org.apache.kafka.common.security.plain.PlainLoginModule "
                                    "required user_alice=\"alice-secret\";")
            .entries);
    sasl.scram_credentials = &state.scram_credentials;
    sasl_service = std::make_unique<broker::BrokerService>(loop, registry, state);
    sasl_service->serve_sasl(&sasl);
    sasl_server = std::make_unique<net::TcpServer>(loop, *sasl_service, net::ServerOptions{});
  }
};

std::unique_ptr<FuzzBroker> broker_instance;

int32_t read_be32(const uint8_t* p) {
  return static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                              (uint32_t{p[2]} << 8) | uint32_t{p[3]});
}

// Whatever was answered is whole response frames; a frame's length counts
// the file ranges (Fetch records) placed inside it.
void check_responses(const net::Connection& conn) {
  const net::OutputQueue& q = conn.output_queue();
  const size_t bytes = q.bytes.size();
  size_t pos = 0;
  size_t file = 0;
  while (pos < bytes || file < q.files.size()) {
    if (bytes - pos < 4) std::abort();
    const int32_t frame = read_be32(q.bytes.data() + pos);
    if (frame < 4) std::abort();
    pos += 4;
    uint64_t remaining = static_cast<uint64_t>(frame);
    while (remaining > 0) {
      const uint64_t next_file_at = file < q.files.size() ? q.files[file].at : UINT64_MAX;
      if (pos == next_file_at) {
        if (q.files[file].range.length > remaining) std::abort();
        remaining -= q.files[file++].range.length;
        continue;
      }
      const uint64_t take =
          std::min<uint64_t>(remaining, std::min<uint64_t>(next_file_at, bytes) - pos);
      if (take == 0) std::abort();
      pos += take;
      remaining -= take;
    }
  }
}

// A SaslHandshake v1 frame (no size prefix) naming `mechanism`.
std::vector<uint8_t> sasl_handshake(std::string_view mechanism) {
  ByteBuffer out;
  wire::Writer w(out);
  protocol::RequestHeader header;
  header.api_key = static_cast<int16_t>(protocol::SaslHandshakeRequest::kApiKey);
  header.api_version = 1;
  header.correlation_id = 1;
  header.client_id = "kb-fuzz";
  protocol::write_request_header(
      w, header, protocol::request_header_version(protocol::SaslHandshakeRequest::kApiKey, 1));
  protocol::SaslHandshakeRequest request;
  request.mechanism = mechanism;
  wire::encode(w, request, 1, false);
  return {out.data(), out.data() + out.size()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!broker_instance || broker_instance->inputs >= kInputsPerBroker) {
    broker_instance.reset();
    fuzz::quiet_logs();
    broker_instance = std::make_unique<FuzzBroker>();
  }
  FuzzBroker& b = *broker_instance;
  const uint64_t id = ++b.inputs;
  {
    // fd -1: nothing is written to a socket; responses stay in the output buffer.
    net::Connection conn(*b.server, -1, id, "fuzz");
    b.service->on_frame(conn, std::span<const uint8_t>(data, size));
    // A waiting request (long-poll Fetch) is dropped with its connection.
    b.service->on_close(conn);
    check_responses(conn);
  }
  for (int after_handshake = 0; after_handshake < 2; ++after_handshake) {
    net::Connection conn(*b.sasl_server, -1, id, "fuzz");
    b.sasl_service->on_open(conn);
    if (after_handshake == 1) {
      const auto handshake = sasl_handshake(b.sasl.enabled[id % b.sasl.enabled.size()]);
      b.sasl_service->on_frame(conn, handshake);
    }
    if (!conn.closing()) b.sasl_service->on_frame(conn, std::span<const uint8_t>(data, size));
    b.sasl_service->on_close(conn);
    check_responses(conn);
  }
  return 0;
}
