// Tests for kb::group::ProtocolList: names found by lookup (their first
// occurrence), duplicates counted once, comparisons by order and by names, and
// an index that keeps working past the room reserved for it.

#include "kb/group/protocol_list.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kb::group {
namespace {

const std::vector<uint8_t> kMeta{1, 2, 3};
const std::vector<uint8_t> kOther{9};

TEST(ProtocolList, FindsTheFirstProtocolOfEachNameAndCountsNamesOnce) {
  ProtocolList list;
  list.add("range", kMeta);
  list.add("sticky", kOther);
  list.add("range", kOther);  // a duplicate name: listed, not a new name
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list.distinct(), 2u);
  EXPECT_EQ(list.find("range"), 0u);
  EXPECT_EQ(list.find("sticky"), 1u);
  EXPECT_EQ(list.find("roundrobin"), ProtocolList::npos);
  EXPECT_TRUE(list.first_of_name(0));
  EXPECT_TRUE(list.first_of_name(1));
  EXPECT_FALSE(list.first_of_name(2));
  EXPECT_EQ(list.name(2), "range");
  EXPECT_EQ(std::vector<uint8_t>(list.metadata(2).begin(), list.metadata(2).end()), kOther);
  EXPECT_EQ(std::vector<uint8_t>(list.metadata(0).begin(), list.metadata(0).end()), kMeta);
}

TEST(ProtocolList, ComparesInOrderAndByNames) {
  ProtocolList a, same, reordered, other_metadata, fewer;
  for (auto* l : {&a, &same}) {
    l->add("range", kMeta);
    l->add("sticky", kMeta);
  }
  reordered.add("sticky", kMeta);
  reordered.add("range", kMeta);
  other_metadata.add("range", kMeta);
  other_metadata.add("sticky", kOther);
  fewer.add("range", kMeta);
  fewer.add("range", kMeta);
  EXPECT_TRUE(a == same);
  EXPECT_FALSE(a == reordered);
  EXPECT_FALSE(a == other_metadata);
  EXPECT_TRUE(a.same_names(reordered));
  EXPECT_TRUE(a.same_names(other_metadata));
  EXPECT_FALSE(a.same_names(fewer));
  EXPECT_FALSE(fewer.same_names(a));
  // A part at a time gives the same answers.
  EXPECT_TRUE(a.same_entries(same, 0, 1) && a.same_entries(same, 1, 2));
  EXPECT_TRUE(a.same_entries(other_metadata, 0, 1));
  EXPECT_FALSE(a.same_entries(other_metadata, 1, 2));
  EXPECT_FALSE(a.same_entries(fewer, 0, 2) && a.same_entries(fewer, 1, 2));
}

// Past what was reserved (and the bound on reserving), lookups still find
// every name.
TEST(ProtocolList, KeepsFindingNamesPastWhatWasReserved) {
  ProtocolList list;
  list.reserve(4);
  constexpr int kCount = 200000;  // more than the reservation bound
  for (int i = 0; i < kCount; ++i) list.add("p" + std::to_string(i), kMeta);
  list.add("p7", kOther);
  EXPECT_EQ(list.size(), static_cast<size_t>(kCount) + 1);
  EXPECT_EQ(list.distinct(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; i += 997)
    EXPECT_EQ(list.find("p" + std::to_string(i)), static_cast<size_t>(i));
  EXPECT_EQ(list.find("p" + std::to_string(kCount - 1)), static_cast<size_t>(kCount - 1));
  EXPECT_EQ(list.find("p7"), 7u);
  EXPECT_EQ(list.find("q1"), ProtocolList::npos);
}

}  // namespace
}  // namespace kb::group
