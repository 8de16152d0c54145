#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kb/base/byte_buffer.hpp"
#include "kb/base/file_range.hpp"
#include "kb/net/event_loop.hpp"
#include "kb/net/tls.hpp"
#include "kb/net/tls_handshake_pool.hpp"

namespace kb::net {

class TcpServer;

// Output waiting for the socket: bytes, with file ranges to send between them.
struct OutputQueue {
  struct File {
    uint64_t at;  // the range goes out once this many bytes have been sent
    FileRange range;
  };
  ByteBuffer bytes;
  std::deque<File> files;
  uint64_t bytes_sent = 0;  // bytes taken from the front of `bytes` so far
  uint64_t file_bytes = 0;  // what `files` still hold

  size_t size() const { return bytes.size() + file_bytes; }
  bool empty() const { return bytes.empty() && files.empty(); }
  void clear() {
    bytes.clear();
    files.clear();
    bytes_sent = 0;
    file_bytes = 0;
  }
};

// One accepted client. Frames are int32 big-endian length-prefixed; whole
// frames go to the FrameHandler and what it appends to output() is written
// back in the same order. On a TLS listener the frames travel inside TLS
// records: the handshake comes first (FrameHandler::on_open follows it; its
// steps run on the server's handshake threads when it has them), and file
// ranges are read into a buffer and written as records unless the
// kernel encrypts (kernel TLS, then sendfile).
class Connection final : public IoHandler {
 public:
  Connection(TcpServer& server, int fd, uint64_t id, std::string peer);
  ~Connection() override;

  uint64_t id() const { return id_; }
  const std::string& peer() const { return peer_; }

  // The TLS session once established (null on a plaintext listener).
  const TlsSession* tls() const { return tls_ && opened_ ? tls_.get() : nullptr; }
  // Who the layer above decided the client is (it sets it, in on_open or
  // later); the net layer only keeps it with the connection.
  std::string_view principal() const { return principal_; }
  void set_principal(std::string principal) { principal_ = std::move(principal); }

  // Where responses are appended. While frames are being handled this is a
  // buffer shared by all connections (so idle connections own no memory);
  // otherwise it is the connection's own pending output. Call flush() after
  // appending outside on_frame.
  ByteBuffer& output() { return output_->bytes; }
  // The output with its file ranges (what a test or fuzzer checks).
  const OutputQueue& output_queue() const { return *output_; }
  // Sends the bytes of `range` after the first `at` bytes of output() (at most
  // output().size(), and not before a range added earlier), straight from the
  // file: they never pass through user space.
  void add_output_file(size_t at, FileRange range);
  void flush();
  // Calls `written` once the socket has taken every byte (and file range)
  // appended to the output so far: at once if nothing is waiting. Never called
  // if the connection closes first. The layer above uses it to time how long
  // a response took to leave.
  void when_output_written(std::function<void()> written);

  // Stops handling further frames; the connection closes once what is already
  // in output() has been written.
  void close_after_flush();
  bool closing() const { return closing_; }

  // Bytes not yet written, file ranges included.
  size_t pending_output() const { return pending_.size(); }

  // Stops handling further frames (they stay buffered, and reading pauses)
  // until resume(): a request whose answer comes later holds its connection,
  // so responses keep request order, as Kafka does.
  void hold() { held_ = true; }
  void resume();
  bool held() const { return held_; }

  // Throttling (a client over its quota): like hold(), no further frame is
  // handled and reading pauses, until `time` from now; what is already in
  // output() still goes out. A second mute ends at the later of the two ends.
  void mute_for(std::chrono::milliseconds time);
  bool muted() const { return muted_; }

  // Inside the server's frame loop: the frame being handled, and those
  // handled before it in the same loop, stay in memory until
  // FrameHandler::on_frames_handled() returns.
  bool in_frame_loop() const { return in_handle_frames_; }

  void on_io(uint32_t events) override;

 private:
  friend class TcpServer;

  enum class WriteResult { done, blocked, failed };

  void read_input();
  // recv, or TLS records' plaintext: what read_input takes in.
  ssize_t receive(uint8_t* buffer, size_t size);
  // send, or TLS records.
  ssize_t transmit(const uint8_t* data, size_t size, int flags);
  void continue_handshake();
  // What a handshake step's result means for the connection (on the loop,
  // wherever the step ran).
  void after_handshake_step(TlsSession::Step step);
  // TLS keeps decrypted input that epoll no longer reports: read it in the
  // next turn.
  void read_buffered_tls_input_later();
  // errno's meaning, or the TLS error behind EPROTO.
  std::string io_error() const;
  void handle_frames(ByteBuffer& in);
  void write_pending();
  // Counts `n` more bytes taken by the socket and calls the
  // when_output_written callbacks that were waiting for them.
  void count_written(uint64_t n);
  // Writes what the socket takes of `out`; logs a failure.
  WriteResult send_output(OutputQueue& out);
  // Sends from the front of `range`; `attempted` is how much it tried to send.
  ssize_t send_file(const FileRange& range, bool more_follows, size_t& attempted);
  ssize_t copy_file(const FileRange& range, bool more_follows, size_t& attempted);
  void update_interest();
  bool has_whole_frame() const;
  // Graceful close: send FIN, drop whatever still arrives, close on EOF or
  // after a bound.
  void linger();
  void discard_input();
  void close_now();
  void unmute();
  // Frames are not handled now (held or muted).
  bool blocked() const { return held_ || muted_; }

  TcpServer& server_;
  int fd_;
  uint64_t id_;
  std::string peer_;
  ByteBuffer input_;     // a partial frame carried over between reads
  OutputQueue pending_;  // output the socket has not taken yet
  OutputQueue* output_;
  uint32_t interest_ = 0;
  bool closing_ = false;
  bool closed_ = false;
  bool read_paused_ = false;
  bool held_ = false;
  bool muted_ = false;
  EventLoop::TimerId mute_timer_ = 0;
  EventLoop::Clock::time_point mute_until_{};
  bool lingering_ = false;
  bool peer_closed_ = false;       // EOF read: no more input will come
  bool in_handle_frames_ = false;  // inside the frame loop (resume() must not re-enter it)
  EventLoop::TimerId linger_timer_ = 0;
  // Shared with the handshake thread running a step of it (the step's socket
  // I/O included): meanwhile the loop leaves the session and the socket alone.
  std::shared_ptr<TlsSession> tls_;
  bool handshake_in_flight_ = false;  // a step is queued or running on a handshake thread
  bool handshake_waiting_ = false;    // in the server's queue for a handshake thread
  bool opened_ = false;               // on_open was called (so on_close will be)
  bool tls_read_posted_ = false;      // read_buffered_tls_input_later is pending
  bool tls_read_wants_write_ = false;
  EventLoop::TimerId handshake_timer_ = 0;
  std::string principal_;
  struct WriteWatch {
    uint64_t end;  // written_ once the output it waits for has gone
    std::function<void()> written;
  };
  uint64_t written_ = 0;  // bytes (file ranges included) the socket has taken
  std::deque<WriteWatch> write_watches_;
};

// What the layer above provides: it turns request frames into responses.
class FrameHandler {
 public:
  virtual ~FrameHandler() = default;
  virtual void on_open(Connection& /*conn*/) {}
  // frame excludes the 4-byte size prefix. It is valid during the call, and
  // when conn.in_frame_loop(), until on_frames_handled.
  virtual void on_frame(Connection& conn, std::span<const uint8_t> frame) = 0;
  // After the frames read together were handled (on_frame each), before
  // their responses are written: the last moment their bytes are there.
  // false: the connection closes at once, nothing of the output is sent.
  virtual bool on_frames_handled(Connection& /*conn*/) { return true; }
  virtual void on_close(Connection& /*conn*/) {}
};

enum class FileSendMode { kSendfile, kCopy };

struct ServerOptions {
  // Frames declaring a size outside [min, max] close the connection.
  size_t min_frame_size = 8;
  size_t max_frame_size = size_t{100} * 1024 * 1024;
  // A connection whose unsent output exceeds this is not read until it drains.
  size_t output_high_water = size_t{4} * 1024 * 1024;
  // Bytes read from one connection in one turn (bounded so no client starves others).
  size_t read_chunk = size_t{64} * 1024;
  // Frames of one connection handled in one turn: the rest wait for the next
  // turn (reading from it pauses meanwhile), so a client pipelining many
  // requests takes its turn like the others.
  size_t max_frames_per_turn = 16;
  // Further connections are accepted and closed at once.
  size_t max_connections = 100'000;
  // How file ranges in the output reach the socket: pread into one reused
  // buffer of file_copy_chunk bytes and send, or sendfile (no copy in this
  // process, from the page cache). On the 2-CPU VM this was measured on, the
  // copy delivered more MB/s to a loopback consumer (it won every one of 8
  // interleaved rounds, by 2-30%), though sendfile spent ~10% less CPU per GB.
  FileSendMode file_send = FileSendMode::kCopy;
  size_t file_copy_chunk = size_t{1024} * 1024;
  // A large frame's buffer is kept for the next large frame (of any
  // connection) and freed once it goes unused for about this long.
  std::chrono::milliseconds spare_input_idle{2000};
  // Set: connections speak TLS. A handshake not done within the timeout
  // closes its connection, so half-open handshakes hold nothing for long.
  std::shared_ptr<const TlsContext> tls;
  std::chrono::milliseconds tls_handshake_timeout{10000};
  // Handshake steps (their cryptography) run on this many helper threads, so
  // a flood of handshakes delays the loop's other clients by little; 0: on
  // the loop. At most tls_handshakes_in_flight steps are handed over at once;
  // further connections wait their turn, unread (the timeout still applies).
  // The threads run tls_handshake_nice levels below the loop, which then
  // comes first when both want the same CPU.
  size_t tls_handshake_threads = 2;
  size_t tls_handshakes_in_flight = 32;
  int tls_handshake_nice = 5;
  // What happens to each accepted connection, asked with the peer's address
  // (no port); null: every one is served at once. `delay`: the connection is
  // held, unread, and nothing more is accepted until it passes. `close_after`:
  // the connection is never served and is closed once that much time has
  // passed (after any delay). A rate limit, as Kafka's acceptor applies its
  // connection quotas, without blocking the loop.
  struct Admission {
    std::chrono::milliseconds delay{0};
    std::chrono::milliseconds close_after{0};
  };
  std::function<Admission(std::string_view peer_address)> admit;
};

struct Endpoint {
  std::string host;  // empty: every interface
  uint16_t port = 0;
};

// Opens a non-blocking listening socket on `endpoint` (port 0: a free port);
// an empty host listens on every interface. Returns an error message, empty
// on success with the socket in *fd and its port in *port.
std::string listen_socket(const Endpoint& endpoint, int* fd, uint16_t* port);

class TcpServer final : public IoHandler {
 public:
  TcpServer(EventLoop& loop, FrameHandler& handler, ServerOptions options);
  ~TcpServer() override;

  // Binds and listens; port 0 picks a free port (see bound_port()).
  // Returns an error message, empty on success.
  std::string listen(const Endpoint& endpoint);
  uint16_t bound_port() const { return bound_port_; }

  void stop_accepting();
  // Shutdown: stop reading requests, close every connection once its output
  // is written.
  void drain();
  size_t connection_count() const { return connections_.size(); }
  // Connections whose next handshake step waits for a handshake thread (an
  // upper bound: some of them may have closed since).
  size_t handshake_steps_waiting() const { return handshake_queue_.size(); }
  EventLoop& loop() { return loop_; }
  const ServerOptions& options() const { return options_; }

  void on_io(uint32_t events) override;

 private:
  friend class Connection;

  void accept_ready();
  // Serves an accepted socket from now on.
  void open_connection(int fd, std::string peer);
  // An accepted socket the admission holds back (see ServerOptions::admit).
  void hold(int fd, std::string peer, ServerOptions::Admission admission);
  void release(Connection& conn);
  void reap_closed();
  // Handshake steps on the pool: queue the connection's next step (in
  // arrival order), hand waiting steps over while the pool takes them, and
  // take back the finished ones.
  void queue_handshake_step(Connection& conn);
  void hand_over_handshake_steps();
  void finish_handshake_steps();
  // A large partial-frame buffer kept warm between frames (spare_input_),
  // returned to the allocator once a check finds it unused since the last.
  void keep_spare_input(ByteBuffer& buffer);
  void take_spare_input(ByteBuffer& buffer);
  void check_spare_input();

  EventLoop& loop_;
  FrameHandler& handler_;
  ServerOptions options_;
  int listen_fd_ = -1;
  uint16_t bound_port_ = 0;
  uint64_t next_id_ = 1;
  bool draining_ = false;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::vector<std::unique_ptr<Connection>> closed_;  // freed before sleeping
  ByteBuffer shared_input_;
  OutputQueue shared_output_;
  bool shared_output_in_use_ = false;
  ByteBuffer spare_output_;  // a drained connection buffer kept warm for reuse
  ByteBuffer spare_input_;   // the same for a connection's partial-frame buffer
  bool spare_input_used_ = false;
  EventLoop::TimerId spare_input_timer_ = 0;
  // Sockets held back by the admission, by the timer that lets them go,
  // and the timer that resumes accepting after a delay.
  std::unordered_map<EventLoop::TimerId, int> held_;
  EventLoop::TimerId resume_accepting_timer_ = 0;
  ByteBuffer file_chunk_;  // FileSendMode::kCopy: file bytes on their way to a socket
  // Set when options_.tls and tls_handshake_threads > 0.
  struct HandshakesDone final : IoHandler {
    TcpServer* server = nullptr;
    void on_io(uint32_t /*events*/) override { server->finish_handshake_steps(); }
  };
  std::unique_ptr<TlsHandshakePool> handshake_pool_;
  HandshakesDone handshakes_done_;
  std::deque<uint64_t> handshake_queue_;  // connection ids, some of them closed since
  // Sockets of connections closed while a step of their handshake ran: closed
  // once it is back (the thread may be reading them until then).
  std::unordered_map<uint64_t, int> orphaned_sockets_;
  // Expires with the server: tasks posted for its connections check it.
  std::shared_ptr<const int> lifetime_ = std::make_shared<const int>(0);
};

}  // namespace kb::net
