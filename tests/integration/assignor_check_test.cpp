// Our server-side assignors (group/assignor.cpp) against Kafka's own
// (kafka-group-coordinator 4.4's UniformAssignor and RangeAssignor, run by the
// Java lab's kb.lab.AssignorCheck): the same random
// groups go to both and every member's assignment must be the same. The groups
// have 1 to 20 members, 1 to 6 topics of up to 30 partitions, the same or
// different subscriptions, static members, and current assignments that are
// empty, random (partitions held by members that no longer subscribe to their
// topic, partitions nobody holds) or what the assignor gave an earlier group
// (members gone and new, topics grown, subscriptions changed), so stickiness
// is compared too. Kafka walks its members in hash map order; the lab hands
// them over in member id order, the order ours uses, and hands ours a shuffled
// list. Each member's topics reach Kafka in its id order (a TreeSet), which
// decides the order of topic ids that share a bucket of a java.util.HashSet.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kb/group/assignor.hpp"
#include "support/java_lab.hpp"

namespace kb::group {
namespace {

using kb::testing::JavaLabSetup;
using kb::testing::JavaShell;
using kb::testing::ToolRun;

struct CaseMember {
  std::string id;
  std::optional<std::string> instance;
  std::vector<size_t> subscribed;               // topic numbers
  std::map<size_t, std::set<int32_t>> current;  // topic number -> partitions
};

struct Case {
  std::string name;
  std::string assignor;
  std::vector<std::pair<wire::Uuid, int32_t>> topics;  // id, partitions
  std::vector<CaseMember> members;                     // member id order
};

wire::Uuid small_id(uint8_t k) {
  wire::Uuid id;
  id.bytes[15] = k;
  return id;
}

std::string random_name(std::mt19937& rng, const char* prefix) {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
  std::string s = prefix;
  for (int i = 0; i < 8; ++i) s.push_back(kChars[rng() % (sizeof(kChars) - 1)]);
  return s;
}

AssignmentSpec spec_of(const Case& c, std::mt19937& rng) {
  AssignmentSpec spec;
  for (const auto& [id, count] : c.topics) spec.partitions[id] = count;
  for (const CaseMember& m : c.members) {
    AssignorMember am;
    am.member_id = m.id;
    am.instance_id = m.instance;
    for (size_t t : m.subscribed) am.subscribed.insert(c.topics[t].first);
    for (const auto& [t, parts] : m.current) am.current[c.topics[t].first] = parts;
    spec.members.push_back(std::move(am));
  }
  // Ours must not depend on the order it is handed the members in.
  std::shuffle(spec.members.begin(), spec.members.end(), rng);
  return spec;
}

// One member's partitions as AssignorCheck prints them: "t:p.p;t:p", or "-".
std::string format_assignment(const Case& c, const TopicPartitionSet& assigned) {
  std::string out;
  for (size_t t = 0; t < c.topics.size(); ++t) {
    auto it = assigned.find(c.topics[t].first);
    if (it == assigned.end() || it->second.empty()) continue;
    if (!out.empty()) out += ';';
    out += std::to_string(t) + ':';
    bool first = true;
    for (int32_t p : it->second) {
      if (!first) out += '.';
      out += std::to_string(p);
      first = false;
    }
  }
  return out.empty() ? "-" : out;
}

std::string our_answer(const Case& c, std::mt19937& rng) {
  auto result = assign(c.assignor, spec_of(c, rng));
  std::string out = "case " + c.name + "\n";
  for (const CaseMember& m : c.members) {
    TopicPartitionSet none;
    auto it = result->find(m.id);
    out += m.id + " " + format_assignment(c, it == result->end() ? none : it->second) + "\n";
  }
  return out;
}

std::string spec_text(const Case& c) {
  std::ostringstream out;
  out << "case " << c.name << " " << c.assignor << "\n";
  for (const auto& [id, count] : c.topics)
    out << "topic " << id.to_base64() << " " << count << "\n";
  for (const CaseMember& m : c.members) {
    out << "member " << m.id << " " << m.instance.value_or("-") << " ";
    if (m.subscribed.empty()) out << "-";
    for (size_t i = 0; i < m.subscribed.size(); ++i) out << (i ? "," : "") << m.subscribed[i];
    out << " ";
    std::string current;
    for (const auto& [t, parts] : m.current) {
      if (parts.empty()) continue;
      if (!current.empty()) current += ';';
      current += std::to_string(t) + ':';
      bool first = true;
      for (int32_t p : parts) {
        if (!first) current += '.';
        current += std::to_string(p);
        first = false;
      }
    }
    out << (current.empty() ? "-" : current) << "\n";
  }
  out << "end\n";
  return out.str();
}

Case random_case(std::mt19937& rng, size_t index) {
  Case c;
  c.name = std::to_string(index);
  c.assignor = index % 2 == 0 ? "uniform" : "range";
  const bool homogeneous = rng() % 2 == 0;
  const bool big = rng() % 4 == 0;
  const size_t topic_count = 1 + rng() % 6;
  // Small ids, or random ones (halves with the sign bit set among them).
  const bool small_ids = rng() % 2 == 0;
  for (size_t t = 0; t < topic_count; ++t) {
    wire::Uuid id = small_id(static_cast<uint8_t>(t + 1));
    if (!small_ids)
      for (auto& b : id.bytes) b = static_cast<uint8_t>(rng());
    c.topics.emplace_back(id, static_cast<int32_t>(1 + rng() % (big ? 30 : 10)));
  }
  const size_t member_count = 1 + rng() % (big ? 20 : 9);
  std::set<std::string> ids;
  while (ids.size() < member_count) ids.insert(random_name(rng, "m-"));
  std::vector<size_t> shared;
  for (size_t t = 0; t < topic_count; ++t)
    if (rng() % 3 != 0) shared.push_back(t);
  if (shared.empty()) shared.push_back(rng() % topic_count);
  for (const std::string& id : ids) {
    CaseMember m;
    m.id = id;
    if (rng() % 4 == 0) m.instance = random_name(rng, "i-");
    if (homogeneous) {
      m.subscribed = shared;
    } else {
      for (size_t t = 0; t < topic_count; ++t)
        if (rng() % 2 == 0) m.subscribed.push_back(t);
    }
    c.members.push_back(std::move(m));
  }

  switch (rng() % 3) {
    case 0:  // a new group
      break;
    case 1: {  // partitions held at random, by any member or none
      for (size_t t = 0; t < topic_count; ++t)
        for (int32_t p = 0; p < c.topics[t].second; ++p)
          if (rng() % 10 < 7) c.members[rng() % member_count].current[t].insert(p);
      break;
    }
    default: {  // what the same assignor gave an earlier form of the group
      Case before = c;
      before.members.clear();
      for (const CaseMember& m : c.members) {
        if (rng() % 4 == 0) continue;  // joined since
        CaseMember earlier = m;
        if (rng() % 4 == 0) {
          earlier.subscribed.clear();
          for (size_t t = 0; t < topic_count; ++t)
            if (rng() % 2 == 0) earlier.subscribed.push_back(t);
        }
        before.members.push_back(std::move(earlier));
      }
      for (size_t k = rng() % 3; k > 0; --k) {  // left since
        CaseMember gone;
        gone.id = random_name(rng, "gone-");
        gone.subscribed = shared;
        before.members.push_back(std::move(gone));
      }
      std::sort(before.members.begin(), before.members.end(),
                [](const CaseMember& a, const CaseMember& b) { return a.id < b.id; });
      for (auto& [id, count] : before.topics)
        if (rng() % 4 == 0) count = std::max<int32_t>(1, count - static_cast<int32_t>(rng() % 4));
      if (before.members.empty()) break;
      auto earlier = assign(c.assignor, spec_of(before, rng));
      for (CaseMember& m : c.members) {
        auto it = earlier->find(m.id);
        if (it == earlier->end()) continue;
        for (size_t t = 0; t < topic_count; ++t)
          if (auto p = it->second.find(c.topics[t].first); p != it->second.end())
            m.current[t] = p->second;
      }
      break;
    }
  }
  return c;
}

class AssignorCheckTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cache_ = KB_TEST_CACHE_DIR;
    const JavaLabSetup lab = kb::testing::set_up_java_lab(KB_CLIENT_SCRIPTS_DIR, cache_);
    if (!lab.problem.empty()) (lab.skip ? skip_reason_ : setup_error_) = lab.problem;
    dir_ = kb::testing::make_temp_dir("kb-assignor-check-");
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }

  static inline std::filesystem::path cache_;
  static inline std::filesystem::path dir_;
  static inline std::string skip_reason_;
  static inline std::string setup_error_;
};

// Splits AssignorCheck's output into one block per case ("case <name>" to the next).
std::vector<std::string> blocks_of(const std::string& out) {
  std::vector<std::string> blocks;
  for (const std::string& line : kb::testing::lines_of(out)) {
    if (line.rfind("case ", 0) == 0) blocks.emplace_back();
    if (!blocks.empty()) blocks.back() += line + "\n";
  }
  return blocks;
}

TEST_F(AssignorCheckTest, OursAssignAsKafkasAssignorsDo) {
  std::mt19937 rng(20261208);
  std::vector<Case> cases;
  std::string input;
  for (size_t i = 0; i < 10000; ++i) {
    cases.push_back(random_case(rng, i));
    input += spec_text(cases.back());
  }
  JavaShell shell(kb::testing::java_lab_classpath(cache_, "4"), dir_ / "jvm.log");
  ToolRun run = shell.run("kb.lab.AssignorCheck", {}, input);
  ASSERT_EQ(run.exit_code, 0) << run.err << shell.log();
  const std::vector<std::string> kafka = blocks_of(run.out);
  ASSERT_EQ(kafka.size(), cases.size()) << run.err;

  size_t differences = 0;
  size_t sticky = 0;  // cases with a current assignment to keep
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string ours = our_answer(cases[i], rng);
    if (ours != kafka[i]) {
      if (++differences <= 5)
        ADD_FAILURE() << "the assignment differs for\n"
                      << spec_text(cases[i]) << "Kafka:\n"
                      << kafka[i] << "ours:\n"
                      << ours;
    }
    bool had_current = false;
    for (const CaseMember& m : cases[i].members) had_current |= !m.current.empty();
    if (had_current) ++sticky;
  }
  EXPECT_EQ(differences, 0u) << "of " << cases.size() << " groups";
  EXPECT_GT(sticky, cases.size() / 3);
}

}  // namespace
}  // namespace kb::group
