#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// OpenSSL's types, declared so that users of this header need not include it.
using SSL_CTX = struct ssl_ctx_st;
using SSL = struct ssl_st;

namespace kb::net {

// Whether a client must show a certificate (Kafka's ssl.client.auth).
enum class TlsClientAuth { kNone, kRequested, kRequired };

// Key and certificate material, already read from files or configuration.
// PEM text may have its lines joined by spaces (as a properties value with
// continuation lines gives it): blocks are found by their BEGIN/END lines.
struct TlsKeyStore {
  enum class Format { kPem, kPkcs12 };
  Format format = Format::kPem;
  // kPem: the certificate chain (leaf first) and the PKCS#8 private key,
  // encrypted when key_password is set. May be one text holding both.
  std::string certificate_chain;
  std::string private_key;
  std::optional<std::string> key_password;
  // kPkcs12: the file's bytes and its password; the key may have a password
  // of its own (key_password), else the store's opens it.
  std::string pkcs12;
  std::optional<std::string> password;
};

struct TlsTrustStore {
  enum class Format { kSystem, kPem, kPkcs12 };
  Format format = Format::kSystem;  // the system's trusted authorities
  std::string certificates;         // kPem
  std::string pkcs12;               // kPkcs12
  std::optional<std::string> password;
};

// What a TLS listener needs. Versions are OpenSSL's (TLS1_2_VERSION ...).
struct TlsOptions {
  TlsKeyStore key_store;
  TlsTrustStore trust_store;
  TlsClientAuth client_auth = TlsClientAuth::kNone;
  // The protocol versions offered, e.g. {TLS1_2_VERSION, TLS1_3_VERSION}.
  std::vector<int> versions;
  // Empty: OpenSSL's defaults. cipher_list names TLS 1.2 suites,
  // cipher_suites TLS 1.3 ones, both in OpenSSL's spelling.
  std::string cipher_list;
  std::string cipher_suites;
  // Kernel TLS: records are encrypted by the kernel, so file ranges go out
  // with sendfile. Used only when the kernel offers the "tls" ULP.
  bool kernel_tls = true;
};

// OpenSSL's name of a cipher suite named as IANA (and Java) name it, e.g.
// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 -> ECDHE-RSA-AES128-GCM-SHA256. TLS 1.3
// suites keep their names. Empty when OpenSSL does not know the suite.
std::string openssl_cipher_name(std::string_view iana_name);
// Whether a name is a TLS 1.3 suite (TLS_AES_..., TLS_CHACHA20_...).
bool is_tls13_suite(std::string_view name);

// Whether this kernel can encrypt TLS records itself (the "tls" upper layer
// protocol is available).
bool kernel_tls_available();

// A server-side TLS configuration shared by a listener's connections.
class TlsContext {
 public:
  // Returns null and sets `error` when the material or options are unusable.
  static std::shared_ptr<TlsContext> create(const TlsOptions& options, std::string& error);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* native() const { return ctx_; }
  bool kernel_tls() const { return kernel_tls_; }

 private:
  TlsContext() = default;
  SSL_CTX* ctx_ = nullptr;
  bool kernel_tls_ = false;
};

// One connection's TLS state over a non-blocking socket. The calls follow
// recv/send: a negative result with errno EAGAIN means the operation waits for
// the socket (wants_read() / wants_write() say for what).
class TlsSession {
 public:
  enum class Step { kDone, kWantRead, kWantWrite, kFailed };

  TlsSession(const TlsContext& context, int fd);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Drives the handshake; on kFailed, error() says why.
  Step handshake();
  bool established() const { return established_; }

  // Plaintext in: >0 bytes read, 0 the peer closed, -1 errno set (EAGAIN:
  // wait; EPROTO: a TLS error, see error()).
  ssize_t read(void* buffer, size_t size);
  // Plaintext out, as records: returns how much was written (possibly less
  // than size, after which the next call must offer the same bytes again,
  // from any address, and no fewer), or -1 as read().
  ssize_t write(const void* buffer, size_t size);
  // File bytes out with kernel TLS (only when kernel_tls_send()).
  ssize_t send_file(int fd, off_t offset, size_t size);
  bool kernel_tls_send() const;

  bool wants_read() const { return want_ == Want::kRead; }
  bool wants_write() const { return want_ == Want::kWrite; }
  // Decrypted bytes (or a whole record) waiting inside OpenSSL, which the
  // socket's readiness no longer reports.
  bool has_buffered_input() const;

  // Sends close_notify once (best effort, never waits).
  void shutdown();

  const std::string& error() const { return error_; }
  // The verified client certificate's subject as RFC 2253 (as Java's
  // X500Principal.getName() prints it); empty without one.
  const std::string& peer_subject() const { return peer_subject_; }
  // "TLSv1.3", and the cipher suite's OpenSSL name.
  std::string protocol() const;
  std::string cipher() const;

 private:
  enum class Want { kNone, kRead, kWrite };
  ssize_t finish_io(int result, const char* what);

  SSL* ssl_ = nullptr;
  Want want_ = Want::kNone;
  bool established_ = false;
  bool shut_down_ = false;
  std::string error_;
  std::string peer_subject_;
};

// A certificate subject in the RFC 2253 form Java's X500Principal.getName()
// gives: most specific first ("CN=a,OU=b,O=c,C=US"), known attribute names as
// keywords, others as dotted OIDs with the value's DER in hex (#...).
// `name` is an X509_NAME*.
std::string rfc2253_name(const void* name);

}  // namespace kb::net
