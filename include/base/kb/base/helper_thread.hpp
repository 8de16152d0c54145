#pragma once

// Helper threads: started reniced and with every signal blocked.

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>
#include <utility>

namespace kb {

// Moves the calling thread `nice` levels from the process's priority: per
// thread on Linux (the process's other threads keep theirs). Not being allowed
// to is harmless.
inline void renice_this_thread(int nice) {
  if (nice == 0) return;
  const auto self = static_cast<id_t>(::gettid());
  errno = 0;
  const int base = ::getpriority(PRIO_PROCESS, self);
  if (errno == 0) (void)::setpriority(PRIO_PROCESS, self, std::clamp(base + nice, -20, 19));
}

// Starts a helper thread `nice` levels below the process (renice_this_thread).
// Signals (SIGTERM through a signalfd) are the loop thread's: it starts with
// every signal blocked.
template <class F>
std::thread start_helper_thread(int nice, F&& body) {
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  std::thread thread([nice, body = std::forward<F>(body)]() mutable {
    renice_this_thread(nice);
    body();
  });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return thread;
}

}  // namespace kb
