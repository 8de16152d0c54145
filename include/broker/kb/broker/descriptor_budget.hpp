#pragma once

// File descriptors are a budget, planned once at start: the soft
// RLIMIT_NOFILE is raised to the hard limit, and what it allows is split
// between client connections (max.connections is capped to fit), open
// partition files (the storage layer's FileCache: segment files are closed
// and reopened on demand within it), and a reserve that the broker's own
// descriptors (listeners, epoll, eventfds, the metadata log), checkpoints,
// flushes and the helper threads' opens always have. Running short then
// costs one request or one connection, never the log directory.

#include <cstddef>
#include <cstdint>

namespace kb::broker {

struct DescriptorPlan {
  uint64_t limit = 0;               // RLIMIT_NOFILE in force
  uint64_t reserve = 0;             // kept for everything else
  uint64_t connections = 0;         // client connections, all listeners together
  uint64_t partition_files = 0;     // the file cache's capacity
  bool connections_capped = false;  // max.connections asked for more
};

// Descriptors kept for the broker's own files, plus two for each helper
// thread that opens files (a sync by path, a checkpoint's temporary file and
// its directory, a new partition's files).
inline constexpr uint64_t kReservedDescriptors = 64;

// Three quarters of what is left after the reserve go to connections (at
// most max_connections), the rest to partition files (rolled segments hold
// none, so a quarter is thousands of active partitions); at least one each.
DescriptorPlan plan_descriptors(uint64_t limit, uint64_t max_connections, size_t helper_threads);

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit in
// force (an unlimited one counts as 1,048,576).
uint64_t raise_descriptor_limit();

}  // namespace kb::broker
