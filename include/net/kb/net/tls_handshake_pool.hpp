#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "kb/net/tls.hpp"

namespace kb::net {

// Runs steps of TLS handshakes (key exchange, signing, certificate checks:
// the costly part of a connection's life) on helper threads, so the event
// loop serves its other clients meanwhile. A step is one TlsSession::handshake()
// call: it reads what the socket holds, answers, and stops where it must wait
// for the peer, as it would on the loop. The loop hands over a session and
// does not touch it (nor read or close its socket) until the step comes back
// through take_done(); completion_fd() becomes readable when one has.
//
// At most max_in_flight steps are queued or running: submit() refuses more,
// and the caller keeps the connection waiting, unread, in its own order.
class TlsHandshakePool {
 public:
  struct Options {
    size_t threads = 2;
    size_t max_in_flight = 32;
    int nice = 0;  // helper threads' priority below the loop's
  };
  struct Done {
    uint64_t tag = 0;
    TlsSession::Step step = TlsSession::Step::kFailed;
  };

  explicit TlsHandshakePool(Options options);
  // Finishes the steps being run (each is short: no step waits for the peer)
  // and drops those not started.
  ~TlsHandshakePool();
  TlsHandshakePool(const TlsHandshakePool&) = delete;
  TlsHandshakePool& operator=(const TlsHandshakePool&) = delete;

  // Queues a step of `session`'s handshake, to come back with `tag`. false:
  // max_in_flight steps are already queued or running.
  bool submit(uint64_t tag, std::shared_ptr<TlsSession> session);
  // The steps done since the last call (in the order they finished).
  std::vector<Done> take_done();
  int completion_fd() const { return event_fd_; }
  size_t in_flight() const;

 private:
  struct Job {
    uint64_t tag;
    std::shared_ptr<TlsSession> session;
  };
  void run();

  Options options_;
  int event_fd_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::deque<Job> queue_;
  std::vector<Done> done_;
  size_t in_flight_ = 0;  // queued, running, or done and not yet taken
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace kb::net
