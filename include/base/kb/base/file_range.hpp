#pragma once

#include <cstdint>
#include <memory>

namespace kb {

// Bytes [offset, offset + length) of an open file, to be sent as they are: a
// socket can take them straight from the page cache, never copying them
// through user space. `owner` keeps the descriptor open while the range is
// held (a segment deleted meanwhile stays readable).
struct FileRange {
  std::shared_ptr<const void> owner;
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
};

}  // namespace kb
