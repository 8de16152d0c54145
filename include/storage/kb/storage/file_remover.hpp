#pragma once

// Deletes files on a helper thread. Unlinking a file that held data makes the
// file system free its blocks, which takes milliseconds on ext4 (about 4 ms a
// 16 KiB segment on this project's machines, against 50 us for a rename), so
// the event loop only renames a deleted segment's files to `<name>.deleted`,
// as Kafka does, and hands them here. Files still held open (a Fetch being
// sent) stay readable through their descriptors. A crash before the unlink
// leaves `.deleted` files, which the next load of the partition removes, as
// Kafka's LogLoader does.
//
// remove() is called from the loop's thread; the worker touches nothing but
// the paths it was given.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

namespace kb::storage {

class FileRemover {
 public:
  // The worker runs `nice` levels below the process (background work yields
  // the CPU to the event loop).
  explicit FileRemover(int nice = 0);
  // Removes every file handed over, then joins the worker.
  ~FileRemover();
  FileRemover(const FileRemover&) = delete;
  FileRemover& operator=(const FileRemover&) = delete;

  void remove(std::vector<std::filesystem::path> paths);
  // Blocks until every file handed over so far is removed (tests, shutdown).
  void wait_idle();
  size_t removed() const;

 private:
  void run();

  int nice_;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable idle_;
  std::deque<std::filesystem::path> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  size_t removed_ = 0;
  std::thread thread_;  // started on first use
};

}  // namespace kb::storage
