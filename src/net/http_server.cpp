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
  bool http10 = false;  // no chunked transfer coding
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
    r.http10 = true;
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

// Answers every connection with one shared page handler: whole bodies only.
class HandlerResponder final : public HttpResponder {
 public:
  explicit HandlerResponder(std::shared_ptr<HttpPageHandler> handler)
      : handler_(std::move(handler)) {}
  HttpAnswer start(std::string_view path, ByteBuffer& body) override {
    HttpAnswer a = (*handler_)(path, body);
    a.more = false;
    return a;
  }
  bool next(ByteBuffer& /*body*/) override { return true; }

 private:
  std::shared_ptr<HttpPageHandler> handler_;
};

HttpResponderFactory shared_handler(HttpPageHandler handler) {
  auto shared = std::make_shared<HttpPageHandler>(std::move(handler));
  return [shared]() -> std::unique_ptr<HttpResponder> {
    return std::make_unique<HandlerResponder>(shared);
  };
}

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";

iovec part(std::string_view s) {
  return {const_cast<char*>(s.data()), s.size()};  // NOLINT(cppcoreguidelines-pro-type-const-cast)
}

}  // namespace

class HttpServer::Client final : public IoHandler {
 public:
  Client(HttpServer& server, int fd, uint64_t id, std::unique_ptr<HttpResponder> responder)
      : server_(server), fd_(fd), id_(id), responder_(std::move(responder)) {}
  ~Client() override {
    if (idle_timer_ != 0) server_.loop_.cancel(idle_timer_);
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  int fd() const { return fd_; }
  uint64_t id() const { return id_; }

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
    if (!closed_ && peer_closed_ && pending_.empty() && !streaming_) close();
  }

  // Answers the whole requests in the input while the output is drained.
  void handle_requests() {
    while (!closed_ && pending_.empty() && !close_after_write_ && !streaming_) {
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
    send_head(status, "text/plain; charset=utf-8", false, false, false);
  }

  void answer(const RequestHead& head) {
    ByteBuffer& body = server_.body_;
    body.clear();
    HttpAnswer a = responder_->start(head.path, body);
    ++server_.requests_served_;
    if (!head.keep_alive) close_after_write_ = true;
    if (a.more && head.head_only) responder_->abandon();
    if (a.more && !head.head_only) {
      streaming_ = true;
      chunked_ = !head.http10;
    }
    send_head(a.status, a.content_type, head.head_only, head.keep_alive, a.more);
  }

  // The head of an answer and its body (or the first piece of it) from the
  // shared buffer.
  void send_head(int status, std::string_view content_type, bool head_only, bool keep_alive,
                 bool in_pieces) {
    const ByteBuffer& body = server_.body_;
    char header[256];
    // A body in pieces has no length up front: chunks mark its end, or (to
    // HTTP/1.0, which has no chunks) the connection closing.
    char length[48];
    std::string_view framing;
    if (!in_pieces) {
      const auto n =
          fmt::format_to_n(length, sizeof(length), "Content-Length: {}\r\n", body.size());
      framing = {length, std::min(n.size, sizeof(length))};
    } else if (chunked_ || head_only) {
      framing = "Transfer-Encoding: chunked\r\n";
    }
    const auto written = fmt::format_to_n(
        header, sizeof(header), "HTTP/1.1 {} {}\r\nContent-Type: {}\r\n{}Connection: {}\r\n\r\n",
        status, reason(status), content_type, framing, keep_alive ? "keep-alive" : "close");
    const std::string_view head(header, std::min(written.size, sizeof(header)));
    if (head_only) {
      iovec parts[] = {part(head)};
      return write_parts(parts, 1);
    }
    if (in_pieces) return write_piece(head, false);
    iovec parts[] = {part(head), part(body_view())};
    write_parts(parts, 2);
  }

  std::string_view body_view() const {
    const ByteBuffer& body = server_.body_;
    return {reinterpret_cast<const char*>(body.data()), body.size()};
  }

  // A piece of a body from the shared buffer (after `head`, when the answer
  // starts with it), chunked if the client reads chunks, and after the last
  // piece the end of the body.
  void write_piece(std::string_view head, bool last) {
    const std::string_view body = body_view();
    iovec parts[5];
    int count = 0;
    if (!head.empty()) parts[count++] = part(head);
    char size_line[24];
    if (chunked_ && !body.empty()) {
      // An empty chunk would end the body: an empty piece is left out.
      const auto n = fmt::format_to_n(size_line, sizeof(size_line), "{:x}\r\n", body.size());
      parts[count++] = part({size_line, std::min(n.size, sizeof(size_line))});
      parts[count++] = part(body);
      parts[count++] = part(kCrlf);
    } else if (!body.empty()) {
      parts[count++] = part(body);
    }
    if (last) {
      streaming_ = false;
      if (chunked_) parts[count++] = part(kLastChunk);
    }
    write_parts(parts, count);
  }

  // Writes what the socket takes; the rest is copied to pending_ (the
  // shared body is rebuilt by the next request or piece).
  void write_parts(iovec* parts, int count) {
    size_t sent = 0;
    for (;;) {
      // sendmsg rather than writev: a peer gone in the middle of a body
      // must give EPIPE, not SIGPIPE.
      msghdr message{};
      message.msg_iov = parts;
      message.msg_iovlen = static_cast<size_t>(count);
      const ssize_t n = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
      if (n >= 0) {
        sent = static_cast<size_t>(n);
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return close();
    }
    for (int i = 0; i < count; ++i) {
      const size_t taken = std::min(sent, parts[i].iov_len);
      sent -= taken;
      if (taken < parts[i].iov_len)
        pending_.append(static_cast<const uint8_t*>(parts[i].iov_base) + taken,
                        parts[i].iov_len - taken);
    }
    after_write();
  }

  // What follows a write: waiting for the socket, the next piece of a body,
  // or the next request.
  void after_write() {
    if (!pending_.empty()) {
      // Nothing more is read (or rendered) until the answer is out: a
      // client that sends without reading cannot make anything grow.
      set_watch(EPOLLOUT);
      return;
    }
    if (streaming_) {
      // The next piece in the next loop turn, so that every other client is
      // served between two pieces; meanwhile this one's input waits.
      set_watch(0);
      server_.loop_.post(
          [&server = server_, alive = std::weak_ptr<bool>(server_.alive_), id = id_] {
            if (!alive.expired()) server.continue_body(id);
          });
      return;
    }
    if (close_after_write_) return close();
    set_watch(EPOLLIN);
  }

  void set_watch(uint32_t events) {
    if (events == watching_) return;
    watching_ = events;
    server_.loop_.modify(fd_, events);
  }

 public:
  void next_piece() {
    if (closed_ || !streaming_ || !pending_.empty()) return;
    last_active_ = server_.loop_.now();
    ByteBuffer& body = server_.body_;
    body.clear();
    const bool last = responder_->next(body);
    write_piece({}, last);
    if (!closed_ && !streaming_ && pending_.empty()) {
      pending_.release();
      if (peer_closed_) return close();
      handle_requests();
    }
  }

 private:
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
    if (streaming_) {
      // The buffer is kept for the next piece.
      after_write();
      return !closed_;
    }
    pending_.release();
    if (close_after_write_ || peer_closed_) {
      close();
      return false;
    }
    set_watch(EPOLLIN);
    handle_requests();
    return !closed_;
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    if (streaming_) responder_->abandon();
    streaming_ = false;
    server_.close_client(this);
  }

  HttpServer& server_;
  int fd_;
  uint64_t id_;
  std::unique_ptr<HttpResponder> responder_;
  uint32_t watching_ = EPOLLIN;
  bool streaming_ = false;  // a body in pieces is being written
  bool chunked_ = false;
  ByteBuffer input_;
  ByteBuffer pending_;
  EventLoop::TimerId idle_timer_ = 0;
  EventLoop::Clock::time_point last_active_;
  bool closed_ = false;
  bool peer_closed_ = false;
  bool close_after_write_ = false;
};

HttpServer::HttpServer(EventLoop& loop, HttpPageHandler handler, HttpServerOptions options)
    : HttpServer(loop, shared_handler(std::move(handler)), options) {}

HttpServer::HttpServer(EventLoop& loop, HttpResponderFactory make_responder,
                       HttpServerOptions options)
    : loop_(loop), make_responder_(std::move(make_responder)), options_(options) {
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
    auto& client = connections_.emplace_back(
        std::make_unique<Client>(*this, fd, next_client_id_++, make_responder_()));
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

void HttpServer::continue_body(uint64_t client_id) {
  for (auto& c : connections_) {
    if (c->id() != client_id) continue;
    c->next_piece();
    return;
  }
}

}  // namespace kb::net
