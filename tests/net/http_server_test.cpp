// Tests for kb::net::HttpServer over loopback: a GET answered with its
// length, keep-alive with two requests (one sent byte by byte), HEAD, a
// method it does not serve, an oversized head, a body larger than the
// socket takes at once, HTTP/1.0 closing after its answer; a body in pieces
// (chunked, one piece per loop turn) with another connection answered
// between two pieces, to HTTP/1.0 without chunks, to HEAD without a body,
// and a connection closed in the middle of one.
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

// Reads a chunked body after its head (read by read_answer's loop): the
// body and how many chunks it came in; nullopt on a malformed chunk.
std::optional<std::pair<std::string, size_t>> read_chunked(Client& c) {
  std::string body;
  size_t chunks = 0;
  for (;;) {
    std::string line;
    uint8_t byte = 0;
    while (line.size() < 2 || line.substr(line.size() - 2) != "\r\n") {
      if (!c.read_exact(&byte, 1) || line.size() > 20) return std::nullopt;
      line.push_back(static_cast<char>(byte));
    }
    const size_t size = std::stoul(line, nullptr, 16);
    std::string data(size + 2, '\0');
    if (!c.read_exact(reinterpret_cast<uint8_t*>(data.data()), data.size())) return std::nullopt;
    if (data.substr(size) != "\r\n") return std::nullopt;
    if (size == 0) return std::make_pair(body, chunks);
    body += data.substr(0, size);
    ++chunks;
  }
}

std::string read_head(Client& c) {
  std::string head;
  uint8_t byte = 0;
  while (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n") {
    if (!c.read_exact(&byte, 1)) return head;
    head.push_back(static_cast<char>(byte));
  }
  return head;
}

// A page of at least `pieces` pieces ("piece N\n" each) at /big, the shared
// small page elsewhere; with `until_served`, the body goes on until the
// server answered that many requests. Each piece notes how many requests the
// server had answered when it was written.
class PiecesResponder final : public HttpResponder {
 public:
  struct Log {
    std::vector<uint64_t> served_at_piece;
    size_t abandoned = 0;
  };
  PiecesResponder(const HttpServer* const* server, size_t pieces, uint64_t until_served, Log& log,
                  std::string page)
      : server_(server),
        pieces_(pieces),
        until_served_(until_served),
        log_(log),
        page_(std::move(page)) {}
  HttpAnswer start(std::string_view path, ByteBuffer& body) override {
    if (path != "/big") {
      body.append(page_.data(), page_.size());
      return {200, "text/plain"};
    }
    written_ = 0;
    return {200, "text/plain", !next(body)};
  }
  bool next(ByteBuffer& body) override {
    log_.served_at_piece.push_back((*server_)->requests_served());
    const std::string piece = "piece " + std::to_string(written_++) + "\n";
    body.append(piece.data(), piece.size());
    constexpr size_t kMostPieces = 10'000'000;
    return written_ >= kMostPieces ||
           (written_ >= pieces_ && (*server_)->requests_served() >= until_served_);
  }
  void abandon() override { ++log_.abandoned; }

 private:
  const HttpServer* const* server_;
  size_t pieces_;
  uint64_t until_served_;
  Log& log_;
  std::string page_;
  size_t written_ = 0;
};

std::string pieces_page(size_t pieces) {
  std::string page;
  for (size_t i = 0; i < pieces; ++i) page += "piece " + std::to_string(i) + "\n";
  return page;
}

class HttpServerPiecesTest : public ::testing::Test {
 protected:
  void start(size_t pieces, uint64_t until_served = 0) {
    const HttpServer* const* server = &raw_;
    server_ = std::make_unique<HttpServer>(
        loop_, HttpResponderFactory([this, server, pieces, until_served] {
          return std::make_unique<PiecesResponder>(server, pieces, until_served, log_, "small\n");
        }));
    raw_ = server_.get();
    ASSERT_EQ(server_->listen({"127.0.0.1", 0}), "");
  }
  EventLoop loop_;
  std::unique_ptr<HttpServer> server_;
  const HttpServer* raw_ = nullptr;
  PiecesResponder::Log log_;
};

TEST_F(HttpServerPiecesTest, ABodyInPiecesIsChunkedAndOtherConnectionsAreAnsweredBetween) {
  // The body goes on until the other connection's request was answered.
  start(100, 2);
  std::string head, small_head;
  std::optional<std::pair<std::string, size_t>> big;
  std::optional<Answer> small, after;
  ClientThread t([&] {
    Client c(server_->bound_port());
    c.send_all(bytes_of("GET /big HTTP/1.1\r\n\r\nGET /small HTTP/1.1\r\n\r\n"));
    head = read_head(c);
    // The other connection, while the big body is still being written.
    Client other(server_->bound_port());
    other.send_all(bytes_of("GET /small HTTP/1.1\r\n\r\n"));
    small = read_answer(other);
    big = read_chunked(c);
    after = read_answer(c);  // the pipelined request, once the body is out
  });
  EXPECT_TRUE(run_loop_until(
      loop_, [&] { return t.done(); }, 20000ms));
  t.join();
  EXPECT_EQ(head.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_NE(head.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_EQ(head.find("Content-Length"), std::string::npos);
  ASSERT_TRUE(big);
  const size_t pieces = log_.served_at_piece.size();
  EXPECT_GE(pieces, 100u);
  EXPECT_TRUE(big->first == pieces_page(pieces));
  EXPECT_GT(big->second, 1u);
  ASSERT_TRUE(small && after);
  EXPECT_EQ(small->body, "small\n");
  EXPECT_EQ(after->body, "small\n");
  // The other connection's request was answered between two pieces.
  EXPECT_EQ(log_.served_at_piece.front(), 0u);
  EXPECT_EQ(log_.served_at_piece.back(), 2u);
}

TEST_F(HttpServerPiecesTest, Http10GetsTheBodyUnchunkedAndHeadNone) {
  start(50);
  std::string head10, head_only, head11;
  Client::End end10{};
  std::string body10;
  std::optional<std::pair<std::string, size_t>> chunked;
  ClientThread t([&] {
    Client c(server_->bound_port());
    c.send_all(bytes_of("GET /big HTTP/1.0\r\n\r\n"));
    head10 = read_head(c);
    uint8_t byte = 0;
    while (c.read_exact(&byte, 1)) body10.push_back(static_cast<char>(byte));
    end10 = c.read_until_closed();
    Client h(server_->bound_port());
    h.send_all(bytes_of("HEAD /big HTTP/1.1\r\n\r\nGET /big HTTP/1.1\r\n\r\n"));
    head_only = read_head(h);
    head11 = read_head(h);  // right after the HEAD answer: it had no body
    chunked = read_chunked(h);
  });
  EXPECT_TRUE(run_loop_until(
      loop_, [&] { return t.done(); }, 10000ms));
  t.join();
  EXPECT_EQ(head10.find("Transfer-Encoding"), std::string::npos);
  EXPECT_EQ(head10.find("Content-Length"), std::string::npos);
  EXPECT_NE(head10.find("Connection: close"), std::string::npos);
  EXPECT_EQ(body10, pieces_page(50));
  EXPECT_EQ(end10, Client::End::kClosed);
  EXPECT_NE(head_only.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_EQ(head11.substr(0, 15), "HTTP/1.1 200 OK");
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->first, pieces_page(50));
  EXPECT_EQ(log_.abandoned, 1u);  // the HEAD's
}

TEST_F(HttpServerPiecesTest, AConnectionClosedInTheMiddleOfABodyIsAbandoned) {
  start(1000000);
  ClientThread t([&] {
    Client c(server_->bound_port(), 5000ms, 16 * 1024);
    c.send_all(bytes_of("GET /big HTTP/1.1\r\n\r\n"));
    read_head(c);
  });
  EXPECT_TRUE(run_loop_until(loop_, [&] { return t.done(); }));
  t.join();  // the client is gone
  EXPECT_TRUE(run_loop_until(
      loop_, [&] { return log_.abandoned == 1 && server_->connection_count() == 0; }, 10000ms));
  EXPECT_LT(log_.served_at_piece.size(), 1000000u);
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
