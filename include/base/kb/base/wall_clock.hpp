#pragma once

#include <chrono>
#include <cstdint>

namespace kb {

// Milliseconds since the Unix epoch, as record timestamps and Kafka's
// time-based settings count them.
inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace kb
