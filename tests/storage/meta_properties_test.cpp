#include "kb/storage/meta_properties.hpp"

#include <gtest/gtest.h>

#include <set>

#include "storage_test_util.hpp"

namespace kb::storage {
namespace {

TEST(MetaProperties, ParsesWhatKafkaWrites) {
  auto props = parse_meta_properties(
      "#\n#Tue Nov 14 10:00:00 UTC 2023\nnode.id=1\ndirectory.id=sc4Ml4brSXGQ5dCwuJ9Y8A\n"
      "version=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qk\n");
  ASSERT_TRUE(props.ok()) << props.error().message;
  EXPECT_EQ(props->version, 1);
  EXPECT_EQ(props->node_id, 1);
  EXPECT_EQ(props->cluster_id, "MkU3OEVBNTcwNTJENDM2Qk");
  ASSERT_TRUE(props->directory_id.has_value());
  EXPECT_EQ(props->directory_id->to_base64(), "sc4Ml4brSXGQ5dCwuJ9Y8A");
  EXPECT_TRUE(props->other.empty());
}

TEST(MetaProperties, JavaPropertiesSyntax) {
  auto props = parse_meta_properties(
      "  ! another comment\r\nversion : 1\r\nnode.id   7\ncluster.id=ab\\\n    cd\n"
      "custom\\=key=va\\:lue\nempty=\n");
  ASSERT_TRUE(props.ok()) << props.error().message;
  EXPECT_EQ(props->node_id, 7);
  EXPECT_EQ(props->cluster_id, "abcd");
  EXPECT_FALSE(props->directory_id.has_value());
  ASSERT_EQ(props->other.size(), 2u);
  EXPECT_EQ(props->other[0], (std::pair<std::string, std::string>{"custom=key", "va:lue"}));
  EXPECT_EQ(props->other[1], (std::pair<std::string, std::string>{"empty", ""}));
}

TEST(MetaProperties, RejectsWhatKafkaRefuses) {
  const char* bad[] = {
      "version=2\nnode.id=1\ncluster.id=x\n",                      // unknown version
      "version=one\nnode.id=1\ncluster.id=x\n",                    // not a number
      "version=1\ncluster.id=x\n",                                 // no node id
      "version=1\nnode.id=12abc\ncluster.id=x\n",                  // trailing junk
      "version=1\nnode.id=1 \ncluster.id=x\n",                     // parseInt takes no blank
      "version=1\nnode.id=99999999999\ncluster.id=x\n",            // out of int range
      "version=1\nnode.id=1\n",                                    // no cluster id
      "version=1\nnode.id=1\ncluster.id=x\ndirectory.id=short\n",  // bad directory id
      // Padding must complete the unit; 25 characters are too many.
      "version=1\nnode.id=1\ncluster.id=x\ndirectory.id=EAAAAAAAQACAAAAAAAAAAQ=\n",
      "version=1\nnode.id=1\ncluster.id=x\ndirectory.id=EAAAAAAAQACAAAAAAAAAAQ== \n",
      // Reserved directory ids (Kafka's DirectoryId.reserved: the first 100).
      "version=1\nnode.id=1\ncluster.id=x\ndirectory.id=AAAAAAAAAAAAAAAAAAAAAA\n",
      "version=1\nnode.id=1\ncluster.id=x\ndirectory.id=AAAAAAAAAAAAAAAAAAAAYw\n",  // 99
      "version=1\nnode.id=1\ncluster.id=x\ndirectory.id=AAAAAAAAAACAAAAAAAAAAA\n",  // low < 0
      "version=1\nnode.id=1\ncluster.id=x\nbad\\u00zz=1\n",  // malformed \\u escape
  };
  for (const char* text : bad) {
    auto props = parse_meta_properties(text);
    EXPECT_FALSE(props.ok()) << "accepted: " << text;
    if (!props.ok()) {
      EXPECT_FALSE(props.error().message.empty());
    }
  }
}

TEST(MetaProperties, AcceptsWhatKafkaAccepts) {
  // The CodeCrafters harness writes the padded base64 form.
  auto padded = parse_meta_properties(
      "#\n#Tue Sep 10 10:00:00 UTC 2024\ncluster.id=abc\ndirectory.id=EAAAAAAAQACAAAAAAAAAAQ==\n"
      "node.id=1\nversion=1");
  ASSERT_TRUE(padded.ok()) << padded.error().message;
  EXPECT_EQ(padded->directory_id->to_base64(), "EAAAAAAAQACAAAAAAAAAAQ");
  // 100 is the first id that is not reserved.
  EXPECT_TRUE(parse_meta_properties(
                  "version=1\nnode.id=1\ncluster.id=x\ndirectory.id=AAAAAAAAAAAAAAAAAAAAZA\n")
                  .ok());
  // The version is trimmed; numbers take a sign as Integer.parseInt does.
  auto signs = parse_meta_properties("version= 1 \nnode.id=+7\ncluster.id=x\n");
  ASSERT_TRUE(signs.ok()) << signs.error().message;
  EXPECT_EQ(signs->node_id, 7);
  auto negative = parse_meta_properties("version=1\nnode.id=-3\ncluster.id=x\n");
  ASSERT_TRUE(negative.ok());
  EXPECT_EQ(negative->node_id, -3);
  // cluster.id is taken as written, trailing blanks too.
  auto blanks = parse_meta_properties("version=1\nnode.id=1\ncluster.id=ab \n");
  ASSERT_TRUE(blanks.ok());
  EXPECT_EQ(blanks->cluster_id, "ab ");
  // ZooKeeper-era version 0 (the default) names the node broker.id, which may be absent.
  auto v0 = parse_meta_properties("version=0\nbroker.id=4\ncluster.id=abc\n");
  ASSERT_TRUE(v0.ok());
  EXPECT_EQ(v0->node_id, 4);
  auto bare = parse_meta_properties("cluster.id=abc\n");
  ASSERT_TRUE(bare.ok()) << bare.error().message;
  EXPECT_EQ(bare->version, 0);
  EXPECT_FALSE(bare->node_id.has_value());
  EXPECT_TRUE(parse_meta_properties("").ok());
}

TEST(MetaProperties, FormatParsesBack) {
  MetaProperties p;
  p.cluster_id = generate_cluster_id();
  p.node_id = 12;
  p.directory_id = random_uuid();
  p.other = {{"odd key:=", "value#!"}};
  auto back = parse_meta_properties(format_meta_properties(p));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, p);
}

// Found by the properties fuzzer: the parser trims a value's trailing blanks,
// so a rewrite must escape them to keep what it read.
TEST(MetaProperties, BlanksAtEitherEndOfAValueSurviveARewrite) {
  MetaProperties p;
  p.cluster_id = generate_cluster_id();
  p.node_id = 1;
  p.other = {{"trailing", "/tmp/kb  "}, {"both", " x "}, {"blank", "  "}};
  auto back = parse_meta_properties(format_meta_properties(p));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, p);
}

TEST(MetaProperties, CreatesThenReadsBack) {
  test::TempDir dir;
  const auto log_dir = dir.path() / "data";
  auto none = read_meta_properties(log_dir);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto created = ensure_meta_properties(log_dir, 3);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->node_id, 3);
  ASSERT_TRUE(created->cluster_id.has_value());
  EXPECT_EQ(created->cluster_id->size(), 22u);
  ASSERT_TRUE(created->directory_id.has_value());

  auto again = ensure_meta_properties(log_dir, 3);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *created);

  auto wrong_node = ensure_meta_properties(log_dir, 4);
  ASSERT_FALSE(wrong_node.ok());
  EXPECT_NE(wrong_node.error().message.find("node 3"), std::string::npos);
  EXPECT_FALSE(ensure_meta_properties(log_dir, 3, std::string("other-cluster")).ok());
}

TEST(MetaProperties, AddsAMissingDirectoryId) {
  test::TempDir dir;
  test::write_whole_file(dir.path() / "meta.properties",
                         test::text_bytes("version=1\nnode.id=1\ncluster.id=abc\n"));
  auto props = ensure_meta_properties(dir.path(), 1, std::string("abc"));
  ASSERT_TRUE(props.ok()) << props.error().message;
  ASSERT_TRUE(props->directory_id.has_value());
  auto reread = read_meta_properties(dir.path());
  ASSERT_TRUE(reread.ok() && reread->has_value());
  EXPECT_EQ((*reread)->directory_id, props->directory_id);
}

TEST(MetaProperties, AFileWithoutClusterIdIsRefusedAndLeftAlone) {
  test::TempDir dir;
  const std::string text = "version=0\nbroker.id=1\n";
  test::write_whole_file(dir.path() / "meta.properties", test::text_bytes(text));
  auto props = ensure_meta_properties(dir.path(), 1);
  ASSERT_FALSE(props.ok());
  EXPECT_NE(props.error().message.find("no cluster.id"), std::string::npos);
  EXPECT_EQ(test::read_whole_file(dir.path() / "meta.properties"), test::text_bytes(text));
}

TEST(MetaProperties, MalformedFileIsAnErrorNotACrash) {
  test::TempDir dir;
  test::write_whole_file(dir.path() / "meta.properties", test::text_bytes("garbage\x01\xff"));
  auto props = ensure_meta_properties(dir.path(), 1);
  ASSERT_FALSE(props.ok());
  EXPECT_NE(props.error().message.find("meta.properties"), std::string::npos);
}

TEST(MetaProperties, RandomIdsLookLikeKafkas) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = generate_cluster_id();
    EXPECT_EQ(id.size(), 22u);
    EXPECT_NE(id[0], '-');
    for (char c : id)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace kb::storage
