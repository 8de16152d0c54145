// Tests for kb::net::EventLoop: timer ordering and cancellation, timers added
// from callbacks, before-sleep hooks, now(), and fd readiness with watch,
// modify and unwatch (on pipes).

#include "kb/net/event_loop.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace kb::net {
namespace {

using namespace std::chrono_literals;
using Clock = EventLoop::Clock;

// Every test arms one of these so a broken loop fails instead of hanging.
constexpr auto kWatchdog = 3000ms;

class Pipe {
 public:
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0) {
      read_fd = fds[0];
      write_fd = fds[1];
    }
  }
  ~Pipe() {
    if (read_fd >= 0) ::close(read_fd);
    if (write_fd >= 0) ::close(write_fd);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;

  bool put(char c) { return ::write(write_fd, &c, 1) == 1; }
  // Reads everything available; returns how many bytes.
  size_t drain() {
    char buf[64];
    size_t total = 0;
    ssize_t n;
    while ((n = ::read(read_fd, buf, sizeof(buf))) > 0) total += static_cast<size_t>(n);
    return total;
  }

  int read_fd = -1;
  int write_fd = -1;
};

class CallbackHandler : public IoHandler {
 public:
  explicit CallbackHandler(std::function<void(uint32_t)> fn) : fn_(std::move(fn)) {}
  void on_io(uint32_t events) override { fn_(events); }

 private:
  std::function<void(uint32_t)> fn_;
};

// ------------------------------------------------------------------ timers

TEST(EventLoopTimers, FireInDeadlineOrderAndNeverEarly) {
  EventLoop loop;
  std::vector<int> fired;
  const auto start = Clock::now();
  for (int delay_ms : {30, 5, 20, 0, 10}) {
    loop.run_after(std::chrono::milliseconds(delay_ms), [&, delay_ms] {
      EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(delay_ms))
          << "timer of " << delay_ms << " ms fired early";
      fired.push_back(delay_ms);
      if (delay_ms == 30) loop.stop();
    });
  }
  auto watchdog = loop.run_after(kWatchdog, [&] { loop.stop(); });
  loop.run();
  loop.cancel(watchdog);
  EXPECT_EQ(fired, (std::vector<int>{0, 5, 10, 20, 30}));
}

TEST(EventLoopTimers, CancelledTimerDoesNotFire) {
  EventLoop loop;
  std::vector<std::string> fired;
  loop.run_after(10ms, [&] { fired.push_back("kept"); });
  auto cancelled = loop.run_after(5ms, [&] { fired.push_back("cancelled"); });
  loop.run_after(30ms, [&] { loop.stop(); });
  EXPECT_EQ(loop.pending_timers(), 3u);
  loop.cancel(cancelled);
  EXPECT_EQ(loop.pending_timers(), 2u);
  auto watchdog = loop.run_after(kWatchdog, [&] { loop.stop(); });
  loop.run();
  loop.cancel(watchdog);
  EXPECT_EQ(fired, (std::vector<std::string>{"kept"}));
  EXPECT_EQ(loop.pending_timers(), 0u);
}

TEST(EventLoopTimers, CallbackCanCancelAnotherTimerDueInTheSameTurn) {
  EventLoop loop;
  std::vector<std::string> fired;
  EventLoop::TimerId second = 0;
  // Same delay, scheduled back to back: both are due in the same turn (or the
  // second in a later one); either way the second must never run.
  loop.run_after(5ms, [&] {
    fired.push_back("first");
    loop.cancel(second);
  });
  second = loop.run_after(5ms, [&] { fired.push_back("second"); });
  loop.run_after(25ms, [&] { loop.stop(); });
  auto watchdog = loop.run_after(kWatchdog, [&] { loop.stop(); });
  loop.run();
  loop.cancel(watchdog);
  EXPECT_EQ(fired, (std::vector<std::string>{"first"}));
}

TEST(EventLoopTimers, CancellingAFiredOrUnknownTimerIsHarmless) {
  EventLoop loop;
  int fired = 0;
  auto id = loop.run_after(0ms, [&] {
    ++fired;
    loop.stop();
  });
  auto watchdog = loop.run_after(kWatchdog, [&] { loop.stop(); });
  loop.run();
  loop.cancel(watchdog);
  loop.cancel(id);         // already fired
  loop.cancel(id + 1000);  // never existed
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(loop.pending_timers(), 0u);
}

TEST(EventLoopTimers, TimerAddedFromACallbackRuns) {
  EventLoop loop;
  std::vector<std::string> fired;
  loop.run_after(0ms, [&] {
    fired.push_back("outer");
    loop.run_after(0ms, [&] {
      fired.push_back("inner, no delay");
      loop.run_after(5ms, [&] {
        fired.push_back("inner, delayed");
        loop.stop();
      });
    });
  });
  auto watchdog = loop.run_after(kWatchdog, [&] { loop.stop(); });
  loop.run();
  loop.cancel(watchdog);
  EXPECT_EQ(fired, (std::vector<std::string>{"outer", "inner, no delay", "inner, delayed"}));
}

TEST(EventLoopTimers, PendingTimersCountsScheduledTimersOnly) {
  EventLoop loop;
  EXPECT_EQ(loop.pending_timers(), 0u);
  auto a = loop.run_after(1h, [] {});
  loop.run_after(0ms, [&] {
    EXPECT_EQ(loop.pending_timers(), 1u);  // only `a` is left; this one is running
    loop.stop();
  });
  EXPECT_EQ(loop.pending_timers(), 2u);
  loop.run();
  EXPECT_EQ(loop.pending_timers(), 1u);
  loop.cancel(a);
  EXPECT_EQ(loop.pending_timers(), 0u);
}

// ------------------------------------------------------- before-sleep hooks

TEST(EventLoopHooks, RunInOrderBeforeEverySleep) {
  EventLoop loop;
  std::vector<std::string> log;
  loop.add_before_sleep([&] { log.push_back("a"); });
  loop.add_before_sleep([&] { log.push_back("b"); });
  // Three turns of timers, the last one stops the loop.
  loop.run_after(0ms, [&] {
    log.push_back("t1");
    loop.run_after(0ms, [&] {
      log.push_back("t2");
      loop.run_after(0ms, [&] {
        log.push_back("t3");
        loop.stop();
      });
    });
  });
  auto watchdog = loop.run_after(kWatchdog, [&] { loop.stop(); });
  loop.run();
  loop.cancel(watchdog);
  EXPECT_EQ(log, (std::vector<std::string>{"a", "b", "t1", "a", "b", "t2", "a", "b", "t3"}));
}

TEST(EventLoopHooks, StopFromAHookReturnsWithoutSleeping) {
  EventLoop loop;
  int hook_runs = 0;
  bool timer_fired = false;
  loop.add_before_sleep([&] {
    ++hook_runs;
    loop.stop();
  });
  auto far = loop.run_after(kWatchdog, [&] {
    timer_fired = true;
    loop.stop();
  });
  const auto start = Clock::now();
  loop.run();
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_EQ(hook_runs, 1);
  EXPECT_FALSE(timer_fired);
  loop.cancel(far);
}

TEST(EventLoopHooks, HookCanStopTheLoopAfterSomeTurns) {
  EventLoop loop;
  int turns = 0;
  int timer_runs = 0;
  std::function<void()> tick = [&] {
    ++timer_runs;
    loop.run_after(0ms, tick);
  };
  loop.run_after(0ms, tick);
  loop.add_before_sleep([&] {
    if (++turns == 5) loop.stop();
  });
  auto watchdog = loop.run_after(kWatchdog, [&] { loop.stop(); });
  loop.run();
  loop.cancel(watchdog);
  EXPECT_EQ(turns, 5);
  EXPECT_EQ(timer_runs, 4);  // one per turn between the hooks
}

// ------------------------------------------------------------ posted tasks

// A task posted from a task runs in the next turn, after that turn's I/O: a
// long job split into steps lets a ready fd be served between two steps.
TEST(EventLoopPost, TaskPostedFromATaskRunsAfterTheNextTurnsIo) {
  EventLoop loop;
  Pipe pipe;
  ASSERT_GE(pipe.read_fd, 0);
  std::vector<std::string> log;
  CallbackHandler handler([&](uint32_t) {
    pipe.drain();
    log.push_back("io");
  });
  loop.watch(pipe.read_fd, EPOLLIN, &handler);
  int steps = 0;
  std::function<void()> step = [&] {
    log.push_back("step" + std::to_string(++steps));
    if (steps == 1) {
      EXPECT_TRUE(pipe.put('x'));  // ready during the next turn
    }
    if (steps < 3)
      loop.post(step);
    else
      loop.stop();
  };
  loop.post(step);
  auto watchdog = loop.run_after(kWatchdog, [&] { loop.stop(); });
  loop.run();
  loop.cancel(watchdog);
  loop.unwatch(pipe.read_fd);
  EXPECT_EQ(log, (std::vector<std::string>{"step1", "io", "step2", "step3"}));
}

// While tasks wait the loop does not sleep: a far timer does not delay them,
// and each turn runs the before-sleep hooks once.
TEST(EventLoopPost, PendingTasksKeepTheLoopAwake) {
  EventLoop loop;
  int turns = 0;
  loop.add_before_sleep([&] { ++turns; });
  int steps = 0;
  std::function<void()> step = [&] {
    if (++steps < 100)
      loop.post(step);
    else
      loop.stop();
  };
  loop.post(step);
  auto far = loop.run_after(kWatchdog, [&] { loop.stop(); });
  loop.run();
  loop.cancel(far);
  EXPECT_EQ(steps, 100) << "the loop slept with a task waiting";
  EXPECT_EQ(turns, 100);
  EXPECT_EQ(loop.posted_tasks(), 0u);
}

// ---------------------------------------------------------------------- now

TEST(EventLoopNow, IsTheStartOfTheCurrentTurn) {
  EventLoop loop;
  const auto before = Clock::now();
  Clock::time_point first_turn{};
  loop.run_after(0ms, [&] {
    first_turn = loop.now();
    EXPECT_GE(first_turn, before);
    EXPECT_LE(first_turn, Clock::now());
    std::this_thread::sleep_for(3ms);
    EXPECT_EQ(loop.now(), first_turn) << "now() moved within one turn";
    loop.run_after(0ms, [&] {
      EXPECT_GE(loop.now() - first_turn, 3ms) << "now() did not advance with the next turn";
      loop.stop();
    });
  });
  auto watchdog = loop.run_after(kWatchdog, [&] { loop.stop(); });
  loop.run();
  loop.cancel(watchdog);
  EXPECT_NE(first_turn, Clock::time_point{});
}

// ---------------------------------------------------------- fd readiness

TEST(EventLoopIo, WatchedFdReportsReadiness) {
  EventLoop loop;
  Pipe pipe;
  ASSERT_GE(pipe.read_fd, 0);
  std::vector<uint32_t> seen;
  size_t bytes = 0;
  CallbackHandler handler([&](uint32_t events) {
    seen.push_back(events);
    bytes += pipe.drain();
    loop.stop();
  });
  loop.watch(pipe.read_fd, EPOLLIN, &handler);
  loop.run_after(2ms, [&] { EXPECT_TRUE(pipe.put('x')); });
  auto watchdog = loop.run_after(kWatchdog, [&] { loop.stop(); });
  loop.run();
  loop.cancel(watchdog);
  loop.unwatch(pipe.read_fd);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0] & EPOLLIN);
  EXPECT_EQ(bytes, 1u);
}

TEST(EventLoopIo, ModifyChangesTheInterestMask) {
  EventLoop loop;
  Pipe pipe;
  ASSERT_GE(pipe.read_fd, 0);
  ASSERT_TRUE(pipe.put('x'));
  bool enabled = false;
  int calls = 0;
  CallbackHandler handler([&](uint32_t) {
    ++calls;
    EXPECT_TRUE(enabled) << "event delivered while the mask was empty";
    pipe.drain();
    loop.stop();
  });
  loop.watch(pipe.read_fd, 0, &handler);  // readable, but nobody asked
  loop.run_after(10ms, [&] {
    enabled = true;
    loop.modify(pipe.read_fd, EPOLLIN);
  });
  auto watchdog = loop.run_after(kWatchdog, [&] { loop.stop(); });
  loop.run();
  loop.cancel(watchdog);
  loop.unwatch(pipe.read_fd);
  EXPECT_EQ(calls, 1);
}

TEST(EventLoopIo, UnwatchDropsEventsAlreadyCollectedInTheTurn) {
  EventLoop loop;
  Pipe a, b;
  ASSERT_GE(a.read_fd, 0);
  ASSERT_GE(b.read_fd, 0);
  ASSERT_TRUE(a.put('a'));
  ASSERT_TRUE(b.put('b'));
  // Both are readable before the first epoll_wait, so both events arrive in
  // one turn; whichever handler runs first unwatches the other one.
  int calls = 0;
  CallbackHandler on_a([&](uint32_t) {
    ++calls;
    a.drain();
    loop.unwatch(b.read_fd);
  });
  CallbackHandler on_b([&](uint32_t) {
    ++calls;
    b.drain();
    loop.unwatch(a.read_fd);
  });
  loop.watch(a.read_fd, EPOLLIN, &on_a);
  loop.watch(b.read_fd, EPOLLIN, &on_b);
  loop.run_after(20ms, [&] { loop.stop(); });
  auto watchdog = loop.run_after(kWatchdog, [&] { loop.stop(); });
  loop.run();
  loop.cancel(watchdog);
  loop.unwatch(a.read_fd);
  loop.unwatch(b.read_fd);
  EXPECT_EQ(calls, 1);
}

TEST(EventLoopIo, FdCanBeWatchedAgainWithANewHandler) {
  EventLoop loop;
  Pipe pipe;
  ASSERT_GE(pipe.read_fd, 0);
  int old_calls = 0, new_calls = 0;
  CallbackHandler old_handler([&](uint32_t) { ++old_calls; });
  CallbackHandler new_handler([&](uint32_t) {
    ++new_calls;
    pipe.drain();
    loop.stop();
  });
  loop.watch(pipe.read_fd, EPOLLIN, &old_handler);
  loop.unwatch(pipe.read_fd);
  loop.watch(pipe.read_fd, EPOLLIN, &new_handler);
  ASSERT_TRUE(pipe.put('x'));
  auto watchdog = loop.run_after(kWatchdog, [&] { loop.stop(); });
  loop.run();
  loop.cancel(watchdog);
  loop.unwatch(pipe.read_fd);
  EXPECT_EQ(old_calls, 0);
  EXPECT_EQ(new_calls, 1);
}

}  // namespace
}  // namespace kb::net
