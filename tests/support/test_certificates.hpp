#pragma once

// Certificates made at test time with the `openssl` command: a test CA, a
// server certificate for localhost/127.0.0.1, client certificates (valid,
// expired, and one from a CA the broker does not trust), PEM and PKCS#12
// files. Nothing is checked in: every run makes fresh keys.

#include <filesystem>
#include <stdexcept>
#include <string>

#include "support/shell_command.hpp"

namespace kb::testing {

class TestCertificates {
 public:
  // The password of every PKCS#12 file and encrypted key made here.
  static constexpr const char* kPassword = "test-secret";
  // The subject of the valid client certificate, as Java prints it.
  static constexpr const char* kClientSubject = "CN=client,OU=Test,O=Kb,C=US";

  explicit TestCertificates(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    make_ca("ca", "/CN=Test CA");
    make_ca("other-ca", "/CN=Untrusted CA");
    write_text_file(dir_ / "server.ext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                    "extendedKeyUsage=serverAuth\n");
    write_text_file(dir_ / "client.ext", "extendedKeyUsage=clientAuth\n");
    make_cert("server", "ca", "/CN=localhost", "server.ext", 365);
    make_cert("client", "ca", "/C=US/O=Kb/OU=Test/CN=client", "client.ext", 365);
    make_cert("expired-client", "ca", "/CN=expired", "client.ext", -1);
    make_cert("expired-server", "ca", "/CN=localhost", "server.ext", -1);
    make_cert("stranger", "other-ca", "/CN=stranger", "client.ext", 365);
    // The server's key encrypted (PKCS#8), as Kafka's PEM key stores take it.
    run("openssl pkcs8 -topk8 -v2 aes-256-cbc -in " + q("server.key") + " -out " +
        q("server-encrypted.key") + " -passout pass:" + kPassword);
    // PKCS#12: the server's key store, and a trust store holding the CA.
    run("openssl pkcs12 -export -in " + q("server.pem") + " -inkey " + q("server.key") +
        " -certfile " + q("ca.pem") + " -name server -out " + q("server.p12") +
        " -passout pass:" + kPassword);
    run("openssl pkcs12 -export -nokeys -in " + q("ca.pem") + " -name ca -out " +
        q("truststore.p12") + " -passout pass:" + kPassword);
  }

  std::filesystem::path path(const std::string& file) const { return dir_ / file; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::string q(const std::string& file) const { return quoted(dir_ / file); }

  void run(const std::string& command) const {
    CommandResult r = run_command(command, 60);
    if (r.status != 0) throw std::runtime_error(command + " failed:\n" + r.output);
  }

  void make_ca(const std::string& name, const std::string& subject) const {
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
        q(name + ".key") + " -out " + q(name + ".pem") + " -days 365 -subj '" + subject +
        "' -addext basicConstraints=critical,CA:TRUE -addext "
        "keyUsage=critical,keyCertSign,cRLSign");
  }

  // days < 0: already expired.
  void make_cert(const std::string& name, const std::string& ca, const std::string& subject,
                 const std::string& ext, int days) const {
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
        q(name + ".key") + " -out " + q(name + ".csr") + " -subj '" + subject + "'");
    run("openssl x509 -req -in " + q(name + ".csr") + " -CA " + q(ca + ".pem") + " -CAkey " +
        q(ca + ".key") + " -CAcreateserial -out " + q(name + ".pem") + " -days " +
        std::to_string(days) + " -extfile " + q(ext));
  }

  std::filesystem::path dir_;
};

}  // namespace kb::testing
