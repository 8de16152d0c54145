#include "kb/net/http_server.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace kb::net {

namespace {

constexpr size_t kReadChunk = 4096;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Internal Server Error";
  }
}

// What the head of one request asks.
struct RequestHead {
  int error = 0;  // an HTTP status to answer instead, then close
  bool head_only = false;
  bool keep_alive = true;
  std::string_view path;
};

RequestHead parse_head(std::string_view head) {
  RequestHead r;
  const size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) {
    r.error = 400;
    return r;
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (version == "HTTP/1.0") {
    r.keep_alive = false;
  } else if (version != "HTTP/1.1") {
    r.error = version.substr(0, 5) == "HTTP/" ? 505 : 400;
    return r;
  }
  if (method == "HEAD") {
    r.head_only = true;
  } else if (method != "GET") {
    r.error = 405;
    r.keep_alive = false;
  }
  if (const size_t q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  r.path = target;

  std::string_view rest = line_end == std::string_view::npos ? "" : head.substr(line_end + 2);
  while (!rest.empty()) {
    const size_t end = rest.find("\r\n");
    const std::string_view field = rest.substr(0, end);
    rest = end == std::string_view::npos ? "" : rest.substr(end + 2);
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = trim(field.substr(0, colon));
    const std::string_view value = trim(field.substr(colon + 1));
    if (iequals(name, "connection")) {
      if (iequals(value, "close")) r.keep_alive = false;
      if (iequals(value, "keep-alive")) r.keep_alive = true;
    } else if (iequals(name, "transfer-encoding") ||
               (iequals(name, "content-length") && value != "0")) {
      // A body is not read here: answering and closing keeps the stream in
      // step.
      if (r.error == 0) r.error = 413;
      r.keep_alive = false;
    }
  }
  return r;
}

}  // namespace

class HttpServer::Client final : public IoHandler {
 public:
  Client(HttpServer& server, int fd) : server_(server), fd_(fd) {}
  ~Client() override {
    if (idle_timer_ != 0) server_.loop_.cancel(idle_timer_);
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  int fd() const { return fd_; }

  void start() {
    server_.loop_.watch(fd_, EPOLLIN, this);
    last_active_ = server_.loop_.now();
    arm_idle_timer(server_.options_.idle_timeout);
  }

  void on_io(uint32_t events) override {
    if (closed_) return;
    if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN)) return close();
    if (events & EPOLLOUT) {
      if (!write_pending()) return;
    }
    if (events & EPOLLIN) read_input();
  }

 private:
  // One timer per idle period, not one per request: when it fires early
  // (the connection was used meanwhile) it is set again for the rest.
  void arm_idle_timer(std::chrono::milliseconds delay) {
    idle_timer_ = server_.loop_.run_after(delay, [this] {
      idle_timer_ = 0;
      const auto idle = server_.loop_.now() - last_active_;
      if (idle >= server_.options_.idle_timeout) return close();
      arm_idle_timer(
          std::chrono::ceil<std::chrono::milliseconds>(server_.options_.idle_timeout - idle));
    });
  }

  void read_input() {
    const size_t limit = server_.options_.max_head_bytes + kReadChunk;
    while (input_.size() <= limit) {
      uint8_t* at = input_.prepare(kReadChunk);
      const ssize_t n = ::recv(fd_, at, kReadChunk, 0);
      if (n > 0) {
        input_.commit(static_cast<size_t>(n));
        continue;
      }
      if (n == 0) {
        peer_closed_ = true;
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return close();
    }
    last_active_ = server_.loop_.now();
    handle_requests();
    if (!closed_ && peer_closed_ && pending_.empty()) close();
  }

  // Answers the whole requests in the input while the output is drained.
  void handle_requests() {
    while (!closed_ && pending_.empty() && !close_after_write_) {
      const std::string_view in(reinterpret_cast<const char*>(input_.data()), input_.size());
      const size_t end = in.find("\r\n\r\n");
      if (end == std::string_view::npos) {
        if (input_.size() > server_.options_.max_head_bytes) answer_error(431);
        return;
      }
      if (end + 4 > server_.options_.max_head_bytes) return answer_error(431);
      const RequestHead head = parse_head(in.substr(0, end));
      input_.consume(end + 4);
      if (head.error != 0) return answer_error(head.error);
      answer(head);
    }
  }

  void answer_error(int status) {
    close_after_write_ = true;
    ByteBuffer& body = server_.body_;
    body.clear();
    const std::string_view text = reason(status);
    body.append(text.data(), text.size());
    body.push_back('\n');
    send(status, "text/plain; charset=utf-8", false, false);
  }

  void answer(const RequestHead& head) {
    ByteBuffer& body = server_.body_;
    body.clear();
    HttpAnswer a = server_.handler_(head.path, body);
    ++server_.requests_served_;
    if (!head.keep_alive) close_after_write_ = true;
    send(a.status, a.content_type, head.head_only, head.keep_alive);
  }

  void send(int status, std::string_view content_type, bool head_only, bool keep_alive) {
    const ByteBuffer& body = server_.body_;
    char header[256];
    const auto written = fmt::format_to_n(
        header, sizeof(header),
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n",
        status, reason(status), content_type, body.size(), keep_alive ? "keep-alive" : "close");
    const size_t header_size = std::min(written.size, sizeof(header));
    const size_t body_size = head_only ? 0 : body.size();
    iovec parts[2] = {{header, header_size},
                      {const_cast<uint8_t*>(body.data()), body_size}};  // NOLINT
    size_t sent = 0;
    for (;;) {
      const ssize_t n = ::writev(fd_, parts, 2);
      if (n >= 0) {
        sent = static_cast<size_t>(n);
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return close();
    }
    // Only what the socket did not take is copied (the shared body is
    // rebuilt by the next request).
    if (sent < header_size) pending_.append(header + sent, header_size - sent);
    const size_t body_sent = sent > header_size ? sent - header_size : 0;
    if (body_sent < body_size) pending_.append(body.data() + body_sent, body_size - body_sent);
    if (!pending_.empty()) {
      // Nothing more is read until the answer is out: a client that sends
      // without reading cannot make the input grow.
      server_.loop_.modify(fd_, EPOLLOUT);
      return;
    }
    if (close_after_write_) close();
  }

  // false: the connection closed.
  bool write_pending() {
    while (!pending_.empty()) {
      const ssize_t n = ::send(fd_, pending_.data(), pending_.size(), MSG_NOSIGNAL);
      if (n > 0) {
        pending_.consume(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      close();
      return false;
    }
    pending_.release();
    if (close_after_write_ || peer_closed_) {
      close();
      return false;
    }
    server_.loop_.modify(fd_, EPOLLIN);
    handle_requests();
    return !closed_;
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    server_.close_client(this);
  }

  HttpServer& server_;
  int fd_;
  ByteBuffer input_;
  ByteBuffer pending_;
  EventLoop::TimerId idle_timer_ = 0;
  EventLoop::Clock::time_point last_active_;
  bool closed_ = false;
  bool peer_closed_ = false;
  bool close_after_write_ = false;
};

HttpServer::HttpServer(EventLoop& loop, HttpPageHandler handler, HttpServerOptions options)
    : loop_(loop), handler_(std::move(handler)), options_(options) {
  loop_.add_before_sleep([this] { reap(); });
}

HttpServer::~HttpServer() {
  for (auto& c : connections_) loop_.unwatch(c->fd());
  if (listen_fd_ >= 0) {
    loop_.unwatch(listen_fd_);
    ::close(listen_fd_);
  }
}

std::string HttpServer::listen(const Endpoint& endpoint) {
  std::string error = listen_socket(endpoint, &listen_fd_, &bound_port_);
  if (error.empty()) loop_.watch(listen_fd_, EPOLLIN, this);
  return error;
}

void HttpServer::on_io(uint32_t /*events*/) { accept_ready(); }

void HttpServer::accept_ready() {
  for (int i = 0; i < 64; ++i) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        spdlog::warn("metrics listener: accept failed: {}", std::strerror(errno));
      return;
    }
    if (connections_.size() >= options_.max_connections) {
      ::close(fd);
      continue;
    }
    auto& client = connections_.emplace_back(std::make_unique<Client>(*this, fd));
    client->start();
  }
}

void HttpServer::close_client(Client* client) {
  auto it = std::find_if(connections_.begin(), connections_.end(),
                         [client](const auto& c) { return c.get() == client; });
  if (it == connections_.end()) return;
  loop_.unwatch(client->fd());
  // Freed before the loop sleeps, never inside its own callback.
  closed_.push_back(std::move(*it));
  connections_.erase(it);
}

void HttpServer::reap() { closed_.clear(); }

}  // namespace kb::net
