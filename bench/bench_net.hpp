// Small POSIX helpers shared by the network benchmark programs. Header-only and independent of
// the broker: the benchmark must measure the broker from the outside.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace kb::bench {

[[noreturn]] inline void ThrowErrno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Owns a file descriptor and closes it exactly once.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    // close() errors are not actionable here: the descriptor is released either way.
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

inline void PutBe16(char* out, uint16_t value) {
  out[0] = static_cast<char>(value >> 8);
  out[1] = static_cast<char>(value);
}

inline void PutBe32(char* out, uint32_t value) {
  out[0] = static_cast<char>(value >> 24);
  out[1] = static_cast<char>(value >> 16);
  out[2] = static_cast<char>(value >> 8);
  out[3] = static_cast<char>(value);
}

inline uint32_t GetBe32(const char* in) {
  const auto byte = [in](int i) {
    return static_cast<uint32_t>(static_cast<unsigned char>(in[i]));
  };
  return byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
}

// Parses a whole decimal string into an integer in [min, max]; throws naming the option.
template <typename Int>
Int ParseInt(std::string_view option, std::string_view text, Int min,
             Int max = std::numeric_limits<Int>::max()) {
  Int value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    throw std::invalid_argument(std::string(option) + ": expected an integer in [" +
                                std::to_string(min) + ", " + std::to_string(max) + "], got '" +
                                std::string(text) + "'");
  }
  return value;
}

inline sockaddr_in MakeIpv4Address(const std::string& host, uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    throw std::invalid_argument("--host: expected a numeric IPv4 address, got '" + host + "'");
  }
  return address;
}

inline void SetNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) ThrowErrno("fcntl(O_NONBLOCK)");
}

// Small pipelined frames must leave immediately instead of waiting for Nagle's ACK delay.
inline void SetTcpNoDelay(int fd) {
  const int on = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0) {
    ThrowErrno("setsockopt(TCP_NODELAY)");
  }
}

// Raises the soft descriptor limit so that `needed` descriptors fit, if the hard limit allows.
inline void EnsureFdLimit(rlim_t needed) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) < 0) ThrowErrno("getrlimit(RLIMIT_NOFILE)");
  if (limit.rlim_cur >= needed) return;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed) {
    throw std::runtime_error("need " + std::to_string(needed) +
                             " file descriptors but the hard limit is " +
                             std::to_string(limit.rlim_max) + " (raise it with ulimit -n)");
  }
  limit.rlim_cur = needed;
  if (::setrlimit(RLIMIT_NOFILE, &limit) < 0) ThrowErrno("setrlimit(RLIMIT_NOFILE)");
}

// Raises the soft descriptor limit to the hard one, for servers that accept whatever arrives.
inline void RaiseFdLimitToHard() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) < 0) ThrowErrno("getrlimit(RLIMIT_NOFILE)");
  EnsureFdLimit(limit.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : limit.rlim_max);
}

}  // namespace kb::bench
