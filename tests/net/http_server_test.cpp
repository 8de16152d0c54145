// Tests for kb::net::HttpServer over loopback: a GET answered with its
// length, keep-alive with two requests (one sent byte by byte), HEAD, a
// method it does not serve, an oversized head, a body larger than the
// socket takes at once, HTTP/1.0 closing after its answer.
#include "kb/net/http_server.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/net_test_support.hpp"

namespace kb::net {
namespace {

using namespace std::chrono_literals;
using test::Client;
using test::ClientThread;
using test::run_loop_until;

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Reads one answer: its head, then Content-Length bytes of body.
struct Answer {
  std::string head;
  std::string body;
};

std::optional<Answer> read_answer(Client& c, bool with_body = true) {
  Answer a;
  uint8_t byte = 0;
  while (a.head.size() < 4 || a.head.substr(a.head.size() - 4) != "\r\n\r\n") {
    if (!c.read_exact(&byte, 1)) return std::nullopt;
    a.head.push_back(static_cast<char>(byte));
  }
  const size_t at = a.head.find("Content-Length: ");
  if (at == std::string::npos) return std::nullopt;
  const size_t length = std::stoul(a.head.substr(at + 16));
  if (!with_body) return a;
  a.body.resize(length);
  if (length > 0 && !c.read_exact(reinterpret_cast<uint8_t*>(a.body.data()), length))
    return std::nullopt;
  return a;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpServerOptions options = {}) {
    server_ = std::make_unique<HttpServer>(
        loop_,
        [this](std::string_view path, ByteBuffer& body) -> HttpAnswer {
          paths_.emplace_back(path);
          if (path != "/metrics") return {404};
          body.append(page_.data(), page_.size());
          return {200, "text/plain; version=0.0.4"};
        },
        options);
    ASSERT_EQ(server_->listen({"127.0.0.1", 0}), "");
  }

  EventLoop loop_;
  std::unique_ptr<HttpServer> server_;
  std::vector<std::string> paths_;
  std::string page_ = "metric_a 1\nmetric_b 2\n";
};

TEST_F(HttpServerTest, AnswersGetsOnOneKeptAliveConnection) {
  start();
  std::optional<Answer> first, second;
  ClientThread t([&] {
    Client c(server_->bound_port());
    c.send_all(bytes_of("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n"));
    first = read_answer(c);
    // The second request one byte at a time.
    for (char ch : std::string("GET /other HTTP/1.1\r\nHost: a\r\n\r\n"))
      c.send_all(bytes_of(std::string(1, ch)));
    second = read_answer(c);
  });
  EXPECT_TRUE(run_loop_until(loop_, [&] { return t.done(); }));
  t.join();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->head.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_NE(first->head.find("Content-Type: text/plain; version=0.0.4\r\n"), std::string::npos);
  EXPECT_NE(first->head.find("Connection: keep-alive"), std::string::npos);
  EXPECT_EQ(first->body, page_);
  EXPECT_EQ(second->head.substr(0, 12), "HTTP/1.1 404");
  EXPECT_EQ(paths_, (std::vector<std::string>{"/metrics", "/other"}));
  EXPECT_EQ(server_->requests_served(), 2u);
}

TEST_F(HttpServerTest, HeadHasTheLengthButNoBody) {
  start();
  std::optional<Answer> head, get;
  ClientThread t([&] {
    Client c(server_->bound_port());
    c.send_all(bytes_of("HEAD /metrics HTTP/1.1\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n"));
    head = read_answer(c, false);
    get = read_answer(c);
  });
  EXPECT_TRUE(run_loop_until(loop_, [&] { return t.done(); }));
  t.join();
  ASSERT_TRUE(head && get);
  EXPECT_NE(head->head.find("Content-Length: " + std::to_string(page_.size())), std::string::npos);
  EXPECT_EQ(get->body, page_);  // right after the HEAD answer: it had no body
}

TEST_F(HttpServerTest, RefusesOtherMethodsBodiesAndHugeHeadsThenCloses) {
  start({.max_connections = 4, .max_head_bytes = 512});
  std::optional<Answer> post, huge, old;
  Client::End post_end{}, huge_end{}, old_end{};
  ClientThread t([&] {
    Client c1(server_->bound_port());
    c1.send_all(bytes_of("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"));
    post = read_answer(c1);
    post_end = c1.read_until_closed();
    Client c2(server_->bound_port());
    c2.send_all(bytes_of("GET /metrics HTTP/1.1\r\nX: " + std::string(2000, 'x') + "\r\n\r\n"));
    huge = read_answer(c2);
    huge_end = c2.read_until_closed();
    Client c3(server_->bound_port());
    c3.send_all(bytes_of("GET /metrics HTTP/1.0\r\n\r\n"));
    old = read_answer(c3);
    old_end = c3.read_until_closed();
  });
  EXPECT_TRUE(run_loop_until(loop_, [&] { return t.done(); }));
  t.join();
  ASSERT_TRUE(post && huge && old);
  EXPECT_EQ(post->head.substr(0, 12), "HTTP/1.1 405");
  EXPECT_EQ(post_end, Client::End::kClosed);
  EXPECT_EQ(huge->head.substr(0, 12), "HTTP/1.1 431");
  EXPECT_EQ(huge_end, Client::End::kClosed);
  EXPECT_EQ(old->body, page_);
  EXPECT_EQ(old_end, Client::End::kClosed);
  EXPECT_TRUE(run_loop_until(loop_, [&] { return server_->connection_count() == 0; }));
}

TEST_F(HttpServerTest, ABodyLargerThanTheSocketTakesArrivesWhole) {
  page_.clear();
  for (int i = 0; page_.size() < 8 * 1024 * 1024; ++i)
    page_ += "series_" + std::to_string(i) + " " + std::to_string(i * 7) + "\n";
  start();
  std::optional<Answer> a;
  ClientThread t([&] {
    Client c(server_->bound_port(), 5000ms, 16 * 1024);
    c.send_all(bytes_of("GET /metrics HTTP/1.1\r\n\r\n"));
    a = read_answer(c);
  });
  EXPECT_TRUE(run_loop_until(
      loop_, [&] { return t.done(); }, 10000ms));
  t.join();
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->body == page_);
}

TEST_F(HttpServerTest, IdleConnectionsClose) {
  start({.idle_timeout = 50ms});
  Client::End end{};
  ClientThread t([&] {
    Client c(server_->bound_port());
    end = c.read_until_closed();
  });
  EXPECT_TRUE(run_loop_until(loop_, [&] { return t.done(); }));
  t.join();
  EXPECT_EQ(end, Client::End::kClosed);
}

}  // namespace
}  // namespace kb::net
