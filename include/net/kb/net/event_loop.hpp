#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kb::net {

// Something that owns a file descriptor watched by the loop.
class IoHandler {
 public:
  virtual ~IoHandler() = default;
  virtual void on_io(uint32_t events) = 0;
};

// A single-threaded epoll loop (level-triggered) with timers and hooks that run
// once per turn before the loop sleeps. It knows file descriptors, masks,
// timers and callbacks; nothing about what the bytes mean.
class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using TimerId = uint64_t;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  void watch(int fd, uint32_t events, IoHandler* handler);
  void modify(int fd, uint32_t events);
  // After unwatch, events already collected for fd in this turn are dropped.
  void unwatch(int fd);

  TimerId run_after(std::chrono::milliseconds delay, std::function<void()> callback);
  void cancel(TimerId id);
  size_t pending_timers() const { return timers_.size(); }

  void add_before_sleep(std::function<void()> hook);

  // Runs `task` in the next turn, after that turn's I/O events (the loop does
  // not sleep while tasks wait): long work split into steps lets every other
  // connection be served between two of them.
  void post(std::function<void()> task);
  size_t posted_tasks() const { return posted_.size(); }

  // Runs until stop() is called (from a callback or a hook).
  void run();
  void stop() { running_ = false; }

  // The time at the start of the current turn (cheap, and the same for every
  // callback of one turn).
  Clock::time_point now() const { return now_; }

  // The longest turn (its work, not its sleep) since the last call: how long
  // a client may have waited for the loop. Gone through at a scrape.
  Clock::duration take_longest_turn() { return std::exchange(longest_turn_, Clock::duration{}); }

 private:
  struct Watch {
    IoHandler* handler = nullptr;
    uint32_t generation = 0;
  };
  struct TimerEntry {
    Clock::time_point deadline;
    TimerId id;
    bool operator>(const TimerEntry& o) const {
      return deadline != o.deadline ? deadline > o.deadline : id > o.id;
    }
  };

  int next_timeout_ms() const;
  void run_due_timers();

  int epoll_fd_ = -1;
  bool running_ = false;
  Clock::time_point now_;
  Clock::duration longest_turn_{};
  std::vector<Watch> watches_;  // indexed by fd
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timer_queue_;
  std::unordered_map<TimerId, std::function<void()>> timers_;
  TimerId next_timer_id_ = 1;
  std::vector<std::function<void()>> before_sleep_;
  std::vector<std::function<void()>> posted_;  // run in the next turn
  std::vector<std::function<void()>> running_posted_;
};

}  // namespace kb::net
