#include "kb/net/tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace kb::net {

namespace {

// OpenSSL's error queue as one line (and emptied), so each failure logs its
// own reasons rather than an earlier one's.
std::string take_openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(e, text, sizeof(text));
    if (!out.empty()) out += "; ";
    // "error:0A000086:SSL routines::certificate verify failed": the reason
    // is what a reader needs.
    std::string_view line(text);
    size_t last = line.rfind(':');
    out += last == std::string_view::npos ? line : line.substr(last + 1);
  }
  return out.empty() ? std::string("unknown TLS error") : out;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
struct CertStackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
using CertStackPtr = std::unique_ptr<STACK_OF(X509), CertStackFree>;

// PEM blocks of `text` with `label` ("CERTIFICATE", or a suffix of it such
// as "PRIVATE KEY"), rewritten as PEM proper: the base64 body stripped of
// all white space and broken into lines, so OpenSSL's reader takes text whose
// lines a properties file joined with spaces.
std::vector<std::string> pem_blocks(std::string_view text, std::string_view label_suffix) {
  std::vector<std::string> blocks;
  constexpr std::string_view kBegin = "-----BEGIN ";
  constexpr std::string_view kDashes = "-----";
  size_t at = 0;
  while ((at = text.find(kBegin, at)) != std::string_view::npos) {
    size_t label_start = at + kBegin.size();
    size_t label_end = text.find(kDashes, label_start);
    if (label_end == std::string_view::npos) break;
    std::string_view label = text.substr(label_start, label_end - label_start);
    size_t body_start = label_end + kDashes.size();
    std::string end_line = fmt::format("-----END {}-----", label);
    size_t end = text.find(end_line, body_start);
    if (end == std::string_view::npos) break;
    at = end + end_line.size();
    if (!label.ends_with(label_suffix)) continue;
    std::string body;
    for (char c : text.substr(body_start, end - body_start))
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') body.push_back(c);
    std::string block = fmt::format("-----BEGIN {}-----\n", label);
    for (size_t i = 0; i < body.size(); i += 64) {
      block.append(body, i, 64);
      block.push_back('\n');
    }
    block += end_line;
    block.push_back('\n');
    blocks.push_back(std::move(block));
  }
  return blocks;
}

bool read_pem_certificates(std::string_view text, std::vector<X509Ptr>& out, std::string& error) {
  for (const std::string& block : pem_blocks(text, "CERTIFICATE")) {
    BioPtr bio(BIO_new_mem_buf(block.data(), static_cast<int>(block.size())));
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
      error = "a certificate does not parse: " + take_openssl_errors();
      return false;
    }
    out.push_back(std::move(cert));
  }
  if (out.empty()) {
    error = "no PEM certificate (-----BEGIN CERTIFICATE-----) found";
    return false;
  }
  return true;
}

int password_callback(char* buffer, int size, int /*rwflag*/, void* user) {
  const auto* password = static_cast<const std::string*>(user);
  if (password == nullptr) return 0;
  int n = static_cast<int>(std::min<size_t>(password->size(), static_cast<size_t>(size)));
  std::memcpy(buffer, password->data(), static_cast<size_t>(n));
  return n;
}

KeyPtr read_pem_key(std::string_view text, const std::optional<std::string>& password,
                    std::string& error) {
  auto blocks = pem_blocks(text, "PRIVATE KEY");
  if (blocks.empty()) {
    error = "no PEM private key (-----BEGIN PRIVATE KEY----- or ENCRYPTED PRIVATE KEY) found";
    return nullptr;
  }
  const std::string& block = blocks.front();
  if (block.starts_with("-----BEGIN ENCRYPTED") && !password) {
    error = "the private key is encrypted and no key password is set";
    return nullptr;
  }
  BioPtr bio(BIO_new_mem_buf(block.data(), static_cast<int>(block.size())));
  std::string empty;
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, password_callback,
                                     const_cast<std::string*>(password ? &*password : &empty)));
  if (!key) error = "the private key does not parse or decrypt: " + take_openssl_errors();
  return key;
}

struct Pkcs12Contents {
  KeyPtr key;
  X509Ptr cert;
  CertStackPtr others;
};

bool read_pkcs12(const std::string& bytes, const std::optional<std::string>& password,
                 Pkcs12Contents& out, std::string& error) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  PKCS12* p12 = d2i_PKCS12(nullptr, &p, static_cast<long>(bytes.size()));
  if (p12 == nullptr) {
    error = "not a PKCS#12 file: " + take_openssl_errors();
    return false;
  }
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* others = nullptr;
  int ok = PKCS12_parse(p12, password ? password->c_str() : nullptr, &key, &cert, &others);
  PKCS12_free(p12);
  if (ok != 1) {
    error = "the PKCS#12 file does not open (wrong password?): " + take_openssl_errors();
    return false;
  }
  out.key.reset(key);
  out.cert.reset(cert);
  out.others.reset(others);
  return true;
}

bool load_key_store(SSL_CTX* ctx, const TlsKeyStore& store, std::string& error) {
  KeyPtr key;
  std::vector<X509Ptr> chain;
  if (store.format == TlsKeyStore::Format::kPem) {
    if (!read_pem_certificates(store.certificate_chain, chain, error)) return false;
    key = read_pem_key(store.private_key, store.key_password, error);
    if (!key) return false;
  } else {
    Pkcs12Contents p12;
    if (!read_pkcs12(store.pkcs12, store.password, p12, error)) return false;
    if (!p12.key || !p12.cert) {
      error = "the PKCS#12 key store holds no private key with its certificate";
      return false;
    }
    key = std::move(p12.key);
    chain.push_back(std::move(p12.cert));
    if (p12.others)
      while (sk_X509_num(p12.others.get()) > 0) chain.emplace_back(sk_X509_shift(p12.others.get()));
  }
  if (SSL_CTX_use_certificate(ctx, chain.front().get()) != 1) {
    error = "the certificate is not usable: " + take_openssl_errors();
    return false;
  }
  for (size_t i = 1; i < chain.size(); ++i) {
    // add1: the context takes its own reference.
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1) {
      error = "a chain certificate is not usable: " + take_openssl_errors();
      return false;
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    error = "the private key does not match the certificate: " + take_openssl_errors();
    return false;
  }
  return true;
}

bool load_trust_store(SSL_CTX* ctx, const TlsTrustStore& store, std::string& error) {
  std::vector<X509Ptr> certs;
  switch (store.format) {
    case TlsTrustStore::Format::kSystem:
      SSL_CTX_set_default_verify_paths(ctx);
      return true;
    case TlsTrustStore::Format::kPem:
      if (!read_pem_certificates(store.certificates, certs, error)) return false;
      break;
    case TlsTrustStore::Format::kPkcs12: {
      Pkcs12Contents p12;
      if (!read_pkcs12(store.pkcs12, store.password, p12, error)) return false;
      if (p12.cert) certs.push_back(std::move(p12.cert));
      if (p12.others)
        while (sk_X509_num(p12.others.get()) > 0)
          certs.emplace_back(sk_X509_shift(p12.others.get()));
      if (certs.empty()) {
        error = "the PKCS#12 trust store holds no certificate";
        return false;
      }
      break;
    }
  }
  X509_STORE* trusted = SSL_CTX_get_cert_store(ctx);
  CertStackPtr names(sk_X509_new_null());
  for (const auto& cert : certs) {
    if (X509_STORE_add_cert(trusted, cert.get()) != 1) {
      error = "a trusted certificate is not usable: " + take_openssl_errors();
      return false;
    }
    // The authorities a client's certificate may come from, told to the
    // client in the CertificateRequest.
    X509_up_ref(cert.get());
    sk_X509_push(names.get(), cert.get());
  }
  for (int i = 0; i < sk_X509_num(names.get()); ++i)
    SSL_CTX_add_client_CA(ctx, sk_X509_value(names.get(), i));
  return true;
}

bool apply_versions(SSL_CTX* ctx, const std::vector<int>& versions, std::string& error) {
  if (versions.empty()) {
    error = "no TLS protocol version enabled";
    return false;
  }
  const int lowest = *std::min_element(versions.begin(), versions.end());
  const int highest = *std::max_element(versions.begin(), versions.end());
  SSL_CTX_set_min_proto_version(ctx, lowest);
  SSL_CTX_set_max_proto_version(ctx, highest);
  // A version between two enabled ones that is not itself enabled.
  constexpr std::pair<int, uint64_t> kOff[] = {{TLS1_VERSION, SSL_OP_NO_TLSv1},
                                               {TLS1_1_VERSION, SSL_OP_NO_TLSv1_1},
                                               {TLS1_2_VERSION, SSL_OP_NO_TLSv1_2},
                                               {TLS1_3_VERSION, SSL_OP_NO_TLSv1_3}};
  for (auto [version, option] : kOff)
    if (version > lowest && version < highest &&
        std::find(versions.begin(), versions.end(), version) == versions.end())
      SSL_CTX_set_options(ctx, option);
  // TLS 1.0 and 1.1 need the SHA-1 signatures OpenSSL 3 leaves out at its
  // default security level.
  if (lowest < TLS1_2_VERSION) SSL_CTX_set_security_level(ctx, 0);
  return true;
}

std::string hex_der(const ASN1_STRING* value) {
  // The value as its DER encoding (tag, length, content), in hex.
  unsigned char* der = nullptr;
  int n = i2d_ASN1_PRINTABLE(const_cast<ASN1_STRING*>(value), &der);
  std::string out = "#";
  for (int i = 0; i < n; ++i) out += fmt::format("{:02x}", der[i]);
  OPENSSL_free(der);
  return out;
}

std::string escape_rfc2253(std::string_view value) {
  // Spaces are escaped where they lead or trail the value (each of them).
  const size_t first = value.find_first_not_of(' ');
  const size_t last = value.find_last_not_of(' ');
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    const bool edge_space = c == ' ' && (first == std::string_view::npos || i < first || i > last);
    if (std::string_view(",=+<>#;\"\\").find(c) != std::string_view::npos || edge_space)
      out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string openssl_cipher_name(std::string_view iana_name) {
  if (is_tls13_suite(iana_name)) return std::string(iana_name);
  std::string name(iana_name);
  // Java names a few suites with SSL_ where IANA writes TLS_.
  if (name.starts_with("SSL_")) name = "TLS_" + name.substr(4);
  const char* converted = OPENSSL_cipher_name(name.c_str());
  if (converted == nullptr || std::string_view(converted) == "(NONE)") return {};
  return converted;
}

bool is_tls13_suite(std::string_view name) {
  return name == "TLS_AES_128_GCM_SHA256" || name == "TLS_AES_256_GCM_SHA384" ||
         name == "TLS_CHACHA20_POLY1305_SHA256" || name == "TLS_AES_128_CCM_SHA256" ||
         name == "TLS_AES_128_CCM_8_SHA256";
}

bool kernel_tls_available() {
  std::ifstream in("/proc/sys/net/ipv4/tcp_available_ulp");
  std::string word;
  while (in >> word)
    if (word == "tls") return true;
  return false;
}

namespace {

std::string rfc2253_value(const X509_NAME_ENTRY* entry) {
  const ASN1_OBJECT* object = X509_NAME_ENTRY_get_object(entry);
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(entry);
  const char* keyword = nullptr;
  switch (OBJ_obj2nid(object)) {
    case NID_commonName:
      keyword = "CN";
      break;
    case NID_countryName:
      keyword = "C";
      break;
    case NID_localityName:
      keyword = "L";
      break;
    case NID_stateOrProvinceName:
      keyword = "ST";
      break;
    case NID_organizationName:
      keyword = "O";
      break;
    case NID_organizationalUnitName:
      keyword = "OU";
      break;
    case NID_streetAddress:
      keyword = "STREET";
      break;
    case NID_domainComponent:
      keyword = "DC";
      break;
    case NID_userId:
      keyword = "UID";
      break;
    default:
      break;
  }
  if (keyword == nullptr) {
    char oid[128];
    OBJ_obj2txt(oid, sizeof(oid), object, 1);
    return std::string(oid) + "=" + hex_der(data);
  }
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, data);
  if (n < 0) return std::string(keyword) + "=" + hex_der(data);
  std::string out =
      std::string(keyword) + "=" +
      escape_rfc2253(std::string_view(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n)));
  OPENSSL_free(utf8);
  return out;
}

}  // namespace

std::string rfc2253_name(const void* name_ptr) {
  const auto* name = static_cast<const X509_NAME*>(name_ptr);
  // RDNs are stored least specific first; RFC 2253 prints them the other way
  // round. The values of one multi-valued RDN keep their (encoded) order,
  // joined by '+'.
  std::vector<std::vector<std::string>> rdns;
  int previous_set = -1;
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    const int set = X509_NAME_ENTRY_set(entry);
    if (rdns.empty() || set != previous_set) rdns.emplace_back();
    previous_set = set;
    rdns.back().push_back(rfc2253_value(entry));
  }
  std::string out;
  std::reverse(rdns.begin(), rdns.end());
  for (const auto& rdn : rdns) {
    if (!out.empty()) out += ',';
    for (size_t i = 0; i < rdn.size(); ++i) {
      if (i > 0) out += '+';
      out += rdn[i];
    }
  }
  return out;
}

// ---------------------------------------------------------------- TlsContext

std::shared_ptr<TlsContext> TlsContext::create(const TlsOptions& options, std::string& error) {
  ERR_clear_error();
  // OpenSSL writes to the socket with write(), which cannot say
  // MSG_NOSIGNAL: a client gone mid-write must cost an EPIPE, not the process.
  std::signal(SIGPIPE, SIG_IGN);
  std::shared_ptr<TlsContext> context(new TlsContext());
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    error = take_openssl_errors();
    return nullptr;
  }
  context->ctx_ = ctx;
  // Writes of any size go out record by record (the output queue offers the
  // unsent rest again, possibly from a moved buffer); no renegotiation (TLS
  // 1.2's, which Kafka's clients never start); a peer closing without
  // close_notify is a plain end of stream.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  if (!apply_versions(ctx, options.versions, error)) return nullptr;
  if (!options.cipher_list.empty() &&
      SSL_CTX_set_cipher_list(ctx, options.cipher_list.c_str()) != 1) {
    error = fmt::format("no usable TLS 1.2 cipher suite in '{}': {}", options.cipher_list,
                        take_openssl_errors());
    return nullptr;
  }
  if (!options.cipher_suites.empty() &&
      SSL_CTX_set_ciphersuites(ctx, options.cipher_suites.c_str()) != 1) {
    error = fmt::format("no usable TLS 1.3 cipher suite in '{}': {}", options.cipher_suites,
                        take_openssl_errors());
    return nullptr;
  }
  if (!load_key_store(ctx, options.key_store, error)) {
    error = "key store: " + error;
    return nullptr;
  }
  if (!load_trust_store(ctx, options.trust_store, error)) {
    error = "trust store: " + error;
    return nullptr;
  }
  int verify = SSL_VERIFY_NONE;
  if (options.client_auth == TlsClientAuth::kRequested) verify = SSL_VERIFY_PEER;
  if (options.client_auth == TlsClientAuth::kRequired)
    verify = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx, verify, nullptr);
  // Session resumption with client certificates needs a context id.
  static constexpr unsigned char kSessionContext[] = "kb-broker";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  if (options.kernel_tls && kernel_tls_available()) {
    SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
    context->kernel_tls_ = true;
  }
  return context;
}

TlsContext::~TlsContext() {
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

// ---------------------------------------------------------------- TlsSession

TlsSession::TlsSession(const TlsContext& context, int fd) : ssl_(SSL_new(context.native())) {
  if (ssl_ != nullptr) {
    SSL_set_fd(ssl_, fd);
    SSL_set_accept_state(ssl_);
  }
}

TlsSession::~TlsSession() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

TlsSession::Step TlsSession::handshake() {
  if (ssl_ == nullptr) {
    error_ = "cannot create a TLS session: " + take_openssl_errors();
    return Step::kFailed;
  }
  ERR_clear_error();
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    established_ = true;
    want_ = Want::kNone;
    if (X509* peer = SSL_get0_peer_certificate(ssl_);
        peer != nullptr && SSL_get_verify_result(ssl_) == X509_V_OK)
      peer_subject_ = rfc2253_name(X509_get_subject_name(peer));
    return Step::kDone;
  }
  const int e = SSL_get_error(ssl_, rc);
  if (e == SSL_ERROR_WANT_READ) {
    want_ = Want::kRead;
    return Step::kWantRead;
  }
  if (e == SSL_ERROR_WANT_WRITE) {
    want_ = Want::kWrite;
    return Step::kWantWrite;
  }
  if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
    error_ = errno != 0 ? std::strerror(errno) : "the peer closed the connection";
  else if (e == SSL_ERROR_ZERO_RETURN)
    error_ = "the peer closed the connection";
  else
    error_ = take_openssl_errors();
  if (long verify = SSL_get_verify_result(ssl_); verify != X509_V_OK)
    error_ += fmt::format(" (client certificate: {})", X509_verify_cert_error_string(verify));
  return Step::kFailed;
}

ssize_t TlsSession::finish_io(int result, const char* what) {
  const int e = SSL_get_error(ssl_, result);
  switch (e) {
    case SSL_ERROR_WANT_READ:
      want_ = Want::kRead;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      want_ = Want::kWrite;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0) {
        if (errno == 0) return 0;  // end of stream
        return -1;                 // errno tells
      }
      [[fallthrough]];
    default:
      error_ = fmt::format("TLS {} failed: {}", what, take_openssl_errors());
      errno = EPROTO;
      return -1;
  }
}

ssize_t TlsSession::read(void* buffer, size_t size) {
  ERR_clear_error();
  errno = 0;
  want_ = Want::kNone;
  size_t got = 0;
  int rc = SSL_read_ex(ssl_, buffer, size, &got);
  if (rc == 1) return static_cast<ssize_t>(got);
  return finish_io(rc, "read");
}

ssize_t TlsSession::write(const void* buffer, size_t size) {
  // Partial writes return after each record; keep going while the socket
  // takes them, so a short result means the socket is full.
  const auto* bytes = static_cast<const uint8_t*>(buffer);
  size_t total = 0;
  want_ = Want::kNone;
  while (total < size) {
    ERR_clear_error();
    errno = 0;
    size_t written = 0;
    int rc = SSL_write_ex(ssl_, bytes + total, size - total, &written);
    if (rc == 1) {
      total += written;
      continue;
    }
    ssize_t r = finish_io(rc, "write");
    if (total > 0 && r < 0 && errno == EAGAIN) return static_cast<ssize_t>(total);
    if (r == 0) {
      errno = EPIPE;
      return -1;
    }
    return r;
  }
  return static_cast<ssize_t>(total);
}

ssize_t TlsSession::send_file(int fd, off_t offset, size_t size) {
  ERR_clear_error();
  errno = 0;
  want_ = Want::kNone;
  ossl_ssize_t n = SSL_sendfile(ssl_, fd, offset, size, 0);
  if (n >= 0) return static_cast<ssize_t>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    want_ = Want::kWrite;
    errno = EAGAIN;
    return -1;
  }
  error_ = fmt::format("TLS sendfile failed: {}", std::strerror(errno));
  return -1;
}

bool TlsSession::kernel_tls_send() const {
  return ssl_ != nullptr && BIO_get_ktls_send(SSL_get_wbio(ssl_)) != 0;
}

bool TlsSession::has_buffered_input() const {
  return ssl_ != nullptr && established_ && SSL_has_pending(ssl_) != 0;
}

void TlsSession::shutdown() {
  if (ssl_ == nullptr || shut_down_ || !established_) return;
  shut_down_ = true;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // close_notify, if the socket takes it now
  ERR_clear_error();
}

std::string TlsSession::protocol() const { return ssl_ != nullptr ? SSL_get_version(ssl_) : ""; }

std::string TlsSession::cipher() const {
  const char* name = ssl_ != nullptr ? SSL_get_cipher_name(ssl_) : nullptr;
  return name != nullptr ? name : "";
}

}  // namespace kb::net
