#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "kb/protocol/messages/api_versions.hpp"
#include "support/kafka_client.hpp"

namespace kb::testing {

// A raw TCP connection to 127.0.0.1:`port` from the loopback address
// `source`, an ApiVersions request sent at once.
class SourcedConnection {
 public:
  SourcedConnection(const char* source, uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    inet_pton(AF_INET, source, &from.sin_addr);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof(from)), 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 0);
    sent_ = std::chrono::steady_clock::now();
    const auto frame = encode_request(protocol::ApiVersionsRequest{}, 3, 1);
    EXPECT_EQ(::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(frame.size()));
  }
  ~SourcedConnection() { ::close(fd_); }
  SourcedConnection(const SourcedConnection&) = delete;
  SourcedConnection& operator=(const SourcedConnection&) = delete;

  enum class Outcome { kAnswered, kClosed, kNothing };
  // What came back within `limit` of the request, and when.
  Outcome wait(std::chrono::milliseconds limit) {
    pollfd p{fd_, POLLIN, 0};
    const auto left = limit - std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - sent_);
    if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) <= 0)
      return Outcome::kNothing;
    after_ = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - sent_);
    uint8_t byte = 0;
    const ssize_t n = ::recv(fd_, &byte, 1, 0);
    return n > 0 ? Outcome::kAnswered : Outcome::kClosed;
  }
  std::chrono::milliseconds after() const { return after_; }

 private:
  int fd_ = -1;
  std::chrono::steady_clock::time_point sent_;
  std::chrono::milliseconds after_{0};
};

}  // namespace kb::testing
