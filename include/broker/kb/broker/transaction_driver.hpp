#pragma once

#include <optional>

#include "kb/net/event_loop.hpp"
#include "kb/txn/coordinator.hpp"

namespace kb::broker {

// Runs the transaction coordinator's timed work on the loop: one timer for
// its next deadline (transactions past their timeout aborted, idle
// transactional ids expired, failed markers written again), set again
// before the loop sleeps whenever the deadline moved.
class TransactionDriver {
 public:
  TransactionDriver(net::EventLoop& loop, txn::TransactionCoordinator& coordinator);
  ~TransactionDriver();
  TransactionDriver(const TransactionDriver&) = delete;
  TransactionDriver& operator=(const TransactionDriver&) = delete;

 private:
  void reschedule();

  net::EventLoop& loop_;
  txn::TransactionCoordinator& coordinator_;
  net::EventLoop::TimerId timer_ = 0;
  std::optional<txn::Millis> timer_at_;
};

}  // namespace kb::broker
