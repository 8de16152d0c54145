#include "kb/net/event_loop.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace kb::net {

namespace {
constexpr int kMaxEventsPerTurn = 256;

[[noreturn]] void throw_errno(const char* what) {
  throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

uint64_t pack(int fd, uint32_t generation) {
  return (static_cast<uint64_t>(generation) << 32) | static_cast<uint32_t>(fd);
}
}  // namespace

EventLoop::EventLoop() : now_(Clock::now()) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw_errno("epoll_create1");
}

EventLoop::~EventLoop() {
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void EventLoop::watch(int fd, uint32_t events, IoHandler* handler) {
  if (static_cast<size_t>(fd) >= watches_.size()) watches_.resize(static_cast<size_t>(fd) + 1);
  Watch& w = watches_[static_cast<size_t>(fd)];
  w.handler = handler;
  ++w.generation;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = pack(fd, w.generation);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) < 0) throw_errno("epoll_ctl(ADD)");
}

void EventLoop::modify(int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = pack(fd, watches_[static_cast<size_t>(fd)].generation);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) < 0) throw_errno("epoll_ctl(MOD)");
}

void EventLoop::unwatch(int fd) {
  if (static_cast<size_t>(fd) >= watches_.size()) return;
  Watch& w = watches_[static_cast<size_t>(fd)];
  w.handler = nullptr;
  ++w.generation;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::TimerId EventLoop::run_after(std::chrono::milliseconds delay,
                                        std::function<void()> callback) {
  TimerId id = next_timer_id_++;
  timers_.emplace(id, std::move(callback));
  timer_queue_.push({Clock::now() + delay, id});
  return id;
}

void EventLoop::cancel(TimerId id) { timers_.erase(id); }

void EventLoop::add_before_sleep(std::function<void()> hook) {
  before_sleep_.push_back(std::move(hook));
}

void EventLoop::post(std::function<void()> task) { posted_.push_back(std::move(task)); }

int EventLoop::next_timeout_ms() const {
  if (!running_posted_.empty() || !posted_.empty()) return 0;
  if (timers_.empty()) return -1;
  auto wait = timer_queue_.top().deadline - Clock::now();
  if (wait <= Clock::duration::zero()) return 0;
  // Round up so a timer never fires early.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  return static_cast<int>(std::min<int64_t>(ms, 60'000));
}

void EventLoop::run_due_timers() {
  while (!timer_queue_.empty()) {
    TimerEntry top = timer_queue_.top();
    auto it = timers_.find(top.id);
    if (it == timers_.end()) {  // cancelled
      timer_queue_.pop();
      continue;
    }
    if (top.deadline > now_) break;
    timer_queue_.pop();
    auto callback = std::move(it->second);
    timers_.erase(it);
    callback();
  }
  // Cancelled entries would otherwise pile up behind a far-away deadline.
  if (timers_.empty()) timer_queue_ = {};
}

void EventLoop::run() {
  running_ = true;
  epoll_event events[kMaxEventsPerTurn];
  now_ = Clock::now();
  while (running_) {
    // By index: a hook may add another (which would invalidate a range-for).
    // NOLINTNEXTLINE(modernize-loop-convert)
    for (size_t i = 0; i < before_sleep_.size(); ++i) before_sleep_[i]();
    // The turn's work ends here: from its events to its hooks, without the
    // sleep.
    longest_turn_ = std::max(longest_turn_, Clock::now() - now_);
    if (!running_) break;
    // (Appended: after EINTR the tasks taken last time are still waiting.)
    if (running_posted_.empty()) {
      running_posted_.swap(posted_);
    } else {
      for (auto& task : posted_) running_posted_.push_back(std::move(task));
      posted_.clear();
    }
    int n = epoll_wait(epoll_fd_, events, kMaxEventsPerTurn, next_timeout_ms());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("epoll_wait");
    }
    now_ = Clock::now();
    for (int i = 0; i < n; ++i) {
      auto fd = static_cast<size_t>(events[i].data.u64 & 0xffffffffu);
      auto generation = static_cast<uint32_t>(events[i].data.u64 >> 32);
      if (fd >= watches_.size()) continue;
      const Watch& w = watches_[fd];
      if (w.handler == nullptr || w.generation != generation) continue;
      w.handler->on_io(events[i].events);
    }
    run_due_timers();
    // Tasks posted before this turn's I/O; those posted since wait for the
    // next turn: a task that posts itself again runs once per turn, after the
    // I/O of each.
    for (auto& task : running_posted_) task();
    running_posted_.clear();
  }
}

}  // namespace kb::net
