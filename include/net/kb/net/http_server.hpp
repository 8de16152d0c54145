#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kb/base/byte_buffer.hpp"
#include "kb/net/event_loop.hpp"
#include "kb/net/tcp_server.hpp"

namespace kb::net {

// What a page handler answers: a status and the body it appended.
struct HttpAnswer {
  int status = 200;
  std::string_view content_type = "text/plain; charset=utf-8";
  // The body continues (HttpResponder::next): it goes out in chunks, one per
  // loop turn, so that a big page never holds the loop for long.
  bool more = false;
};

// Fills `body` (empty, reused between requests) for a GET of `path` (the
// target without its query string).
using HttpPageHandler = std::function<HttpAnswer(std::string_view path, ByteBuffer& body)>;

// Answers the requests of one connection, one at a time. A body written over
// many loop turns keeps its place here between them; one responder serves
// every request of its connection, so a scrape allocates nothing of its own.
class HttpResponder {
 public:
  virtual ~HttpResponder() = default;
  // The answer to a GET (or HEAD) of `path`, its body (or the first piece of
  // it, with HttpAnswer::more) appended to `body` (empty, reused).
  virtual HttpAnswer start(std::string_view path, ByteBuffer& body) = 0;
  // Appends the next piece of a body begun with `more`: true once the body
  // is whole. Called once per loop turn, when the previous piece was taken
  // by the socket.
  virtual bool next(ByteBuffer& body) = 0;
  // A body begun with `more` will not be asked for further (a HEAD, or the
  // connection closed).
  virtual void abandon() {}
};
using HttpResponderFactory = std::function<std::unique_ptr<HttpResponder>()>;

struct HttpServerOptions {
  size_t max_connections = 16;
  // A request head (request line and headers) larger than this is refused
  // (431) and the connection closed.
  size_t max_head_bytes = 8192;
  // Idle keep-alive connections close after this long.
  std::chrono::milliseconds idle_timeout{120'000};
};

// A small HTTP/1.1 server on the event loop for GET (and HEAD): enough for a
// Prometheus scraper or curl. Keep-alive, one request at a time per
// connection, no request bodies. The body of an answer is built in one buffer
// shared by all connections and written straight away; only what the socket
// does not take at once is copied to the connection. A body in pieces goes
// out with chunked transfer coding (to an HTTP/1.0 client: as it comes, and
// the connection closes after it), a piece per loop turn while the socket
// keeps up.
class HttpServer final : public IoHandler {
 public:
  // Every connection answered by one shared handler (whole bodies only).
  HttpServer(EventLoop& loop, HttpPageHandler handler, HttpServerOptions options = {});
  // Every connection answered by a responder of its own, made when it opens.
  HttpServer(EventLoop& loop, HttpResponderFactory make_responder, HttpServerOptions options = {});
  ~HttpServer() override;
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; port 0 picks a free port. Returns an error message,
  // empty on success.
  std::string listen(const Endpoint& endpoint);
  uint16_t bound_port() const { return bound_port_; }
  size_t connection_count() const { return connections_.size(); }
  uint64_t requests_served() const { return requests_served_; }

  void on_io(uint32_t events) override;

 private:
  class Client;
  friend class Client;

  void accept_ready();
  void close_client(Client* client);
  void reap();
  // The next piece of a body in pieces, for the connection `client_id` if it
  // is still open (a posted task).
  void continue_body(uint64_t client_id);

  EventLoop& loop_;
  HttpResponderFactory make_responder_;
  HttpServerOptions options_;
  uint64_t next_client_id_ = 1;
  // Posted tasks hold a weak reference: the server may be gone when they run.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  int listen_fd_ = -1;
  uint16_t bound_port_ = 0;
  std::vector<std::unique_ptr<Client>> connections_;
  std::vector<std::unique_ptr<Client>> closed_;
  ByteBuffer body_;  // the answer being written, reused
  uint64_t requests_served_ = 0;
};

}  // namespace kb::net
