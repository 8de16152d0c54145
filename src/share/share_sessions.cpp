#include "kb/share/share_sessions.hpp"

#include <limits>

namespace kb::share {

int32_t next_epoch(int32_t epoch) {
  if (epoch < 0) return kFinalEpoch;
  return epoch == std::numeric_limits<int32_t>::max() ? 1 : epoch + 1;
}

ShareSession* ShareSessions::find(std::string_view group, std::string_view member) {
  auto it = sessions_.find(Key{std::string(group), std::string(member)});
  return it == sessions_.end() ? nullptr : &it->second;
}

ShareSession* ShareSessions::open(std::string_view group, std::string_view member,
                                  uint64_t connection_id, std::set<TopicPartition> partitions) {
  close(group, member);
  if (sessions_.size() >= max_sessions_) return nullptr;
  ShareSession session;
  session.group = std::string(group);
  session.member = std::string(member);
  session.epoch = next_epoch(kInitialEpoch);
  session.connection_id = connection_id;
  session.partitions = std::move(partitions);
  auto [it, added] = sessions_.emplace(Key{session.group, session.member}, std::move(session));
  return &it->second;
}

void ShareSessions::close(std::string_view group, std::string_view member) {
  auto it = sessions_.find(Key{std::string(group), std::string(member)});
  if (it != sessions_.end()) sessions_.erase(it);
}

std::vector<ShareSession> ShareSessions::take_connection(uint64_t connection_id) {
  std::vector<ShareSession> taken;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (it->second.connection_id != connection_id) {
      ++it;
      continue;
    }
    taken.push_back(std::move(it->second));
    it = sessions_.erase(it);
  }
  return taken;
}

}  // namespace kb::share
