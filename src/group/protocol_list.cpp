#include "kb/group/protocol_list.hpp"

#include <algorithm>
#include <cstring>
#include <functional>

namespace kb::group {

namespace {
// The most protocols reserved for ahead of their arrival: a request's count is
// only checked against its bytes, and one byte on the wire may not promise 40
// in memory.
constexpr size_t kMaxReserve = size_t{1} << 17;
constexpr size_t kMinIndexSlots = 16;

size_t slots_for(size_t count) {
  size_t slots = kMinIndexSlots;
  while (slots < count * 2) slots *= 2;
  return slots;
}
}  // namespace

void ProtocolList::reserve(size_t count, size_t bytes) {
  bytes_.reserve(bytes);
  count = std::min(count, kMaxReserve);
  entries_.reserve(count);
  if (index_.size() < slots_for(count)) rebuild_index(slots_for(count));
}

void ProtocolList::rebuild_index(size_t slots) {
  index_.assign(slots, 0);
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (!entries_[i].first) continue;
    size_t slot = entries_[i].hash & (slots - 1);
    while (index_[slot] != 0) slot = (slot + 1) & (slots - 1);
    index_[slot] = static_cast<uint32_t>(i + 1);
  }
}

std::string_view ProtocolList::name(size_t i) const {
  const Entry& e = entries_[i];
  return {reinterpret_cast<const char*>(bytes_.data() + e.name_at), e.name_size};
}

std::span<const uint8_t> ProtocolList::metadata(size_t i) const {
  const Entry& e = entries_[i];
  return {bytes_.data() + e.metadata_at, e.metadata_size};
}

size_t ProtocolList::find(std::string_view name, size_t hash) const {
  if (index_.empty()) return npos;
  for (size_t slot = hash & (index_.size() - 1);; slot = (slot + 1) & (index_.size() - 1)) {
    const uint32_t at = index_[slot];
    if (at == 0) return npos;
    const Entry& e = entries_[at - 1];
    if (e.hash == hash && this->name(at - 1) == name) return at - 1;
  }
}

size_t ProtocolList::find(std::string_view name) const {
  return find(name, std::hash<std::string_view>{}(name));
}

void ProtocolList::add(std::string_view name, std::span<const uint8_t> metadata) {
  Entry e;
  e.hash = std::hash<std::string_view>{}(name);
  e.name_at = bytes_.size();
  e.name_size = name.size();
  bytes_.insert(bytes_.end(), name.begin(), name.end());
  e.metadata_at = bytes_.size();
  e.metadata_size = metadata.size();
  bytes_.insert(bytes_.end(), metadata.begin(), metadata.end());
  e.first = find(name, e.hash) == npos;
  entries_.push_back(e);
  if (!e.first) return;
  ++distinct_;
  if (distinct_ * 2 > index_.size()) {
    rebuild_index(slots_for(distinct_ * 2));  // indexes the new entry too
    return;
  }
  size_t slot = e.hash & (index_.size() - 1);
  while (index_[slot] != 0) slot = (slot + 1) & (index_.size() - 1);
  index_[slot] = static_cast<uint32_t>(entries_.size());
}

bool ProtocolList::same_entries(const ProtocolList& other, size_t from, size_t to) const {
  if (other.size() < to) return false;
  for (size_t i = from; i < to; ++i) {
    if (entries_[i].hash != other.entries_[i].hash || name(i) != other.name(i)) return false;
    const auto a = metadata(i), b = other.metadata(i);
    if (!std::equal(a.begin(), a.end(), b.begin(), b.end())) return false;
  }
  return true;
}

bool ProtocolList::names_in(const ProtocolList& other, size_t from, size_t to) const {
  for (size_t i = from; i < to; ++i)
    if (entries_[i].first && other.find(name(i), entries_[i].hash) == npos) return false;
  return true;
}

}  // namespace kb::group
