#include "kb/cluster/metadata_image.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "kb/cluster/metadata_snapshots.hpp"
#include "kb/cluster/partition_logs.hpp"

namespace kb::cluster {
namespace {

wire::Uuid id_of(uint8_t b) {
  wire::Uuid id;
  id.bytes.fill(b);
  return id;
}

// A topic name read from the metadata log becomes a directory name: one that
// Kafka would never have written (a damaged or forged log) is skipped.
TEST(MetadataImage, TopicRecordWithInvalidNameIsSkipped) {
  BrokerState state;
  const std::vector<std::string> names = {
      "../escape", "a/b", "..", std::string("nul\0x", 5), std::string(250, 'x'), std::string()};
  for (const std::string& name : names) {
    apply_metadata_record(state, storage::TopicRecord{name, id_of(1)});
    EXPECT_EQ(state.topics.find(name), nullptr) << name;
  }
  apply_metadata_record(state, storage::TopicRecord{"valid.name_1", id_of(2)});
  EXPECT_NE(state.topics.find("valid.name_1"), nullptr);
}

// ACL records replayed into the authorizer, and back out in the image a
// snapshot is written from.
TEST(MetadataImage, AclRecordsReplayIntoTheAuthorizer) {
  BrokerState state;
  state.authorizer.configure({true, {}, false});
  apply_metadata_record(
      state, storage::AccessControlEntryRecord{id_of(1), 2, "orders", 3, "User:alice", "*", 3, 3});
  apply_metadata_record(
      state, storage::AccessControlEntryRecord{id_of(2), 3, "g", 4, "User:*", "10.0.0.1", 2, 2});
  EXPECT_EQ(state.authorizer.acls().size(), 2U);
  EXPECT_TRUE(state.authorizer.authorize({"User:alice", "/127.0.0.1"},
                                         security::AclOperation::kRead,
                                         security::ResourceType::kTopic, "orders"));
  size_t acl_records = 0;
  for (const auto& value : metadata_image_records(state)) {
    auto decoded = storage::decode_metadata_record(value);
    ASSERT_TRUE(decoded.ok());
    if (const auto* r = std::get_if<storage::AccessControlEntryRecord>(&decoded->record)) {
      ++acl_records;
      EXPECT_TRUE(r->id == id_of(1) || r->id == id_of(2));
    }
  }
  EXPECT_EQ(acl_records, 2U);
  apply_metadata_record(state, storage::RemoveAccessControlEntryRecord{id_of(1)});
  EXPECT_EQ(state.authorizer.acls().size(), 1U);
  EXPECT_FALSE(state.authorizer.authorize({"User:alice", "/127.0.0.1"},
                                          security::AclOperation::kRead,
                                          security::ResourceType::kTopic, "orders"));
  // A removal of an id never added changes nothing.
  apply_metadata_record(state, storage::RemoveAccessControlEntryRecord{id_of(9)});
  EXPECT_EQ(state.authorizer.acls().size(), 1U);
}

TEST(PartitionLogs, InvalidTopicNameNeverReachesTheFileSystem) {
  std::string pattern = (std::filesystem::temp_directory_path() / "kb-logs-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const std::filesystem::path root = pattern;
  {
    PartitionLogs logs(root / "data", {});
    EXPECT_FALSE(logs.find_or_create("../escape", 0, id_of(3)).ok());
    EXPECT_FALSE(logs.find("../escape", 0).ok());
    auto valid = logs.find_or_create("fine", 0, id_of(4));
    ASSERT_TRUE(valid.ok());
    EXPECT_NE(*valid, nullptr);
  }
  EXPECT_FALSE(std::filesystem::exists(root / "escape-0"));
  EXPECT_TRUE(std::filesystem::exists(root / "data" / "fine-0"));
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace kb::cluster
