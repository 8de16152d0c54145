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
};

// Fills `body` (empty, reused between requests) for a GET of `path` (the
// target without its query string).
using HttpPageHandler = std::function<HttpAnswer(std::string_view path, ByteBuffer& body)>;

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
// does not take at once is copied to the connection.
class HttpServer final : public IoHandler {
 public:
  HttpServer(EventLoop& loop, HttpPageHandler handler, HttpServerOptions options = {});
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

  EventLoop& loop_;
  HttpPageHandler handler_;
  HttpServerOptions options_;
  int listen_fd_ = -1;
  uint16_t bound_port_ = 0;
  std::vector<std::unique_ptr<Client>> connections_;
  std::vector<std::unique_ptr<Client>> closed_;
  ByteBuffer body_;  // the answer being written, reused
  uint64_t requests_served_ = 0;
};

}  // namespace kb::net
