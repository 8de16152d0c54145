// Tests for TLS listeners (TlsContext, TlsSession under Connection): frames
// echoed through records, pipelined frames larger than a record, file ranges
// written as records, mutual TLS required and requested, certificates from
// an untrusted CA or expired refused, protocol versions, PEM (plain,
// encrypted, joined lines) and PKCS#12 stores, half-done handshakes that
// time out while another client is served, and handshakes whose work is
// slow holding up no one but themselves. Certificates are made with the
// openssl command at the start of the suite.

#include <fcntl.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "kb/net/tcp_server.hpp"
#include "kb/net/tls.hpp"
#include "net/net_test_support.hpp"
#include "support/test_certificates.hpp"
#include "support/tls_client.hpp"

namespace kb::net {
namespace {

using namespace std::chrono_literals;
using test::append;
using test::Bytes;
using test::Client;
using test::ClientThread;
using test::framed;
using test::payload;
using test::put_be32;
using test::RecordingHandler;
using test::run_loop_until;
using testing::TestCertificates;
using testing::TlsClientOptions;
using testing::TlsTestClient;

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct OpenFile {
  int fd = -1;
  ~OpenFile() {
    if (fd >= 0) ::close(fd);
  }
};

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(::testing::TempDir() + "kb-tls-test-" +
                                     std::to_string(::getpid()));
    certs_ = new TestCertificates(*dir_);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(*dir_, ec);
    delete certs_;
    delete dir_;
  }

  static std::string file(const std::string& name) { return certs_->path(name).string(); }

  static TlsOptions pem_options(TlsClientAuth auth = TlsClientAuth::kNone) {
    TlsOptions o;
    o.key_store.certificate_chain = slurp(certs_->path("server.pem"));
    o.key_store.private_key = slurp(certs_->path("server.key"));
    o.trust_store.format = TlsTrustStore::Format::kPem;
    o.trust_store.certificates = slurp(certs_->path("ca.pem"));
    o.client_auth = auth;
    o.versions = {TLS1_2_VERSION, TLS1_3_VERSION};
    return o;
  }

  TlsClientOptions client_options(const std::string& cert = {}) const {
    TlsClientOptions o;
    o.ca_file = file("ca.pem");
    if (!cert.empty()) {
      o.cert_file = file(cert + ".pem");
      o.key_file = file(cert + ".key");
    }
    return o;
  }

  void start(const TlsOptions& tls, ServerOptions options = {}) {
    std::string error;
    context_ = TlsContext::create(tls, error);
    ASSERT_TRUE(context_) << error;
    options.tls = context_;
    server_ = std::make_unique<TcpServer>(loop_, handler_, options);
    ASSERT_EQ(server_->listen({"127.0.0.1", 0}), "");
    port_ = server_->bound_port();
  }

  // Runs the loop until the client thread is done.
  bool serve(ClientThread& client, std::chrono::milliseconds limit = 8000ms) {
    return run_loop_until(
        loop_, [&] { return client.done(); }, limit);
  }

  static std::filesystem::path* dir_;
  static TestCertificates* certs_;
  EventLoop loop_;
  RecordingHandler handler_;
  std::shared_ptr<TlsContext> context_;
  std::unique_ptr<TcpServer> server_;
  uint16_t port_ = 0;
};

std::filesystem::path* TlsTest::dir_ = nullptr;
TestCertificates* TlsTest::certs_ = nullptr;

TEST_F(TlsTest, FramesAreEchoedThroughRecords) {
  ASSERT_NO_FATAL_FAILURE(start(pem_options()));
  std::string protocol;
  int echoed = 0;
  ClientThread client([&] {
    TlsTestClient c(port_, client_options());
    ASSERT_TRUE(c.connected()) << c.error();
    protocol = c.protocol();
    for (uint32_t i = 0; i < 5; ++i) {
      Bytes body = payload(100 + i, i);
      ASSERT_TRUE(c.send_all(framed(body)));
      auto reply = c.read_frame();
      ASSERT_TRUE(reply.has_value());
      EXPECT_EQ(*reply, body);
      ++echoed;
    }
  });
  ASSERT_TRUE(serve(client));
  EXPECT_EQ(echoed, 5);
  EXPECT_EQ(protocol, "TLSv1.3");
  EXPECT_EQ(handler_.opened, 1);
}

// Many frames, each larger than a TLS record and than a read chunk, sent in
// one go: OpenSSL keeps decrypted bytes the socket no longer signals, and
// every frame must still be handled.
TEST_F(TlsTest, PipelinedLargeFramesAllArrive) {
  ServerOptions options;
  options.read_chunk = 16 * 1024;
  options.max_frames_per_turn = 2;
  ASSERT_NO_FATAL_FAILURE(start(pem_options(), options));
  constexpr uint32_t kFrames = 40;
  int matched = 0;
  ClientThread client([&] {
    TlsTestClient c(port_, client_options());
    ASSERT_TRUE(c.connected()) << c.error();
    Bytes wire;
    for (uint32_t i = 0; i < kFrames; ++i) append(wire, framed(payload(40000 + i, i)));
    ASSERT_TRUE(c.send_all(wire));
    for (uint32_t i = 0; i < kFrames; ++i) {
      auto reply = c.read_frame();
      ASSERT_TRUE(reply.has_value()) << "no reply " << i;
      ASSERT_EQ(*reply, payload(40000 + i, i)) << "reply " << i;
      ++matched;
    }
  });
  ASSERT_TRUE(serve(client, 15000ms));
  EXPECT_EQ(matched, static_cast<int>(kFrames));
}

// One record holding more small frames than one read takes: the rest waits
// decrypted inside OpenSSL while the socket has nothing more to report.
TEST_F(TlsTest, FramesLeftInsideOpenSslAfterAReadAreHandled) {
  ServerOptions options;
  options.read_chunk = 4096;
  ASSERT_NO_FATAL_FAILURE(start(pem_options(), options));
  constexpr uint32_t kFrames = 100;
  int matched = 0;
  ClientThread client([&] {
    TlsTestClient c(port_, client_options());
    ASSERT_TRUE(c.connected()) << c.error();
    Bytes wire;
    for (uint32_t i = 0; i < kFrames; ++i) append(wire, framed(payload(96, i)));
    ASSERT_LT(wire.size(), 16384u);  // one record
    ASSERT_TRUE(c.send_all(wire));
    for (uint32_t i = 0; i < kFrames; ++i) {
      auto reply = c.read_frame();
      ASSERT_TRUE(reply.has_value()) << "no reply " << i;
      ASSERT_EQ(*reply, payload(96, i)) << "reply " << i;
      ++matched;
    }
  });
  ASSERT_TRUE(serve(client));
  EXPECT_EQ(matched, static_cast<int>(kFrames));
}

// A file range is read into a buffer and written as records (no kernel TLS
// on the machines this runs on, or it goes by sendfile): a large range to a
// client reading it all.
TEST_F(TlsTest, LargeFileRangeArrivesWhole) {
  const Bytes content = payload(12 << 20, 3);
  std::string path = ::testing::TempDir() + "kb_tls_range_XXXXXX";
  auto file = std::make_shared<OpenFile>();
  file->fd = ::mkstemp(path.data());
  ASSERT_GE(file->fd, 0);
  ::unlink(path.c_str());
  ASSERT_EQ(::write(file->fd, content.data(), content.size()),
            static_cast<ssize_t>(content.size()));
  ServerOptions options;
  options.file_copy_chunk = 256 * 1024;
  ASSERT_NO_FATAL_FAILURE(start(pem_options(), options));
  handler_.respond = [&](Connection& conn, std::span<const uint8_t> frame) {
    // Reply: 3 head bytes, the range [offset, offset + 10 MiB), 2 tail bytes.
    const uint64_t offset = frame[0] * 1000u;
    Bytes prefix;
    put_be32(prefix, static_cast<uint32_t>(3 + (10 << 20) + 2));
    conn.output().append(prefix.data(), prefix.size());
    conn.output().append(frame.data(), 3);
    conn.add_output_file(conn.output().size(), FileRange{file, file->fd, offset, 10 << 20});
    conn.output().append(frame.data(), 2);
  };
  int matched = 0;
  ClientThread client([&] {
    TlsTestClient c(port_, client_options());
    ASSERT_TRUE(c.connected()) << c.error();
    for (uint8_t i = 1; i <= 3; ++i) {
      Bytes body = {i, 7, 8, 9, 10, 11, 12, 13};
      ASSERT_TRUE(c.send_all(framed(body)));
    }
    for (uint8_t i = 1; i <= 3; ++i) {
      auto reply = c.read_frame();
      ASSERT_TRUE(reply.has_value());
      Bytes expected = {i, 7, 8};
      append(expected, std::span<const uint8_t>(content).subspan(i * 1000u, 10 << 20));
      append(expected, Bytes{i, 7});
      ASSERT_TRUE(*reply == expected) << "reply " << int{i} << " differs";
      ++matched;
    }
  });
  ASSERT_TRUE(serve(client, 20000ms));
  EXPECT_EQ(matched, 3);
}

TEST_F(TlsTest, RequiredClientAuthTakesTheClientCertificateSubject) {
  ASSERT_NO_FATAL_FAILURE(start(pem_options(TlsClientAuth::kRequired)));
  std::string subject;
  handler_.respond = [&](Connection& conn, std::span<const uint8_t> frame) {
    subject = conn.tls() != nullptr ? conn.tls()->peer_subject() : "no tls";
    RecordingHandler::echo(conn, frame);
  };
  bool answered = false;
  ClientThread client([&] {
    TlsTestClient c(port_, client_options("client"));
    ASSERT_TRUE(c.connected()) << c.error();
    ASSERT_TRUE(c.send_all(framed(payload(10, 1))));
    answered = c.read_frame().has_value();
  });
  ASSERT_TRUE(serve(client));
  EXPECT_TRUE(answered);
  EXPECT_EQ(subject, TestCertificates::kClientSubject);
}

TEST_F(TlsTest, RequiredClientAuthRefusesAClientWithoutCertificate) {
  ASSERT_NO_FATAL_FAILURE(start(pem_options(TlsClientAuth::kRequired)));
  bool refused = false;
  ClientThread client([&] {
    TlsTestClient c(port_, client_options());
    // TLS 1.3: the client finishes first; the refusal arrives as an alert.
    refused = !c.connected() || !c.send_all(framed(payload(10, 1))) || c.closed_by_server();
  });
  ASSERT_TRUE(serve(client));
  EXPECT_TRUE(refused);
  EXPECT_EQ(handler_.opened, 0);
  EXPECT_EQ(handler_.frames, 0);
}

TEST_F(TlsTest, RequestedClientAuthServesClientsWithAndWithoutCertificate) {
  ASSERT_NO_FATAL_FAILURE(start(pem_options(TlsClientAuth::kRequested)));
  std::vector<std::string> subjects;
  handler_.respond = [&](Connection& conn, std::span<const uint8_t> frame) {
    subjects.push_back(conn.tls()->peer_subject());
    RecordingHandler::echo(conn, frame);
  };
  int answered = 0;
  ClientThread client([&] {
    for (const std::string cert : {"", "client"}) {
      TlsTestClient c(port_, client_options(cert));
      ASSERT_TRUE(c.connected()) << c.error();
      ASSERT_TRUE(c.send_all(framed(payload(10, 1))));
      if (c.read_frame().has_value()) ++answered;
    }
  });
  ASSERT_TRUE(serve(client));
  EXPECT_EQ(answered, 2);
  EXPECT_EQ(subjects, (std::vector<std::string>{"", TestCertificates::kClientSubject}));
}

TEST_F(TlsTest, CertificatesFromAnUntrustedCaOrExpiredAreRefused) {
  ASSERT_NO_FATAL_FAILURE(start(pem_options(TlsClientAuth::kRequested)));
  int refused = 0;
  ClientThread client([&] {
    for (const std::string cert : {"stranger", "expired-client"}) {
      TlsTestClient c(port_, client_options(cert));
      if (!c.connected() || !c.send_all(framed(payload(10, 1))) || c.closed_by_server()) ++refused;
    }
  });
  ASSERT_TRUE(serve(client));
  EXPECT_EQ(refused, 2);
  EXPECT_EQ(handler_.frames, 0);
}

TEST_F(TlsTest, AClientMustChainTheServerToItsCa) {
  ASSERT_NO_FATAL_FAILURE(start(pem_options()));
  bool connected = true;
  ClientThread client([&] {
    TlsClientOptions o;
    o.ca_file = file("other-ca.pem");
    TlsTestClient c(port_, o);
    connected = c.connected();
  });
  ASSERT_TRUE(serve(client));
  EXPECT_FALSE(connected);
}

TEST_F(TlsTest, OnlyEnabledVersionsAreSpoken) {
  TlsOptions tls = pem_options();
  tls.versions = {TLS1_3_VERSION};
  ASSERT_NO_FATAL_FAILURE(start(tls));
  bool old_client_connected = true;
  bool new_client_connected = false;
  ClientThread client([&] {
    TlsClientOptions o = client_options();
    o.max_version = TLS1_2_VERSION;
    TlsTestClient old_client(port_, o);
    old_client_connected = old_client.connected();
    TlsTestClient new_client(port_, client_options());
    new_client_connected = new_client.connected();
  });
  ASSERT_TRUE(serve(client));
  EXPECT_FALSE(old_client_connected);
  EXPECT_TRUE(new_client_connected);
}

TEST_F(TlsTest, Tls12WithAChosenCipherSuite) {
  TlsOptions tls = pem_options();
  tls.cipher_list = openssl_cipher_name("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
  ASSERT_EQ(tls.cipher_list, "ECDHE-ECDSA-AES256-GCM-SHA384");
  ASSERT_NO_FATAL_FAILURE(start(tls));
  bool echoed = false;
  bool other_refused = false;
  ClientThread client([&] {
    TlsClientOptions o = client_options();
    o.max_version = TLS1_2_VERSION;
    TlsTestClient c(port_, o);
    ASSERT_TRUE(c.connected()) << c.error();
    ASSERT_TRUE(c.send_all(framed(payload(20, 2))));
    echoed = c.read_frame() == payload(20, 2);
    o.cipher_list = "ECDHE-ECDSA-AES128-GCM-SHA256";
    TlsTestClient other(port_, o);
    other_refused = !other.connected();
  });
  ASSERT_TRUE(serve(client));
  EXPECT_TRUE(echoed);
  EXPECT_TRUE(other_refused);
}

// Connections that never finish their handshake hold nothing beyond the
// timeout and keep no one else waiting meanwhile.
TEST_F(TlsTest, HalfDoneHandshakesTimeOutWhileOthersAreServed) {
  ServerOptions options;
  options.tls_handshake_timeout = 600ms;
  ASSERT_NO_FATAL_FAILURE(start(pem_options(), options));
  constexpr int kStalled = 100;
  std::vector<std::unique_ptr<Client>> stalled;
  for (int i = 0; i < kStalled; ++i) {
    stalled.push_back(std::make_unique<Client>(port_, 1000ms));
    // The start of a TLS record, never completed; every other one sends nothing.
    if (i % 2 == 0) stalled.back()->send_all(Bytes{0x16, 0x03, 0x01, 0x02, 0x00, 0x01});
  }
  int echoed = 0;
  ClientThread client([&] {
    for (int i = 0; i < 5; ++i) {
      TlsTestClient c(port_, client_options());
      ASSERT_TRUE(c.connected()) << c.error();
      ASSERT_TRUE(c.send_all(framed(payload(30, 3))));
      if (c.read_frame() == payload(30, 3)) ++echoed;
    }
  });
  ASSERT_TRUE(serve(client));
  EXPECT_EQ(echoed, 5);
  // Then the stalled ones are closed by the timeout.
  EXPECT_TRUE(run_loop_until(
      loop_, [&] { return server_->connection_count() == 0; }, 3000ms));
  // One more turn: closed connections are freed (their sockets closed) before the loop sleeps.
  run_loop_until(
      loop_, [] { return false; }, 20ms);
  int closed = 0;
  for (auto& c : stalled)
    if (c->read_until_closed() == Client::End::kClosed) ++closed;
  EXPECT_EQ(closed, kStalled);
}

// Where the server's ClientHello callback waits while `holding`: a stand-in
// for slow handshake cryptography, wherever the server runs it.
struct HelloGate {
  std::mutex mutex;
  std::condition_variable changed;
  bool holding = false;
  bool open = false;
  int waiting = 0;

  void release() {
    std::lock_guard lock(mutex);
    open = true;
    changed.notify_all();
  }
  bool wait_for_waiting(int n, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, limit, [&] { return waiting >= n; });
  }
};

int wait_at_gate(SSL* /*ssl*/, int* /*alert*/, void* arg) {
  auto& gate = *static_cast<HelloGate*>(arg);
  std::unique_lock lock(gate.mutex);
  if (gate.holding) {
    ++gate.waiting;
    gate.changed.notify_all();
    gate.changed.wait_for(lock, 10s, [&] { return gate.open; });
    --gate.waiting;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

// A connection that sends a ClientHello and never reads the answer.
std::unique_ptr<Client> send_client_hello(uint16_t port) {
  auto client = std::make_unique<Client>(port, 1000ms);
  if (!client->connected()) return client;
  ::fcntl(client->fd(), F_SETFL, ::fcntl(client->fd(), F_GETFL) | O_NONBLOCK);
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, client->fd());
  SSL_connect(ssl);  // the ClientHello goes out; then it would wait for the answer
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return client;
}

// Handshake steps run on the handshake threads: while both are stuck in
// slow handshakes, a client already connected is answered, further
// handshakes queue up (at most tls_handshakes_in_flight are handed over),
// and once the threads are free again a new client gets through.
TEST_F(TlsTest, SlowHandshakesHoldUpNoOneElse) {
  ServerOptions options;
  options.tls_handshake_threads = 2;
  options.tls_handshakes_in_flight = 4;
  options.tls_handshake_timeout = 3000ms;
  ASSERT_NO_FATAL_FAILURE(start(pem_options(), options));
  HelloGate gate;
  SSL_CTX_set_client_hello_cb(context_->native(), wait_at_gate, &gate);
  constexpr int kFlood = 20;
  constexpr size_t kMostWaiting = kFlood - 4;  // all but those handed over
  std::atomic<size_t> most_waiting{0};
  int answered_while_held = 0;
  bool new_client_served = false;
  std::vector<std::unique_ptr<Client>> flood;
  ClientThread client([&] {
    struct OpenAtEnd {
      HelloGate& gate;
      ~OpenAtEnd() { gate.release(); }
    } open_at_end{gate};
    TlsTestClient connected(port_, client_options());
    ASSERT_TRUE(connected.connected()) << connected.error();
    {
      std::lock_guard lock(gate.mutex);
      gate.holding = true;
    }
    for (int i = 0; i < kFlood; ++i) flood.push_back(send_client_hello(port_));
    ASSERT_TRUE(gate.wait_for_waiting(2, 5000ms)) << "the handshake threads never got the hellos";
    for (int i = 0; i < 100 && most_waiting < kMostWaiting; ++i) std::this_thread::sleep_for(20ms);
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(connected.send_all(framed(payload(40, static_cast<uint8_t>(i)))));
      const auto echo = connected.read_frame();
      std::lock_guard lock(gate.mutex);
      if (echo == payload(40, static_cast<uint8_t>(i)) && gate.waiting == 2 && !gate.open)
        ++answered_while_held;
    }
    gate.release();
    TlsTestClient later(port_, client_options());
    ASSERT_TRUE(later.connected()) << later.error();
    ASSERT_TRUE(later.send_all(framed(payload(50, 7))));
    new_client_served = later.read_frame() == payload(50, 7);
  });
  ASSERT_TRUE(run_loop_until(
      loop_, [&] { return client.done(); }, 15000ms,
      [&] { most_waiting = std::max(most_waiting.load(), server_->handshake_steps_waiting()); }));
  EXPECT_EQ(answered_while_held, 5);
  EXPECT_GE(most_waiting.load(), kMostWaiting);
  EXPECT_TRUE(new_client_served);
  // The flood's handshakes never finish: the timeout closes them.
  EXPECT_TRUE(run_loop_until(
      loop_, [&] { return server_->connection_count() == 0; }, 8000ms));
  server_.reset();
  SSL_CTX_set_client_hello_cb(context_->native(), nullptr, nullptr);
}

TEST_F(TlsTest, Pkcs12KeyStoreAndTrustStore) {
  TlsOptions tls = pem_options(TlsClientAuth::kRequired);
  tls.key_store = {};
  tls.key_store.format = TlsKeyStore::Format::kPkcs12;
  tls.key_store.pkcs12 = slurp(certs_->path("server.p12"));
  tls.key_store.password = TestCertificates::kPassword;
  tls.trust_store = {};
  tls.trust_store.format = TlsTrustStore::Format::kPkcs12;
  tls.trust_store.pkcs12 = slurp(certs_->path("truststore.p12"));
  tls.trust_store.password = TestCertificates::kPassword;
  ASSERT_NO_FATAL_FAILURE(start(tls));
  bool echoed = false;
  ClientThread client([&] {
    TlsTestClient c(port_, client_options("client"));
    ASSERT_TRUE(c.connected()) << c.error();
    ASSERT_TRUE(c.send_all(framed(payload(20, 2))));
    echoed = c.read_frame() == payload(20, 2);
  });
  ASSERT_TRUE(serve(client));
  EXPECT_TRUE(echoed);

  tls.key_store.password = "wrong";
  std::string error;
  EXPECT_FALSE(TlsContext::create(tls, error));
  EXPECT_NE(error.find("PKCS#12"), std::string::npos) << error;
}

// Properties files join continuation lines with nothing between them but
// what the next line keeps: PEM text then arrives as one line with spaces.
TEST_F(TlsTest, PemTextWithJoinedLinesAndAnEncryptedKey) {
  auto one_line = [](std::string text) {
    for (char& c : text)
      if (c == '\n') c = ' ';
    return text;
  };
  TlsOptions tls = pem_options();
  tls.key_store.certificate_chain = one_line(tls.key_store.certificate_chain);
  tls.key_store.private_key = one_line(slurp(certs_->path("server-encrypted.key")));
  tls.key_store.key_password = TestCertificates::kPassword;
  std::string error;
  EXPECT_TRUE(TlsContext::create(tls, error)) << error;

  tls.key_store.key_password.reset();
  EXPECT_FALSE(TlsContext::create(tls, error));
  EXPECT_NE(error.find("encrypted"), std::string::npos) << error;
  tls.key_store.key_password = "wrong";
  EXPECT_FALSE(TlsContext::create(tls, error));

  tls = pem_options();
  tls.key_store.private_key = slurp(certs_->path("client.key"));  // not the certificate's
  EXPECT_FALSE(TlsContext::create(tls, error));
  EXPECT_NE(error.find("does not match"), std::string::npos) << error;
}

// The expected strings are what Java 17's X500Principal.getName() printed
// for certificates with these subjects.
TEST(TlsNames, SubjectsPrintAsJavasX500PrincipalPrintsThem) {
  struct Entry {
    const char* field;
    const char* value;
    int set;  // 0: a new RDN; -1: with the previous one (multi-valued)
  };
  auto name_of = [](const std::vector<Entry>& entries) {
    X509_NAME* name = X509_NAME_new();
    for (const Entry& e : entries)
      X509_NAME_add_entry_by_txt(name, e.field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(e.value), -1, -1, e.set);
    std::string out = rfc2253_name(name);
    X509_NAME_free(name);
    return out;
  };
  EXPECT_EQ(name_of({{"C", "US", 0}, {"O", "Kb", 0}, {"OU", "Test", 0}, {"CN", "client", 0}}),
            "CN=client,OU=Test,O=Kb,C=US");
  EXPECT_EQ(name_of({{"C", "US", 0},
                     {"ST", "Some State", 0},
                     {"O", "Acme, Inc.", 0},
                     {"OU", "Dev+Ops", 0},
                     {"CN", "  lead#1 \"x\" <y>;z=w ", 0},
                     {"emailAddress", "a@b.c", 0}}),
            "1.2.840.113549.1.9.1=#16056140622e63,CN=\\ \\ lead\\#1 \\\"x\\\" \\<y\\>\\;z\\=w\\ ,"
            "OU=Dev\\+Ops,O=Acme\\, Inc.,ST=Some State,C=US");
  EXPECT_EQ(name_of({{"O", "  two  ", 0}, {"CN", "x y  ", 0}}), "CN=x y\\ \\ ,O=\\ \\ two\\ \\ ");
  // A multi-valued RDN keeps its encoded order (CN sorts before OU in DER).
  X509_NAME* parsed = nullptr;
  {
    X509_NAME* name = X509_NAME_new();
    for (const Entry& e : std::vector<Entry>{{"DC", "com", 0},
                                             {"DC", "example", 0},
                                             {"OU", "a", 0},
                                             {"CN", "b", -1},
                                             {"UID", "u1", 0},
                                             {"street", "Main St", 0},
                                             {"L", "Z\u00fcrich", 0}})
      X509_NAME_add_entry_by_txt(name, e.field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(e.value), -1, -1, e.set);
    unsigned char* der = nullptr;
    const int n = i2d_X509_NAME(name, &der);
    const unsigned char* p = der;
    parsed = d2i_X509_NAME(nullptr, &p, n);
    OPENSSL_free(der);
    X509_NAME_free(name);
  }
  ASSERT_NE(parsed, nullptr);
  EXPECT_EQ(rfc2253_name(parsed),
            "L=Z\u00fcrich,STREET=Main St,UID=u1,CN=b+OU=a,DC=example,DC=com");
  X509_NAME_free(parsed);
}

TEST(TlsNames, IanaCipherNamesBecomeOpenSsls) {
  EXPECT_EQ(openssl_cipher_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            "ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_EQ(openssl_cipher_name("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
            "ECDHE-ECDSA-CHACHA20-POLY1305");
  EXPECT_EQ(openssl_cipher_name("TLS_AES_256_GCM_SHA384"), "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(openssl_cipher_name("TLS_NO_SUCH_SUITE"), "");
}

}  // namespace
}  // namespace kb::net
