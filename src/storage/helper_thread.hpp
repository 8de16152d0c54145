#pragma once

// Helper threads of the storage layer (private to src/storage).

#include <pthread.h>
#include <signal.h>

#include <thread>
#include <utility>

namespace kb::storage::detail {

// Signals (SIGTERM through a signalfd) are the loop thread's: a helper thread
// starts with every signal blocked.
template <class F>
std::thread start_helper_thread(F&& body) {
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  std::thread thread(std::forward<F>(body));
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return thread;
}

}  // namespace kb::storage::detail
