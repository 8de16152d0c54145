#pragma once

// Share sessions (KIP-932), as Kafka's ShareSessionCache keeps them: one per
// (group, member), opened by a ShareFetch at epoch 0, which lists its
// partitions in full; later requests name the next epoch and only what
// changed. Epoch -1 closes it. The cache holds at most
// group.share.max.share.sessions; a session belongs to the connection that
// opened it and ends with it.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kb/protocol/error_code.hpp"
#include "kb/wire/uuid.hpp"

namespace kb::share {

inline constexpr int32_t kInitialEpoch = 0;
inline constexpr int32_t kFinalEpoch = -1;

// The epoch after `epoch`: it wraps from INT32_MAX to 1, never to 0 or -1.
int32_t next_epoch(int32_t epoch);

using TopicPartition = std::pair<wire::Uuid, int32_t>;

struct ShareSession {
  std::string group;
  std::string member;
  int32_t epoch = 1;  // the epoch the next request must name
  uint64_t connection_id = 0;
  std::set<TopicPartition> partitions;
};

class ShareSessions {
 public:
  explicit ShareSessions(size_t max_sessions = 2000) : max_sessions_(max_sessions) {}

  ShareSession* find(std::string_view group, std::string_view member);
  // A new session at epoch 0 (replacing one the member had): null when the
  // cache is full (SHARE_SESSION_LIMIT_REACHED).
  ShareSession* open(std::string_view group, std::string_view member, uint64_t connection_id,
                     std::set<TopicPartition> partitions);
  void close(std::string_view group, std::string_view member);
  // Sessions opened on this connection, which closed: removed and returned.
  std::vector<ShareSession> take_connection(uint64_t connection_id);

  size_t size() const { return sessions_.size(); }
  size_t max_sessions() const { return max_sessions_; }
  void set_max_sessions(size_t n) { max_sessions_ = n; }

 private:
  using Key = std::pair<std::string, std::string>;
  size_t max_sessions_;
  std::map<Key, ShareSession, std::less<>> sessions_;
};

}  // namespace kb::share
