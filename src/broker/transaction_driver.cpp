#include "kb/broker/transaction_driver.hpp"

#include <algorithm>
#include <chrono>

namespace kb::broker {

namespace {

txn::Millis wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TransactionDriver::TransactionDriver(net::EventLoop& loop, txn::TransactionCoordinator& coordinator)
    : loop_(loop), coordinator_(coordinator) {
  loop_.add_before_sleep([this] { reschedule(); });
}

TransactionDriver::~TransactionDriver() {
  if (timer_at_) loop_.cancel(timer_);
}

void TransactionDriver::reschedule() {
  const std::optional<txn::Millis> next = coordinator_.next_deadline();
  if (next == timer_at_) return;
  if (timer_at_) loop_.cancel(timer_);
  timer_at_ = next;
  if (!next) return;
  const auto delay = std::chrono::milliseconds(std::max<txn::Millis>(*next - wall_ms(), 0));
  timer_ = loop_.run_after(delay, [this] {
    timer_at_.reset();
    coordinator_.advance(wall_ms());
  });
}

}  // namespace kb::broker
