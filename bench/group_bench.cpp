// Consumer group benchmarks against a running broker, over raw protocol at the Java consumer's
// versions (JoinGroup v9, SyncGroup v5, Heartbeat v4, LeaveGroup v5, OffsetCommit v8).
//
//   kb_group_bench rebalance <port> <members> <rounds> <heartbeat_ms>
//     Members are threads, each with its own connection, that join, sync (the leader assigns)
//     and heartbeat every heartbeat_ms, rejoining when told REBALANCE_IN_PROGRESS. Prints the
//     time from the first JoinGroup of <members> new members to all of them holding an
//     assignment (cold), then, <rounds> times, the time from one more member's JoinGroup until
//     every member holds the assignment of the generation that includes it (join).
//   kb_group_bench commit <port> <connections> <seconds>
//     Each connection commits one offset per request (one request in flight) to its own simple
//     group; prints the requests/s over all connections.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "bench_kafka.hpp"
#include "bench_net.hpp"

namespace kb::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int16_t kRebalanceInProgress = 27;
constexpr int16_t kMemberIdRequired = 79;
constexpr uint32_t kMaxFrame = 16 << 20;

void AppendNullString(std::string& out) { out.push_back('\0'); }  // compact null
void AppendCompactBytes(std::string& out, std::string_view bytes) {
  AppendCompactString(out, bytes);
}

class Connection {
 public:
  explicit Connection(uint16_t port) : fd_(ConnectBlocking(port, std::chrono::seconds(60))) {}

  // Sends a flexible request (api, version, body) and returns the response body after the
  // flexible response header.
  WireReader Call(uint16_t api, uint16_t version, const std::string& body) {
    std::string frame = BeginFlexibleRequest(api, version, ++correlation_, "kb-group-bench");
    frame += body;
    FinishFrame(frame);
    SendAll(fd_.get(), frame.data(), frame.size());
    const size_t size = ReadFrame(fd_.get(), response_, kMaxFrame);
    WireReader r(response_.data(), size);
    if (static_cast<uint32_t>(r.I32()) != correlation_)
      throw std::runtime_error("correlation id mismatch");
    r.SkipTaggedFields();
    return r;
  }

 private:
  Fd fd_;
  uint32_t correlation_ = 0;
  std::vector<char> response_;
};

// --- Rebalance -----------------------------------------------------------------------------------

struct Shared {
  std::mutex mutex;
  std::condition_variable changed;
  std::atomic<bool> stop{false};
};

struct MemberState {
  int32_t generation = -1;
  size_t group_size = 0;  // as the leader saw it (0 for followers)
  Clock::time_point assigned_at;
  std::atomic<bool> leave{false};
  std::thread thread;
};

std::string JoinBody(const std::string& group, const std::string& member_id) {
  std::string b;
  AppendCompactString(b, group);
  AppendBe32(b, 10000);  // session timeout
  AppendBe32(b, 30000);  // rebalance timeout
  AppendCompactString(b, member_id);
  AppendNullString(b);  // group instance id
  AppendCompactString(b, "consumer");
  AppendUvarint(b, 2);  // one protocol
  AppendCompactString(b, "range");
  AppendCompactBytes(b, std::string("\0\1\0\0\0\1\0\5bench\0\0\0\0", 17));
  b.push_back('\0');
  AppendNullString(b);  // reason
  b.push_back('\0');
  return b;
}

struct Joined {
  int16_t error = 0;
  int32_t generation = -1;
  std::string leader;
  std::string member_id;
  std::vector<std::string> members;
};

Joined Join(Connection& c, const std::string& group, const std::string& member_id) {
  WireReader r = c.Call(11, 9, JoinBody(group, member_id));
  Joined j;
  r.I32();
  j.error = r.I16();
  j.generation = r.I32();
  r.CompactString();  // protocol type
  r.CompactString();  // protocol name
  j.leader = std::string(r.CompactString());
  r.I8();  // skip assignment
  j.member_id = std::string(r.CompactString());
  for (int64_t n = r.CompactLength(); n > 0; --n) {
    j.members.emplace_back(r.CompactString());
    r.CompactString();  // instance id
    r.CompactString();  // metadata
    r.SkipTaggedFields();
  }
  return j;
}

int16_t Sync(Connection& c, const std::string& group, const Joined& j) {
  std::string b;
  AppendCompactString(b, group);
  AppendBe32(b, static_cast<uint32_t>(j.generation));
  AppendCompactString(b, j.member_id);
  AppendNullString(b);
  AppendCompactString(b, "consumer");
  AppendCompactString(b, "range");
  AppendUvarint(b, j.members.size() + 1);
  for (size_t i = 0; i < j.members.size(); ++i) {
    AppendCompactString(b, j.members[i]);
    AppendCompactBytes(b, fmt::format("partition-{}", i));
    b.push_back('\0');
  }
  b.push_back('\0');
  WireReader r = c.Call(14, 5, b);
  r.I32();
  return r.I16();
}

int16_t Heartbeat(Connection& c, const std::string& group, int32_t generation,
                  const std::string& member_id) {
  std::string b;
  AppendCompactString(b, group);
  AppendBe32(b, static_cast<uint32_t>(generation));
  AppendCompactString(b, member_id);
  AppendNullString(b);
  b.push_back('\0');
  WireReader r = c.Call(12, 4, b);
  r.I32();
  return r.I16();
}

void Leave(Connection& c, const std::string& group, const std::string& member_id) {
  std::string b;
  AppendCompactString(b, group);
  AppendUvarint(b, 2);
  AppendCompactString(b, member_id);
  AppendNullString(b);
  AppendNullString(b);
  b.push_back('\0');
  b.push_back('\0');
  c.Call(13, 5, b);
}

void RunMember(uint16_t port, const std::string& group, std::chrono::milliseconds heartbeat,
               Shared& shared, MemberState& state) {
  Connection c(port);
  std::string member_id;
  Joined j = Join(c, group, member_id);
  if (j.error == kMemberIdRequired) member_id = j.member_id;
  while (!shared.stop && !state.leave) {
    j = Join(c, group, member_id);
    if (j.error != 0) throw std::runtime_error(fmt::format("JoinGroup error {}", j.error));
    member_id = j.member_id;
    const int16_t synced = Sync(c, group, j);
    if (synced == kRebalanceInProgress) continue;
    if (synced != 0) throw std::runtime_error(fmt::format("SyncGroup error {}", synced));
    {
      std::lock_guard lock(shared.mutex);
      state.generation = j.generation;
      state.group_size = j.leader == member_id ? j.members.size() : 0;
      state.assigned_at = Clock::now();
    }
    shared.changed.notify_all();
    while (!shared.stop && !state.leave) {
      std::this_thread::sleep_for(heartbeat);
      const int16_t e = Heartbeat(c, group, j.generation, member_id);
      if (e == kRebalanceInProgress) break;
      if (e != 0) throw std::runtime_error(fmt::format("Heartbeat error {}", e));
    }
  }
  Leave(c, group, member_id);
}

// Waits until the members all hold the assignment of one generation whose leader saw all of
// them; returns when the last got it.
Clock::time_point WaitStable(Shared& shared, std::vector<std::unique_ptr<MemberState>>& members) {
  std::unique_lock lock(shared.mutex);
  Clock::time_point last;
  const bool ok = shared.changed.wait_for(lock, std::chrono::seconds(120), [&] {
    const int32_t g = members.front()->generation;
    size_t leader_saw = 0;
    last = {};
    for (const auto& m : members) {
      if (m->generation != g || g < 0) return false;
      leader_saw = std::max(leader_saw, m->group_size);
      last = std::max(last, m->assigned_at);
    }
    return leader_saw == members.size();
  });
  if (!ok) throw std::runtime_error("the group did not become stable within 120 s");
  return last;
}

int RunRebalance(uint16_t port, size_t count, int rounds, std::chrono::milliseconds heartbeat) {
  Shared shared;
  std::vector<std::unique_ptr<MemberState>> members;
  const std::string group = fmt::format("bench-rebalance-{}-{}", count, ::getpid());
  auto start_member = [&] {
    auto m = std::make_unique<MemberState>();
    MemberState& state = *m;
    m->thread = std::thread([&, port, heartbeat] {
      try {
        RunMember(port, group, heartbeat, shared, state);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "member: %s\n", e.what());
        std::exit(1);
      }
    });
    members.push_back(std::move(m));
  };

  const auto t0 = Clock::now();
  for (size_t i = 0; i < count; ++i) start_member();
  const auto cold = WaitStable(shared, members) - t0;
  std::vector<double> joins;
  for (int round = 0; round < rounds; ++round) {
    // One member leaves (and the group settles), then a new one joins.
    members.back()->leave = true;
    members.back()->thread.join();
    members.pop_back();
    WaitStable(shared, members);
    const auto t1 = Clock::now();
    start_member();
    joins.push_back(
        std::chrono::duration<double, std::milli>(WaitStable(shared, members) - t1).count());
  }
  shared.stop = true;
  for (auto& m : members) m->thread.join();
  std::sort(joins.begin(), joins.end());
  fmt::print("members={} cold_ms={:.1f} join_median_ms={:.1f} join_max_ms={:.1f}\n", count,
             std::chrono::duration<double, std::milli>(cold).count(),
             joins.empty() ? 0.0 : joins[joins.size() / 2], joins.empty() ? 0.0 : joins.back());
  return 0;
}

// --- Commit --------------------------------------------------------------------------------------

// Metadata v12 naming the topic: auto-created, so that commits for it are accepted.
void CreateTopic(uint16_t port, std::string_view topic) {
  Connection c(port);
  std::string b;
  AppendUvarint(b, 2);
  b.append(16, '\0');  // no topic id
  AppendCompactString(b, topic);
  b.push_back('\0');
  b.push_back('\1');  // allow auto-creation
  b.push_back('\0');  // no authorized operations
  b.push_back('\0');
  c.Call(3, 12, b);
}

int RunCommit(uint16_t port, size_t connections, int seconds) {
  CreateTopic(port, "bench-commit");
  std::atomic<bool> stop{false};
  std::vector<uint64_t> counts(connections, 0);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < connections; ++i) {
    threads.emplace_back([&, i] {
      try {
        Connection c(port);
        const std::string group = fmt::format("bench-commit-{}-{}", ::getpid(), i);
        int64_t offset = 0;
        while (!stop) {
          std::string b;
          AppendCompactString(b, group);
          AppendBe32(b, static_cast<uint32_t>(-1));  // simple commit
          AppendCompactString(b, "");
          AppendNullString(b);
          AppendUvarint(b, 2);
          AppendCompactString(b, "bench-commit");
          AppendUvarint(b, 2);
          AppendBe32(b, 0);
          AppendBe64(b, static_cast<uint64_t>(++offset));
          AppendBe32(b, static_cast<uint32_t>(-1));
          AppendNullString(b);
          b.push_back('\0');
          b.push_back('\0');
          b.push_back('\0');
          WireReader r = c.Call(8, 8, b);
          r.I32();
          r.CompactLength();
          r.CompactString();
          r.CompactLength();
          r.I32();
          if (const int16_t e = r.I16(); e != 0)
            throw std::runtime_error(fmt::format("OffsetCommit error {}", e));
          ++counts[i];
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "commit: %s\n", e.what());
        std::exit(1);
      }
    });
  }
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  uint64_t total = 0;
  for (uint64_t n : counts) total += n;
  fmt::print("connections={} commits_per_s={:.0f}\n", connections,
             static_cast<double>(total) / elapsed);
  return 0;
}

}  // namespace
}  // namespace kb::bench

int main(int argc, char** argv) {
  try {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "rebalance" && argc == 6)
      return kb::bench::RunRebalance(static_cast<uint16_t>(std::stoi(argv[2])),
                                     static_cast<size_t>(std::stoi(argv[3])), std::stoi(argv[4]),
                                     std::chrono::milliseconds(std::stoi(argv[5])));
    if (mode == "commit" && argc == 5)
      return kb::bench::RunCommit(static_cast<uint16_t>(std::stoi(argv[2])),
                                  static_cast<size_t>(std::stoi(argv[3])), std::stoi(argv[4]));
    std::fprintf(stderr,
                 "usage: %s rebalance <port> <members> <rounds> <heartbeat_ms>\n"
                 "       %s commit <port> <connections> <seconds>\n",
                 argv[0], argv[0]);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kb_group_bench: %s\n", e.what());
    return 1;
  }
}
