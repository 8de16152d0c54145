#pragma once

// A small tmpfs for one test (a disk that fills up, a file system out of
// inodes): mounted with `options` under a new temporary directory, unmounted
// (lazily: a broker may still hold files) and removed at the end. Mounting
// needs root; unavailable() says why there is none, for the test to skip.

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "support/broker_process.hpp"

namespace kb::testing {

class SmallTmpfs {
 public:
  SmallTmpfs(const std::string& temp_dir_prefix, const std::string& options)
      : root_(make_temp_dir(temp_dir_prefix)) {
    if (geteuid() != 0) {
      unavailable_ = "needs root to mount a small tmpfs";
      return;
    }
    std::filesystem::create_directories(path());
    if (::mount("tmpfs", path().c_str(), "tmpfs", 0, options.c_str()) != 0) {
      unavailable_ = std::string("cannot mount a tmpfs: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(path().c_str(), MNT_DETACH);
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;

  std::filesystem::path path() const { return root_ / "mnt"; }
  // Empty when mounted.
  const std::string& unavailable() const { return unavailable_; }

 private:
  std::filesystem::path root_;
  bool mounted_ = false;
  std::string unavailable_;
};

}  // namespace kb::testing
