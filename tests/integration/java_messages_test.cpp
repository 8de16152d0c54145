// The generated messages against Kafka's own message classes (the Java lab's
// kb.lab.MessageCheck over kafka-clients): for every generated message at every
// version served, a message with every field set and a message of defaults are
// encoded here, read by Kafka's class for that api key and version, and written
// again by it; Kafka must read every byte and write back exactly the same
// bytes, which then decode here. Versions kafka-clients 4 no longer knows
// (KIP-896) go to kafka-clients 3.9 instead. Every generated record
// (kb/records/all.hpp) goes the same way at every version, to the class of its
// name in the jars of the pinned Kafka server (kafka-metadata, the group,
// transaction and share coordinators, kafka-clients).
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "kb/protocol/messages/all.hpp"
#include "kb/records/all.hpp"
#include "protocol/message_test_util.hpp"
#include "support/java_lab.hpp"

namespace kb::protocol {
namespace {

using kb::testing::JavaLabSetup;
using kb::testing::JavaShell;
using kb::testing::ToolRun;

// One body for Kafka to read: which message, at which version, and our bytes.
struct Sample {
  std::string message;  // e.g. "FetchRequest, every field set"
  int16_t api_key = 0;
  int16_t version = 0;
  bool request = true;
  std::string hex;     // no spaces
  std::string record;  // a record's class name (then api_key and request mean nothing)
};

std::string compact_hex(std::span<const uint8_t> bytes) {
  std::string spaced = test::hex(bytes);
  std::string out;
  for (char c : spaced)
    if (c != ' ') out.push_back(c);
  return out;
}

template <class M>
void add_samples(const char* name, bool request, std::vector<Sample>& out) {
  for (int16_t v = M::kVersions.min; v <= M::kVersions.max; ++v) {
    test::Filled<M> filled(v);
    out.push_back({std::string(name) + " v" + std::to_string(v) + ", every field set",
                   static_cast<int16_t>(M::kApiKey), v, request,
                   compact_hex(test::encode_message(filled.message, v)), ""});
    out.push_back({std::string(name) + " v" + std::to_string(v) + ", defaults",
                   static_cast<int16_t>(M::kApiKey), v, request,
                   compact_hex(test::encode_message(M{}, v)), ""});
  }
}

template <class R>
void add_record_samples(const std::string& name, std::vector<Sample>& out) {
  for (int16_t v = R::kMinVersion; v <= R::kMaxVersion; ++v) {
    test::Filled<R> filled(v);
    out.push_back({name + " v" + std::to_string(v) + ", every field set", 0, v, false,
                   compact_hex(test::encode_message(filled.message, v)), name});
    out.push_back({name + " v" + std::to_string(v) + ", defaults", 0, v, false,
                   compact_hex(test::encode_message(R{}, v)), name});
  }
}

// Decodes Kafka's bytes as M at `version` and encodes them again here.
template <class M>
std::string our_reading(const std::vector<uint8_t>& bytes, int16_t version) {
  M decoded;
  if (!test::decode_message(bytes, decoded, version)) return "(does not decode)";
  return compact_hex(test::encode_message(decoded, version));
}

struct Catalogue {
  std::vector<Sample> samples;
  // Re-decoders by sample index (the type is known only while building).
  std::vector<std::string (*)(const std::vector<uint8_t>&, int16_t)> decoders;
};

template <class M>
void add_message(Catalogue& c, bool request) {
  const std::string name = ::testing::internal::GetTypeName<M>();
  add_samples<M>(name.substr(name.rfind(':') + 1).c_str(), request, c.samples);
  c.decoders.resize(c.samples.size(), &our_reading<M>);
}

template <class... Messages>
Catalogue catalogue_of(MessageList<Messages...>) {
  Catalogue c;
  (add_message<Messages>(c, ::testing::internal::GetTypeName<Messages>().ends_with("Request")),
   ...);
  return c;
}

template <class R>
void add_record(Catalogue& c) {
  const std::string name = ::testing::internal::GetTypeName<R>();
  add_record_samples<R>(name.substr(name.rfind(':') + 1), c.samples);
  c.decoders.resize(c.samples.size(), &our_reading<R>);
}

template <class... Records>
Catalogue catalogue_of(records::RecordList<Records...>) {
  Catalogue c;
  (add_record<Records>(c), ...);
  return c;
}

std::vector<uint8_t> bytes_of(const std::string& hex) { return test::from_hex(hex); }

// Kafka must have read each sample and written back our bytes, which must
// then read here to the same bytes.
void expect_same_bytes(const Catalogue& catalogue, const std::vector<std::string>& answers) {
  int failures = 0;
  for (size_t i = 0; i < catalogue.samples.size() && failures < 20; ++i) {
    const Sample& s = catalogue.samples[i];
    const std::string& answer = answers[i];
    if (answer.rfind("ok ", 0) != 0) {
      ADD_FAILURE() << s.message << ": Kafka answered " << answer << "\n  our bytes " << s.hex;
      ++failures;
      continue;
    }
    const std::string kafka_hex = answer.substr(3);
    if (kafka_hex != s.hex) {
      ADD_FAILURE() << s.message << ": Kafka wrote back other bytes\n  ours  " << s.hex
                    << "\n  Kafka " << kafka_hex;
      ++failures;
      continue;
    }
    const std::string ours_again = catalogue.decoders[i](bytes_of(kafka_hex), s.version);
    if (ours_again != kafka_hex) {
      ADD_FAILURE() << s.message << ": Kafka's bytes decode here to " << ours_again;
      ++failures;
    }
  }
}

class JavaMessagesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cache_ = KB_TEST_CACHE_DIR;
    const JavaLabSetup lab = kb::testing::set_up_java_lab(KB_CLIENT_SCRIPTS_DIR, cache_);
    if (!lab.problem.empty()) (lab.skip ? skip_reason_ : setup_error_) = lab.problem;
    dir_ = kb::testing::make_temp_dir("kb-java-messages-");
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }

  // Kafka's answer to each sample, from the lab's class path `version` ("4"
  // or "3.9": kafka-clients; "server": Kafka's server and all its jars).
  static std::vector<std::string> ask_kafka(const std::vector<const Sample*>& samples,
                                            const std::string& version) {
    JavaShell shell(kb::testing::java_lab_classpath(cache_, version),
                    dir_ / ("jvm-" + version + ".log"));
    std::string input;
    for (const Sample* s : samples) {
      if (!s->record.empty()) {
        input += "record " + s->record + " " + std::to_string(s->version) + " " + s->hex + "\n";
        continue;
      }
      input += std::to_string(s->api_key) + " " + std::to_string(s->version) + " " +
               (s->request ? "request " : "response ") + s->hex + "\n";
    }
    ToolRun run = shell.run("kb.lab.MessageCheck", {}, input);
    EXPECT_EQ(run.exit_code, 0) << run.err << shell.log();
    std::vector<std::string> answers = kb::testing::lines_of(run.out);
    EXPECT_EQ(answers.size(), samples.size()) << run.err;
    answers.resize(samples.size(), "error no answer");
    return answers;
  }

  static inline std::filesystem::path cache_;
  static inline std::filesystem::path dir_;
  static inline std::string skip_reason_;
  static inline std::string setup_error_;
};

TEST_F(JavaMessagesTest, KafkaReadsAndWritesEveryMessageAsWeDo) {
  const Catalogue catalogue = catalogue_of(AllGeneratedMessages{});
  ASSERT_GT(catalogue.samples.size(), 300u);

  std::vector<const Sample*> all;
  for (const Sample& s : catalogue.samples) all.push_back(&s);
  std::vector<std::string> answers = ask_kafka(all, "4");

  // What kafka-clients 4 no longer reads goes to 3.9.
  std::vector<size_t> older;
  for (size_t i = 0; i < answers.size(); ++i)
    if (answers[i] == "unsupported") older.push_back(i);
  if (!older.empty()) {
    std::vector<const Sample*> again;
    for (size_t i : older) again.push_back(all[i]);
    std::vector<std::string> old_answers = ask_kafka(again, "3.9");
    for (size_t k = 0; k < older.size(); ++k) answers[older[k]] = old_answers[k];
  }

  expect_same_bytes(catalogue, answers);
  std::cout << all.size() << " message bodies checked, " << older.size()
            << " of them with kafka-clients 3.9\n";
}

TEST_F(JavaMessagesTest, KafkaReadsAndWritesEveryRecordAsWeDo) {
  Catalogue catalogue = catalogue_of(records::AllGeneratedRecords{});
  ASSERT_GT(catalogue.samples.size(), 200u);
  {
    // A null tagged struct: not a default (that is an empty struct), so written.
    using Member = records::ConsumerGroupMemberMetadataValue;
    test::Filled<Member> member(0);
    member.message.classic_member_metadata.reset();
    catalogue.samples.push_back({"ConsumerGroupMemberMetadataValue v0, classic metadata null", 0, 0,
                                 false, compact_hex(test::encode_message(member.message, 0)),
                                 "ConsumerGroupMemberMetadataValue"});
    catalogue.decoders.push_back(&our_reading<Member>);
  }
  std::vector<const Sample*> all;
  for (const Sample& s : catalogue.samples) all.push_back(&s);
  // Every record version generated is one the pinned Kafka knows: no older jar.
  expect_same_bytes(catalogue, ask_kafka(all, "server"));
  std::cout << all.size() << " record bodies checked\n";
}

}  // namespace
}  // namespace kb::protocol
