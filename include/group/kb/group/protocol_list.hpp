#pragma once

// A member's protocols (JoinGroup's name and metadata pairs, in its order of
// preference), held once in one buffer and shared: a JoinGroup's protocols are
// copied into one as they are read (a big request over several loop turns),
// and the member keeps that same list. Names are indexed (their first
// occurrence), so looking one up is a hash probe, never a scan.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace kb::group {

class ProtocolList {
 public:
  static constexpr size_t npos = static_cast<size_t>(-1);

  // Room for `count` protocols (bounded: a count larger than that grows as
  // protocols arrive) holding `bytes` of names and metadata together (the
  // request's bytes left: memory it already takes), so a big list is never
  // copied to grow.
  void reserve(size_t count, size_t bytes = 0);
  void add(std::string_view name, std::span<const uint8_t> metadata);

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // How many distinct names.
  size_t distinct() const { return distinct_; }
  std::string_view name(size_t i) const;
  std::span<const uint8_t> metadata(size_t i) const;
  // Whether protocol i is the first of its name in the list.
  bool first_of_name(size_t i) const { return entries_[i].first; }
  // The first protocol with this name, or npos.
  size_t find(std::string_view name) const;

  // Protocols [from, to) equal `other`'s (names and metadata) at the same
  // places; false where `other` has fewer.
  bool same_entries(const ProtocolList& other, size_t from, size_t to) const;
  // The distinct names among protocols [from, to) are all in `other`.
  bool names_in(const ProtocolList& other, size_t from, size_t to) const;

  bool operator==(const ProtocolList& other) const {
    return size() == other.size() && same_entries(other, 0, size());
  }
  // The same set of names (order and metadata aside).
  bool same_names(const ProtocolList& other) const {
    return distinct() == other.distinct() && names_in(other, 0, size());
  }

 private:
  struct Entry {
    size_t name_at = 0;
    size_t name_size = 0;
    size_t metadata_at = 0;
    size_t metadata_size = 0;
    size_t hash = 0;
    bool first = false;
  };
  size_t find(std::string_view name, size_t hash) const;
  void rebuild_index(size_t slots);  // slots: a power of two

  std::vector<uint8_t> bytes_;  // every name and metadata, one after another
  std::vector<Entry> entries_;
  // Open addressing over the first protocol of each name: entry index + 1, 0
  // for an empty slot; at most half full.
  std::vector<uint32_t> index_;
  size_t distinct_ = 0;
};

}  // namespace kb::group
