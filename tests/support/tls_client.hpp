#pragma once

// A blocking TLS client over IPv4 loopback for tests (OpenSSL's client side):
// it verifies the server against a CA file, may show a client certificate,
// and bounds every call by a timeout so a misbehaving server fails a test
// rather than hanging it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kb::testing {

struct TlsClientOptions {
  std::string ca_file;    // the server must chain to it (empty: no check)
  std::string cert_file;  // a client certificate to show (empty: none)
  std::string key_file;
  int max_version = 0;      // e.g. TLS1_2_VERSION; 0: OpenSSL's highest
  std::string cipher_list;  // TLS 1.2 suites (OpenSSL names)
  std::chrono::milliseconds timeout{5000};
};

class TlsTestClient {
 public:
  TlsTestClient(uint16_t port, const TlsClientOptions& options) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(options.timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((options.timeout.count() % 1000) * 1000);
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      error_ = "connect failed";
      return;
    }
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (options.max_version != 0) SSL_CTX_set_max_proto_version(ctx_, options.max_version);
    if (!options.cipher_list.empty()) SSL_CTX_set_cipher_list(ctx_, options.cipher_list.c_str());
    if (!options.ca_file.empty()) {
      SSL_CTX_load_verify_locations(ctx_, options.ca_file.c_str(), nullptr);
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    }
    if (!options.cert_file.empty()) {
      SSL_CTX_use_certificate_chain_file(ctx_, options.cert_file.c_str());
      SSL_CTX_use_PrivateKey_file(ctx_, options.key_file.c_str(), SSL_FILETYPE_PEM);
    }
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, "localhost");
    ERR_clear_error();
    if (SSL_connect(ssl_) != 1) {
      error_ = "handshake failed: " + errors();
      return;
    }
    connected_ = true;
  }

  ~TlsTestClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  TlsTestClient(const TlsTestClient&) = delete;
  TlsTestClient& operator=(const TlsTestClient&) = delete;

  bool connected() const { return connected_; }
  const std::string& error() const { return error_; }
  std::string protocol() const { return ssl_ != nullptr ? SSL_get_version(ssl_) : ""; }

  bool send_all(std::span<const uint8_t> bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      size_t n = 0;
      if (SSL_write_ex(ssl_, bytes.data() + sent, bytes.size() - sent, &n) != 1) return false;
      sent += n;
    }
    return true;
  }

  bool read_exact(uint8_t* out, size_t n) {
    size_t got = 0;
    while (got < n) {
      size_t r = 0;
      if (SSL_read_ex(ssl_, out + got, n - got, &r) != 1) return false;
      got += r;
    }
    return true;
  }

  std::optional<std::vector<uint8_t>> read_frame() {
    uint8_t prefix[4];
    if (!read_exact(prefix, 4)) return std::nullopt;
    const uint32_t size = (uint32_t{prefix[0]} << 24) | (uint32_t{prefix[1]} << 16) |
                          (uint32_t{prefix[2]} << 8) | uint32_t{prefix[3]};
    std::vector<uint8_t> body(size);
    if (!read_exact(body.data(), body.size())) return std::nullopt;
    return body;
  }

  // In TLS 1.3 the server checks the client's certificate after the client
  // has finished its side: a refusal shows on the first read. True when the
  // server closed (alert or EOF) before `timeout`.
  bool closed_by_server() {
    uint8_t byte = 0;
    size_t r = 0;
    errno = 0;
    const int rc = SSL_read_ex(ssl_, &byte, 1, &r);
    if (rc == 1) return false;
    const int e = SSL_get_error(ssl_, rc);
    ERR_clear_error();
    if (e == SSL_ERROR_SYSCALL) return errno != EAGAIN && errno != EWOULDBLOCK;
    return e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SSL;
  }

 private:
  static std::string errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
      char text[256];
      ERR_error_string_n(e, text, sizeof(text));
      if (!out.empty()) out += "; ";
      out += text;
    }
    return out;
  }

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool connected_ = false;
  std::string error_;
};

}  // namespace kb::testing
