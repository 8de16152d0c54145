#pragma once

// Creates partition directories on helper threads, so that a topic of
// thousands of partitions does not hold the event loop for a sync of each.
// The loop submits the partitions of one topic change together; the threads
// create each one's files (PartitionLog::create_files: one sync of the
// partition directory, one of partition.metadata) and, when the last of a
// batch is done, sync the log directory once, then queue the batch's
// completion and make an eventfd readable (completion_fd), which the loop
// watches and answers with take_completed().
//
// While a partition waits or is being created it is pending: the loop must
// not touch its directory. claim() hands it back: a partition still waiting is
// dropped from the queue (the caller creates it itself), one being created is
// waited for (one partition's files, not the batch). After claim() returns, the
// threads never touch it again.
//
// Everything but the threads' own work is called from the loop's thread.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "kb/storage/result.hpp"
#include "kb/wire/uuid.hpp"

namespace kb::storage {

struct NewPartition {
  std::string topic;
  int32_t partition = 0;
  kb::wire::Uuid topic_id;
  // A new topic's partition: a directory already there belongs to an earlier
  // topic of the same name (a deletion cut short, or a topic the metadata log
  // lost) and is moved aside as "<dir>.<uuid>-stray", as Kafka does with logs
  // the metadata does not know, never reused.
  bool replace_existing = false;
};

// Moves a partition directory aside as "<dir>.<32 hex digits>-<suffix>"
// (Kafka's marked-directory names): the new path, empty when there was no
// directory or the rename failed (logged).
std::filesystem::path move_partition_dir_aside(const std::filesystem::path& dir,
                                               std::string_view suffix);

// What a helper thread (or the loop, without one) does for a new partition:
// moves an earlier directory aside when asked to, then
// PartitionLog::create_files.
Status create_partition_files(const std::filesystem::path& log_dir, const NewPartition& partition);

class PartitionCreator {
 public:
  // Up to `max_threads` threads (at least one), started as batches need them,
  // `nice` levels below the process (so that a busy loop gets the CPU first).
  PartitionCreator(std::filesystem::path log_dir, size_t max_threads, int nice = 0);
  // Drops what still waits, lets the partitions being created finish, joins.
  ~PartitionCreator();
  PartitionCreator(const PartitionCreator&) = delete;
  PartitionCreator& operator=(const PartitionCreator&) = delete;

  const std::filesystem::path& log_dir() const { return log_dir_; }
  // Readable while completed batches wait to be taken.
  int completion_fd() const { return event_fd_; }

  // Queues the partitions (created in order); returns the batch's ticket (> 0).
  uint64_t submit(std::vector<NewPartition> partitions);

  struct Completion {
    uint64_t ticket = 0;
    size_t created = 0;  // by the threads (not claimed)
    size_t failed = 0;
    Status status;  // the first failure, if any
  };
  // Batches completed since the last call (and clears the eventfd); from then
  // on done() is true for them.
  std::vector<Completion> take_completed();
  // The batch's completion was taken (an unknown ticket counts as done).
  bool done(uint64_t ticket) const { return !unfinished_.contains(ticket); }
  // Done, and not one of its partitions was created (each is created again
  // on first use): CreateTopics answers an error rather than success.
  bool failed_wholly(uint64_t ticket) const { return failed_wholly_.contains(ticket); }

  bool pending(std::string_view topic, int32_t partition) const;
  size_t pending_count() const;
  // Partitions submitted since the creator started (the loop's count, for
  // progress reports).
  uint64_t submitted_total() const { return submitted_total_; }
  // The partition taken back while it still waited (the caller creates it,
  // as asked), or nullopt (not pending, or already created).
  std::optional<NewPartition> claim(std::string_view topic, int32_t partition);
  // Removes directories (a deleted topic's, already renamed aside) on the
  // threads: nothing waits for it; what a crash leaves is removed at the next
  // start.
  void remove_later(std::vector<std::filesystem::path> dirs);
  // Blocks until nothing waits or runs (tests, shutdown).
  void wait_idle();

 private:
  using Key = std::pair<std::string, int32_t>;
  struct Job {
    uint64_t ticket = 0;  // 0: a removal
    NewPartition partition;
    std::filesystem::path remove;
  };
  struct Pending {
    uint64_t ticket = 0;
    bool running = false;
    bool replace_existing = false;
  };
  struct Batch {
    size_t remaining = 0;
    Completion completion;
  };

  void start_thread();
  void run();

  std::filesystem::path log_dir_;
  size_t max_threads_;
  int nice_;
  int event_fd_ = -1;
  uint64_t next_ticket_ = 1;
  uint64_t submitted_total_ = 0;
  std::set<uint64_t> unfinished_;     // the loop's: submitted, completion not yet taken
  std::set<uint64_t> failed_wholly_;  // the loop's: taken, none created (few: failures only)

  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable changed_;  // a partition finished, or the threads went idle
  std::deque<Job> queue_;
  std::map<Key, Pending, std::less<>> pending_;
  std::map<uint64_t, Batch> batches_;
  std::vector<Completion> completed_;
  size_t busy_ = 0;  // threads between taking a job and finishing it
  bool stopping_ = false;
  std::vector<std::thread> threads_;  // started and joined by the loop's thread
};

}  // namespace kb::storage
