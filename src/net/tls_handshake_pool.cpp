#include "kb/net/tls_handshake_pool.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "kb/base/helper_thread.hpp"

namespace kb::net {

TlsHandshakePool::TlsHandshakePool(Options options) : options_(options) {
  options_.threads = std::max<size_t>(options_.threads, 1);
  options_.max_in_flight = std::max(options_.max_in_flight, options_.threads);
  event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  for (size_t i = 0; i < options_.threads; ++i)
    threads_.push_back(start_helper_thread(options_.nice, [this] { run(); }));
}

TlsHandshakePool::~TlsHandshakePool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  work_ready_.notify_all();
  for (auto& t : threads_) t.join();
  ::close(event_fd_);
}

bool TlsHandshakePool::submit(uint64_t tag, std::shared_ptr<TlsSession> session) {
  {
    std::lock_guard lock(mutex_);
    if (in_flight_ >= options_.max_in_flight) return false;
    ++in_flight_;
    queue_.push_back({tag, std::move(session)});
  }
  work_ready_.notify_one();
  return true;
}

std::vector<TlsHandshakePool::Done> TlsHandshakePool::take_done() {
  uint64_t count = 0;
  // The counter first: a step finishing after it sets it again.
  while (::read(event_fd_, &count, sizeof(count)) < 0 && errno == EINTR) {
  }
  std::lock_guard lock(mutex_);
  std::vector<Done> out;
  out.swap(done_);
  in_flight_ -= out.size();
  return out;
}

size_t TlsHandshakePool::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

void TlsHandshakePool::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    const TlsSession::Step step = job.session->handshake();
    // The session goes back to the loop's hands before the loop hears of it.
    job.session.reset();
    {
      std::lock_guard lock(mutex_);
      done_.push_back({job.tag, step});
    }
    const uint64_t one = 1;
    while (::write(event_fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
    }
  }
}

}  // namespace kb::net
