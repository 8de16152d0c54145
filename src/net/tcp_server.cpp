#include "kb/net/tcp_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>

namespace kb::net {

namespace {

constexpr int kMaxAcceptsPerTurn = 256;
// How long a closing connection keeps reading (and dropping) what the client
// still sends, so that closing with unread input does not reset the
// connection and destroy responses the client has not read yet.
constexpr auto kLingerTime = std::chrono::milliseconds(1000);
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);
// The largest partial-frame buffer kept for reuse (TcpServer::spare_input_).
constexpr size_t kMaxSpareInputBytes = size_t{16} * 1024 * 1024;
// One read while a frame larger than read_chunk is arriving.
constexpr size_t kLargeFrameRead = size_t{1024} * 1024;

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string describe_peer(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (addr.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
    inet_ntop(AF_INET, &a.sin_addr, host, sizeof(host));
    port = ntohs(a.sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
    inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof(host));
    port = ntohs(a.sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

// The peer's address alone, as inet_ntop writes it.
std::string peer_address(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, host, sizeof(host));
  else if (addr.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr, host, sizeof(host));
  return host;
}

}  // namespace

// ---------------------------------------------------------------- Connection

Connection::Connection(TcpServer& server, int fd, uint64_t id, std::string peer)
    : server_(server), fd_(fd), id_(id), peer_(std::move(peer)), output_(&pending_) {}

Connection::~Connection() {
  if (fd_ < 0) return;
  if (handshake_in_flight_) {
    // A handshake thread may be using the socket: it ends its step at once
    // (the socket is shut), and the socket is closed when the step is back,
    // so its number is not reused under the thread.
    ::shutdown(fd_, SHUT_RDWR);
    server_.orphaned_sockets_.emplace(id_, fd_);
    return;
  }
  ::close(fd_);
}

bool Connection::has_whole_frame() const {
  if (input_.size() < 4) return false;
  size_t frame_size = read_be32(input_.data());
  const auto& opts = server_.options_;
  // An invalid size counts: handling it closes the connection.
  if (frame_size < opts.min_frame_size || frame_size > opts.max_frame_size) return true;
  return input_.size() >= frame_size + 4;
}

void Connection::on_io(uint32_t events) {
  if (lingering_) return discard_input();
  if (tls_ && !opened_) {
    // While a step runs elsewhere (or waits for a thread) the socket is not
    // watched: events collected before that were dropped.
    if (!handshake_in_flight_ && !handshake_waiting_) continue_handshake();
    return;
  }
  if (events & (EPOLLERR | EPOLLHUP)) {
    // Whatever arrived before the hang-up is still handled below (EPOLLIN is
    // set too when data is waiting); a reset peer has nothing to send to.
    if (!(events & EPOLLIN)) return close_now();
  }
  if (events & EPOLLOUT) {
    write_pending();
    // Frames held back at the high-water mark or by the per-turn bound: one
    // more batch per turn.
    if (!closed_ && pending_.size() <= server_.options_.output_high_water && !blocked() &&
        !closing_ && has_whole_frame())
      handle_frames(input_);
  }
  if (!closed_ && !lingering_ && (events & EPOLLIN) && !read_paused_) read_input();
  // A TLS read that had to write first (a key update's answer) goes on once
  // the socket takes bytes again.
  if (!closed_ && !lingering_ && (events & EPOLLOUT) && tls_read_wants_write_ && !read_paused_)
    read_input();
}

void Connection::continue_handshake() {
  if (server_.handshake_pool_) return server_.queue_handshake_step(*this);
  after_handshake_step(tls_->handshake());
}

void Connection::after_handshake_step(TlsSession::Step step) {
  switch (step) {
    case TlsSession::Step::kWantRead:
    case TlsSession::Step::kWantWrite: {
      const uint32_t want = tls_->wants_write() ? uint32_t{EPOLLOUT} : uint32_t{EPOLLIN};
      if (want != interest_) {
        server_.loop_.modify(fd_, want);
        interest_ = want;
      }
      return;
    }
    case TlsSession::Step::kFailed:
      spdlog::info("connection {} ({}): TLS handshake failed: {}", id_, peer_, tls_->error());
      return close_now();
    case TlsSession::Step::kDone:
      break;
  }
  if (handshake_timer_ != 0) server_.loop_.cancel(handshake_timer_);
  handshake_timer_ = 0;
  spdlog::debug("connection {} ({}): {} with {}{}{}", id_, peer_, tls_->protocol(), tls_->cipher(),
                tls_->peer_subject().empty() ? "" : ", client ", tls_->peer_subject());
  opened_ = true;
  server_.handler_.on_open(*this);
  if (closed_) return;
  update_interest();
  // A client may have sent its first request with its last handshake
  // message: it may already wait inside OpenSSL.
  if (!read_paused_) read_input();
}

ssize_t Connection::receive(uint8_t* buffer, size_t size) {
  if (!tls_) return ::recv(fd_, buffer, size, 0);
  // One call yields at most one record: gather records up to `size`.
  size_t total = 0;
  tls_read_wants_write_ = false;
  while (total < size) {
    ssize_t n = tls_->read(buffer + total, size - total);
    if (n > 0) {
      total += static_cast<size_t>(n);
      continue;
    }
    if (total == 0) {
      tls_read_wants_write_ = n < 0 && errno == EAGAIN && tls_->wants_write();
      return n;
    }
    // The end of the stream (or an error) is seen again by the next call;
    // the bytes before it go first.
    if (n == 0 || errno != EAGAIN) read_buffered_tls_input_later();
    break;
  }
  return static_cast<ssize_t>(total);
}

ssize_t Connection::transmit(const uint8_t* data, size_t size, int flags) {
  if (tls_) return tls_->write(data, size);
  return ::send(fd_, data, size, flags);
}

void Connection::read_buffered_tls_input_later() {
  if (tls_read_posted_) return;
  tls_read_posted_ = true;
  TcpServer* server = &server_;
  const uint64_t id = id_;
  // A posted task cannot be cancelled: it finds out whether the server is still there.
  server_.loop_.post([server, id, alive = std::weak_ptr<const int>(server_.lifetime_)] {
    if (alive.expired()) return;
    auto it = server->connections_.find(id);
    if (it == server->connections_.end()) return;
    Connection& c = *it->second;
    c.tls_read_posted_ = false;
    if (!c.closed_ && !c.lingering_ && !c.read_paused_) c.read_input();
  });
}

std::string Connection::io_error() const {
  if (tls_ && errno == EPROTO && !tls_->error().empty()) return tls_->error();
  return std::strerror(errno);
}

void Connection::linger() {
  if (closed_ || lingering_) return;
  lingering_ = true;
  if (tls_) tls_->shutdown();
  ::shutdown(fd_, SHUT_WR);
  input_.release();
  pending_ = OutputQueue{};
  write_watches_.clear();
  server_.loop_.modify(fd_, EPOLLIN);
  interest_ = EPOLLIN;
  const uint64_t id = id_;
  TcpServer* server = &server_;
  linger_timer_ = server_.loop_.run_after(kLingerTime, [server, id] {
    auto it = server->connections_.find(id);
    if (it != server->connections_.end()) it->second->close_now();
  });
}

void Connection::discard_input() {
  uint8_t sink[4096];
  ssize_t n = ::recv(fd_, sink, sizeof(sink), 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) close_now();
}

void Connection::read_input() {
  // Read into the shared buffer unless a partial frame is waiting here; then
  // append to it. For a frame larger than a chunk, up to 1 MiB at once: the
  // rest of it in few calls, and the frames queued behind it with it, so that
  // they are handled (and their appends written) together.
  const size_t chunk = server_.options_.read_chunk;
  ByteBuffer& in = input_.empty() ? server_.shared_input_ : input_;
  size_t want = chunk;
  if (!input_.empty() && input_.size() >= 4) {
    size_t frame_total = size_t{read_be32(input_.data())} + 4;
    if (frame_total > input_.size() && frame_total > chunk) want = std::max(chunk, kLargeFrameRead);
  }
  ssize_t n = receive(in.prepare(want), want);
  if (n == 0) {
    // The client closed its side: whole requests it sent are still answered
    // (a client may half-close after its last request); a partial frame is
    // dropped once nothing else is left.
    peer_closed_ = true;
    return update_interest();
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    if (tls_ && errno == EPROTO)
      spdlog::info("connection {} ({}): {}", id_, peer_, tls_->error());
    else
      spdlog::debug("connection {} ({}): read failed: {}", id_, peer_, io_error());
    return close_now();
  }
  in.commit(static_cast<size_t>(n));
  handle_frames(in);
}

void Connection::resume() {
  if (!held_ || closed_) return;
  held_ = false;
  // Inside on_frame the frame loop simply goes on.
  if (in_handle_frames_) return;
  write_pending();
  if (closed_) return;
  if (!input_.empty() && !closing_ && !muted_) {
    handle_frames(input_);
  } else {
    update_interest();
  }
}

void Connection::mute_for(std::chrono::milliseconds time) {
  if (closed_ || time.count() <= 0) return;
  const auto until = server_.loop_.now() + time;
  if (muted_) {
    if (until <= mute_until_) return;
    server_.loop_.cancel(mute_timer_);
  }
  muted_ = true;
  mute_until_ = until;
  const uint64_t id = id_;
  TcpServer* server = &server_;
  mute_timer_ = server_.loop_.run_after(time, [server, id] {
    auto it = server->connections_.find(id);
    if (it != server->connections_.end()) it->second->unmute();
  });
  update_interest();
}

void Connection::unmute() {
  mute_timer_ = 0;
  if (!muted_ || closed_) return;
  muted_ = false;
  if (held_ || in_handle_frames_) return;
  write_pending();
  if (closed_) return;
  if (!input_.empty() && !closing_) {
    handle_frames(input_);
  } else {
    update_interest();
  }
}

void Connection::handle_frames(ByteBuffer& in) {
  // The shared output buffer is used only when this connection has nothing
  // queued and no other connection is using it (a handler may touch another
  // connection while this one is being handled).
  const bool shared_out = pending_.empty() && !server_.shared_output_in_use_;
  output_ = shared_out ? &server_.shared_output_ : &pending_;
  if (shared_out) server_.shared_output_in_use_ = true;

  const auto& opts = server_.options_;
  in_handle_frames_ = true;
  size_t handled = 0;
  while (!closing_ && !blocked() && in.size() >= 4 && handled < opts.max_frames_per_turn) {
    size_t frame_size = read_be32(in.data());
    if (frame_size < opts.min_frame_size || frame_size > opts.max_frame_size) {
      spdlog::warn("connection {} ({}): frame size {} outside [{}, {}], closing", id_, peer_,
                   static_cast<int32_t>(frame_size), opts.min_frame_size, opts.max_frame_size);
      in.clear();
      closing_ = true;
      break;
    }
    if (in.size() < frame_size + 4) break;
    server_.handler_.on_frame(*this, std::span<const uint8_t>(in.data() + 4, frame_size));
    in.consume(frame_size + 4);
    ++handled;
    if (pending_.size() + (shared_out ? output_->size() : 0) > opts.output_high_water) break;
  }

  // Still in the frame loop for the handler: the frames are still in `in`.
  const bool answer = server_.handler_.on_frames_handled(*this);
  in_handle_frames_ = false;
  if (!answer) {
    if (shared_out) {
      server_.shared_output_.clear();
      server_.shared_output_in_use_ = false;
      output_ = &pending_;
    }
    if (&in == &server_.shared_input_) in.clear();
    return close_now();
  }

  // Keep a partial frame (or frames held back by the high-water mark).
  if (&in == &server_.shared_input_) {
    if (!in.empty() && !closing_) {
      if (input_.capacity() == 0) server_.take_spare_input(input_);
      input_.append(in.span());
    }
    in.clear();
  } else if (in.empty() && input_.capacity() > opts.read_chunk) {
    // A large frame's buffer goes back to the server rather than the
    // allocator: the next large frame then lands in memory already touched
    // instead of faulting fresh pages in.
    server_.keep_spare_input(input_);
  }

  if (shared_out) {
    // Fast path: the shared output goes to the socket directly and only what
    // the kernel did not take is copied into this connection's own buffer.
    OutputQueue& out = server_.shared_output_;
    server_.shared_output_in_use_ = false;
    output_ = &pending_;
    if (!out.empty()) {
      if (send_output(out) == WriteResult::failed) {
        out.clear();
        return close_now();
      }
      if (!out.empty()) {
        // pending_ is empty: it takes over the stream position, so the file
        // ranges keep their places.
        if (pending_.bytes.capacity() == 0) pending_.bytes.swap(server_.spare_output_);
        pending_.bytes.append(out.bytes.span());
        pending_.bytes_sent = out.bytes_sent;
        pending_.files = std::move(out.files);
        pending_.file_bytes = out.file_bytes;
      }
      out.clear();
    }
  } else {
    write_pending();
    if (closed_) return;
  }
  update_interest();
}

void Connection::flush() {
  if (closed_) return;
  write_pending();
  if (!closed_) update_interest();
}

void Connection::add_output_file(size_t at, FileRange range) {
  OutputQueue& out = *output_;
  const uint64_t position = out.bytes_sent + at;
  if (at > out.bytes.size() || (!out.files.empty() && position < out.files.back().at))
    throw std::invalid_argument("add_output_file: position outside the output or out of order");
  if (range.length == 0) return;
  out.file_bytes += range.length;
  out.files.push_back({position, std::move(range)});
}

void Connection::when_output_written(std::function<void()> written) {
  // While frames are handled the output is the shared buffer and pending_ is
  // empty, or it is pending_ itself.
  const uint64_t end =
      written_ + pending_.size() + (output_ != &pending_ ? output_->size() : uint64_t{0});
  if (end == written_) return written();
  write_watches_.push_back({end, std::move(written)});
}

void Connection::count_written(uint64_t n) {
  written_ += n;
  while (!write_watches_.empty() && write_watches_.front().end <= written_) {
    std::function<void()> written = std::move(write_watches_.front().written);
    write_watches_.pop_front();
    written();
  }
}

void Connection::write_pending() {
  if (pending_.empty()) return;
  if (send_output(pending_) == WriteResult::failed) return close_now();
  if (pending_.empty()) {
    // Keep one drained buffer for the next connection that needs one: large
    // responses then land in memory already touched.
    if (pending_.bytes.capacity() > server_.spare_output_.capacity())
      server_.spare_output_.swap(pending_.bytes);
    pending_ = OutputQueue{};
    update_interest();
  }
}

Connection::WriteResult Connection::send_output(OutputQueue& out) {
  while (!out.empty()) {
    const uint64_t before_file =
        out.files.empty() ? out.bytes.size() : out.files.front().at - out.bytes_sent;
    size_t attempted = 0;
    ssize_t n = 0;
    if (before_file > 0) {
      // MSG_MORE: the bytes before a file range (a response's head) leave
      // with the range's first bytes, not as a small packet of their own.
      attempted = static_cast<size_t>(before_file);
      n = transmit(out.bytes.data(), attempted, MSG_NOSIGNAL | (out.files.empty() ? 0 : MSG_MORE));
      if (n > 0) {
        out.bytes.consume(static_cast<size_t>(n));
        out.bytes_sent += static_cast<uint64_t>(n);
        count_written(static_cast<uint64_t>(n));
      }
    } else {
      FileRange& range = out.files.front().range;
      n = send_file(range, out.files.size() > 1 || !out.bytes.empty(), attempted);
      if (n == 0) {
        // The file is shorter than the range (truncated since): the frame
        // this belongs to cannot be completed.
        spdlog::error("connection {} ({}): file ends before the range being sent, closing", id_,
                      peer_);
        return WriteResult::failed;
      }
      if (n > 0) {
        range.offset += static_cast<uint64_t>(n);
        range.length -= static_cast<uint64_t>(n);
        out.file_bytes -= static_cast<uint64_t>(n);
        if (range.length == 0) out.files.pop_front();
        count_written(static_cast<uint64_t>(n));
      }
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return WriteResult::blocked;
      spdlog::debug("connection {} ({}): write failed: {}", id_, peer_, io_error());
      return WriteResult::failed;
    }
    if (static_cast<size_t>(n) < attempted) return WriteResult::blocked;
  }
  return WriteResult::done;
}

ssize_t Connection::send_file(const FileRange& range, bool more_follows, size_t& attempted) {
  if (tls_) {
    // Kernel TLS encrypts in the kernel: the file goes out without a copy
    // here, whatever file_send says. Otherwise records need the bytes.
    if (!tls_->kernel_tls_send()) return copy_file(range, more_follows, attempted);
    attempted = static_cast<size_t>(std::min<uint64_t>(range.length, size_t{1} << 30));
    return tls_->send_file(range.fd, static_cast<off_t>(range.offset), attempted);
  }
  if (server_.options_.file_send == FileSendMode::kCopy)
    return copy_file(range, more_follows, attempted);
  attempted = static_cast<size_t>(range.length);
  auto offset = static_cast<off_t>(range.offset);
  return ::sendfile(fd_, range.fd, &offset, attempted);
}

ssize_t Connection::copy_file(const FileRange& range, bool more_follows, size_t& attempted) {
  // The chunk is read again if the socket does not take all of it: reading
  // is cheaper than keeping a copy per blocked connection.
  const size_t chunk = std::max<size_t>(server_.options_.file_copy_chunk, 4096);
  const size_t want = static_cast<size_t>(std::min<uint64_t>(range.length, chunk));
  uint8_t* buffer = server_.file_chunk_.prepare(want);
  ssize_t got = ::pread(range.fd, buffer, want, static_cast<off_t>(range.offset));
  if (got <= 0) {
    if (got < 0 && errno != EINTR) {
      const int error = errno;  // the caller reads it after logging
      spdlog::error("connection {} ({}): reading {} bytes at {} of the file being sent: {}", id_,
                    peer_, want, range.offset, std::strerror(error));
      errno = error;
    }
    attempted = want;
    return got;
  }
  attempted = static_cast<size_t>(got);
  const bool more = more_follows || static_cast<uint64_t>(got) < range.length;
  return transmit(buffer, attempted, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
}

void Connection::update_interest() {
  if (closed_ || lingering_) return;
  if (tls_ && !opened_) {
    // Mid-handshake: its steps set what is watched; a server shutting down
    // has nothing to answer it with.
    if (server_.draining_) close_now();
    return;
  }
  if ((closing_ || server_.draining_) && pending_.empty()) return linger();
  if (peer_closed_ && pending_.empty() && !held_ && !has_whole_frame()) return close_now();
  // EPOLLOUT also while whole frames wait (behind the high-water mark or the
  // per-turn bound): the socket is writable, so the next turn handles the next
  // batch. Nothing more is read from the client until they are handled.
  const bool frames_waiting = !blocked() && !closing_ && has_whole_frame();
  read_paused_ = closing_ || blocked() || server_.draining_ || peer_closed_ ||
                 pending_.size() > server_.options_.output_high_water || frames_waiting;
  uint32_t want =
      (read_paused_ ? 0u : uint32_t{EPOLLIN}) |
      (pending_.empty() && !frames_waiting && !tls_read_wants_write_ ? 0u : uint32_t{EPOLLOUT});
  if (want != interest_) {
    server_.loop_.modify(fd_, want);
    interest_ = want;
  }
  if (tls_ && !read_paused_ && tls_->has_buffered_input()) read_buffered_tls_input_later();
}

void Connection::close_after_flush() { closing_ = true; }

void Connection::close_now() {
  if (closed_) return;
  closed_ = true;
  write_watches_.clear();
  if (lingering_) server_.loop_.cancel(linger_timer_);
  if (handshake_timer_ != 0) server_.loop_.cancel(handshake_timer_);
  handshake_timer_ = 0;
  if (mute_timer_ != 0) server_.loop_.cancel(mute_timer_);
  mute_timer_ = 0;
  server_.release(*this);
}

// ----------------------------------------------------------------- TcpServer

TcpServer::TcpServer(EventLoop& loop, FrameHandler& handler, ServerOptions options)
    : loop_(loop), handler_(handler), options_(std::move(options)) {
  loop_.add_before_sleep([this] { reap_closed(); });
  if (options_.tls && options_.tls_handshake_threads > 0) {
    handshake_pool_ = std::make_unique<TlsHandshakePool>(
        TlsHandshakePool::Options{options_.tls_handshake_threads, options_.tls_handshakes_in_flight,
                                  options_.tls_handshake_nice});
    handshakes_done_.server = this;
    loop_.watch(handshake_pool_->completion_fd(), EPOLLIN, &handshakes_done_);
  }
}

TcpServer::~TcpServer() {
  stop_accepting();
  if (spare_input_timer_ != 0) loop_.cancel(spare_input_timer_);
  if (resume_accepting_timer_ != 0) loop_.cancel(resume_accepting_timer_);
  for (const auto& [timer, fd] : held_) {
    loop_.cancel(timer);
    ::close(fd);
  }
  for (auto& [id, conn] : connections_) {
    loop_.unwatch(conn->fd_);
    if (conn->handshake_timer_ != 0) loop_.cancel(conn->handshake_timer_);
  }
  if (handshake_pool_) {
    // The threads stop first (ending the steps they run): then no session or
    // socket is in other hands, and the connections close their own.
    loop_.unwatch(handshake_pool_->completion_fd());
    handshake_pool_.reset();
    for (auto& [id, conn] : connections_) conn->handshake_in_flight_ = false;
    for (auto& conn : closed_) conn->handshake_in_flight_ = false;
    for (const auto& [id, fd] : orphaned_sockets_) ::close(fd);
    orphaned_sockets_.clear();
  }
}

void TcpServer::queue_handshake_step(Connection& conn) {
  // Unwatched until the step is back: it stays readable meanwhile, and a
  // hang-up (which epoll reports whatever the mask) waits for it too.
  loop_.unwatch(conn.fd_);
  conn.interest_ = 0;
  conn.handshake_waiting_ = true;
  handshake_queue_.push_back(conn.id_);
  hand_over_handshake_steps();
}

void TcpServer::hand_over_handshake_steps() {
  while (!handshake_queue_.empty()) {
    auto it = connections_.find(handshake_queue_.front());
    if (it == connections_.end()) {  // closed while waiting
      handshake_queue_.pop_front();
      continue;
    }
    Connection& conn = *it->second;
    if (!handshake_pool_->submit(conn.id_, conn.tls_)) return;  // full: the rest wait
    handshake_queue_.pop_front();
    conn.handshake_waiting_ = false;
    conn.handshake_in_flight_ = true;
  }
}

void TcpServer::finish_handshake_steps() {
  for (const TlsHandshakePool::Done& done : handshake_pool_->take_done()) {
    auto it = connections_.find(done.tag);
    if (it == connections_.end()) {
      if (auto orphan = orphaned_sockets_.find(done.tag); orphan != orphaned_sockets_.end()) {
        ::close(orphan->second);
        orphaned_sockets_.erase(orphan);
      } else {
        // Closed but not yet freed (it is freed before the loop sleeps):
        // its socket is its own to close again.
        for (auto& conn : closed_)
          if (conn->id_ == done.tag) conn->handshake_in_flight_ = false;
      }
      continue;
    }
    Connection& conn = *it->second;
    conn.handshake_in_flight_ = false;
    loop_.watch(conn.fd_, 0, &conn);  // the step's result says for what
    conn.after_handshake_step(done.step);
  }
  hand_over_handshake_steps();
}

void TcpServer::keep_spare_input(ByteBuffer& buffer) {
  // Only one is kept, of bounded size: the larger of the two.
  if (buffer.capacity() > spare_input_.capacity() && buffer.capacity() <= kMaxSpareInputBytes)
    spare_input_.swap(buffer);
  buffer.release();
  spare_input_.clear();
  if (spare_input_.capacity() > 0 && spare_input_timer_ == 0)
    spare_input_timer_ =
        loop_.run_after(options_.spare_input_idle, [this] { check_spare_input(); });
}

void TcpServer::take_spare_input(ByteBuffer& buffer) {
  if (spare_input_.capacity() == 0) return;
  buffer.swap(spare_input_);
  spare_input_used_ = true;
}

void TcpServer::check_spare_input() {
  spare_input_timer_ = 0;
  if (!spare_input_used_) {
    spare_input_.release();  // idle: hold no memory for it
    return;
  }
  spare_input_used_ = false;
  if (spare_input_.capacity() > 0)
    spare_input_timer_ =
        loop_.run_after(options_.spare_input_idle, [this] { check_spare_input(); });
}

std::string listen_socket(const Endpoint& endpoint, int* fd_out, uint16_t* port_out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  // An empty host means every interface: one dual-stack IPv6 socket when the
  // machine has IPv6, so "localhost" works whichever address a client picks.
  const char* host = endpoint.host.empty() ? nullptr : endpoint.host.c_str();
  if (host == nullptr) hints.ai_family = AF_INET6;
  std::string port = std::to_string(endpoint.port);
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host, port.c_str(), &hints, &found);
  if (rc != 0 && host == nullptr) {
    hints.ai_family = AF_INET;
    rc = getaddrinfo(host, port.c_str(), &hints, &found);
  }
  if (rc != 0) return std::string("cannot resolve '") + endpoint.host + "': " + gai_strerror(rc);

  std::string error = "no usable address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (a->ai_family == AF_INET6 && host == nullptr)
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) < 0 || ::listen(fd, 4096) < 0) {
      error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof(bound);
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    *port_out = bound.ss_family == AF_INET6
                    ? ntohs(reinterpret_cast<sockaddr_in6&>(bound).sin6_port)
                    : ntohs(reinterpret_cast<sockaddr_in&>(bound).sin_port);
    *fd_out = fd;
    freeaddrinfo(found);
    return {};
  }
  freeaddrinfo(found);
  return "cannot listen on " + (endpoint.host.empty() ? std::string("*") : endpoint.host) + ":" +
         port + ": " + error;
}

std::string TcpServer::listen(const Endpoint& endpoint) {
  std::string error = listen_socket(endpoint, &listen_fd_, &bound_port_);
  if (error.empty()) loop_.watch(listen_fd_, EPOLLIN, this);
  return error;
}

void TcpServer::stop_accepting() {
  if (listen_fd_ < 0) return;
  loop_.unwatch(listen_fd_);
  ::close(listen_fd_);
  listen_fd_ = -1;
}

void TcpServer::drain() {
  draining_ = true;
  stop_accepting();
  std::vector<Connection*> all;
  all.reserve(connections_.size());
  for (auto& [id, conn] : connections_) all.push_back(conn.get());
  for (Connection* c : all) {
    c->write_pending();
    c->update_interest();
  }
}

void TcpServer::on_io(uint32_t /*events*/) { accept_ready(); }

void TcpServer::accept_ready() {
  for (int i = 0; i < kMaxAcceptsPerTurn && listen_fd_ >= 0; ++i) {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
        return;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: the listener would stay readable and spin the
        // loop, so stop watching it for a moment.
        spdlog::warn("accept failed: {}; pausing accepts for {} ms", std::strerror(errno),
                     kAcceptBackoff.count());
        loop_.unwatch(listen_fd_);
        loop_.run_after(kAcceptBackoff, [this] {
          if (listen_fd_ >= 0) loop_.watch(listen_fd_, EPOLLIN, this);
        });
        return;
      }
      spdlog::warn("accept failed: {}", std::strerror(errno));
      return;
    }
    if (connections_.size() >= options_.max_connections) {
      spdlog::warn("refusing connection from {}: {} connections open (max.connections)",
                   describe_peer(addr), connections_.size());
      ::close(fd);
      continue;
    }
    if (options_.admit) {
      const ServerOptions::Admission admission = options_.admit(peer_address(addr));
      if (admission.delay.count() > 0) {
        // Nothing more is accepted until this one's delay is over.
        hold(fd, describe_peer(addr), admission);
        return;
      }
      if (admission.close_after.count() > 0) {
        hold(fd, describe_peer(addr), admission);
        continue;
      }
    }
    open_connection(fd, describe_peer(addr));
  }
}

void TcpServer::hold(int fd, std::string peer, ServerOptions::Admission admission) {
  if (admission.delay.count() > 0) {
    if (listen_fd_ >= 0 && resume_accepting_timer_ == 0) {
      loop_.unwatch(listen_fd_);
      resume_accepting_timer_ = loop_.run_after(admission.delay, [this] {
        resume_accepting_timer_ = 0;
        if (listen_fd_ >= 0) loop_.watch(listen_fd_, EPOLLIN, this);
      });
    }
    spdlog::debug("connection from {}: held for {} ms (connection creation rate)", peer,
                  admission.delay.count());
  } else {
    spdlog::debug("connection from {}: closing in {} ms (connection creation rate)", peer,
                  admission.close_after.count());
  }
  // The socket waits unwatched: its bytes stay in the kernel meanwhile.
  auto timer = std::make_shared<EventLoop::TimerId>(0);
  const auto wait = admission.delay.count() > 0 ? admission.delay : admission.close_after;
  *timer = loop_.run_after(
      wait, [this, fd, timer, peer = std::move(peer), close_after = admission.close_after,
             delayed = admission.delay.count() > 0]() mutable {
        held_.erase(*timer);
        if (delayed && close_after.count() > 0) {
          hold(fd, std::move(peer), {std::chrono::milliseconds(0), close_after});
          return;
        }
        if (close_after.count() > 0 || draining_) {
          ::close(fd);
          return;
        }
        open_connection(fd, std::move(peer));
      });
  held_.emplace(*timer, fd);
}

void TcpServer::open_connection(int fd, std::string peer) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  uint64_t id = next_id_++;
  auto conn = std::make_unique<Connection>(*this, fd, id, std::move(peer));
  Connection& c = *conn;
  connections_.emplace(id, std::move(conn));
  c.interest_ = EPOLLIN;
  loop_.watch(fd, EPOLLIN, &c);
  spdlog::debug("connection {} from {}", id, c.peer());
  if (options_.tls) {
    // The handler meets the connection once its handshake is done.
    c.tls_ = std::make_shared<TlsSession>(*options_.tls, fd);
    c.handshake_timer_ = loop_.run_after(options_.tls_handshake_timeout, [this, id] {
      auto it = connections_.find(id);
      if (it == connections_.end()) return;
      Connection& late = *it->second;
      late.handshake_timer_ = 0;
      spdlog::info("connection {} ({}): no TLS handshake within {} ms, closing", id, late.peer(),
                   options_.tls_handshake_timeout.count());
      late.close_now();
    });
    return;
  }
  c.opened_ = true;
  handler_.on_open(c);
}

void TcpServer::release(Connection& conn) {
  loop_.unwatch(conn.fd_);
  if (conn.opened_) handler_.on_close(conn);
  auto it = connections_.find(conn.id_);
  if (it == connections_.end()) return;
  // The connection may be inside its own callback: free it before sleeping.
  closed_.push_back(std::move(it->second));
  connections_.erase(it);
}

void TcpServer::reap_closed() { closed_.clear(); }

}  // namespace kb::net
