#include "kb/broker/descriptor_budget.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace kb::broker {

DescriptorPlan plan_descriptors(uint64_t limit, uint64_t max_connections, size_t helper_threads) {
  DescriptorPlan plan;
  plan.limit = limit;
  plan.reserve = std::min<uint64_t>(limit, kReservedDescriptors + 2 * uint64_t{helper_threads});
  const uint64_t usable = limit - plan.reserve;
  plan.connections = std::max<uint64_t>(std::min(max_connections, usable / 4 * 3), 1);
  plan.partition_files =
      std::max<uint64_t>(usable > plan.connections ? usable - plan.connections : 0, 1);
  plan.connections_capped = plan.connections < max_connections;
  return plan;
}

uint64_t raise_descriptor_limit() {
  constexpr uint64_t kUnlimited = uint64_t{1} << 20;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? kUnlimited
                                         : std::min<uint64_t>(limit.rlim_cur, kUnlimited);
}

}  // namespace kb::broker
