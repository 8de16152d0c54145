// Bytes whose content is a file range (Fetch records): Writer::bytes_from_file
// and compact_bytes_from_file, with FileRanges (only the length is written and
// the range recorded at its place) and without (the range is read into the
// buffer); and the Records field type in a message definition.

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "kb/base/file_range.hpp"
#include "kb/wire/reader.hpp"
#include "kb/wire/serde.hpp"
#include "kb/wire/writer.hpp"
#include "test_bytes.hpp"

namespace kb::wire {
namespace {

using test::bytes_of;
using test::ByteVec;
using test::encode;
using test::text_bytes;
using test::to_vec;

// A temporary file holding `content`, removed (and closed) at the end.
class TempFile {
 public:
  explicit TempFile(std::string_view content) {
    std::string path = ::testing::TempDir() + "kb_file_bytes_XXXXXX";
    fd_ = ::mkstemp(path.data());
    if (fd_ < 0) return;
    ::unlink(path.c_str());
    if (::write(fd_, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const { return fd_; }
  FileRange range(uint64_t offset, uint64_t length) const {
    return FileRange{nullptr, fd_, offset, length};
  }

 private:
  int fd_ = -1;
};

TEST(BytesFromFile, WithoutFileRangesTheRangeIsReadIntoTheBuffer) {
  TempFile file("0123456789");
  ASSERT_GE(file.fd(), 0);
  EXPECT_EQ(encode([&](Writer& w) { w.bytes_from_file(file.range(2, 5)); }),
            test::concat(bytes_of({0, 0, 0, 5}), text_bytes("23456")));
  EXPECT_EQ(encode([&](Writer& w) { w.compact_bytes_from_file(file.range(0, 10)); }),
            test::concat(bytes_of({11}), text_bytes("0123456789")));
  EXPECT_EQ(encode([&](Writer& w) { w.compact_bytes_from_file(file.range(4, 0)); }), bytes_of({1}));
}

TEST(BytesFromFile, WithFileRangesOnlyTheLengthIsWrittenAndTheRangeKeepsItsPlace) {
  TempFile file("0123456789");
  ASSERT_GE(file.fd(), 0);
  auto owner = std::make_shared<int>(1);
  ByteBuffer buffer;
  buffer.append("xy", 2);
  buffer.consume(1);  // positions count from the first readable byte
  FileRanges files;
  Writer w(buffer, &files);
  w.int8(7);
  w.compact_bytes_from_file(FileRange{owner, file.fd(), 3, 4});
  w.int8(8);
  w.bytes_from_file(file.range(0, 2));
  w.int8(9);

  EXPECT_EQ(to_vec(buffer.span()), bytes_of({'y', 7, 5, 8, 0, 0, 0, 2, 9}));
  ASSERT_EQ(files.entries.size(), 2u);
  EXPECT_EQ(files.bytes, 6u);
  EXPECT_EQ(files.entries[0].at, 3u);  // after 'y', 7 and the length
  EXPECT_EQ(files.entries[0].range.fd, file.fd());
  EXPECT_EQ(files.entries[0].range.offset, 3u);
  EXPECT_EQ(files.entries[0].range.length, 4u);
  EXPECT_EQ(files.entries[0].range.owner, owner);
  EXPECT_EQ(files.entries[1].at, 8u);
  EXPECT_EQ(files.entries[1].range.length, 2u);
}

TEST(BytesFromFile, ARangeThatCannotBeReadThrows) {
  TempFile file("0123");
  ASSERT_GE(file.fd(), 0);
  // Past the end of the file: the bytes promised by the length do not exist.
  EXPECT_THROW(encode([&](Writer& w) { w.bytes_from_file(file.range(2, 5)); }), std::runtime_error);
  EXPECT_THROW(encode([&](Writer& w) {
                 w.bytes_from_file(FileRange{nullptr, -1, 0, 3});
               }),
               std::system_error);
}

struct Partition {
  int32_t index = 0;
  Records records;
  template <class Io>
  void fields(Io& io) {
    io(index);
    io(records);
  }
};

ByteVec encode_partition(const Partition& p, bool flexible, FileRanges* files = nullptr) {
  ByteBuffer buffer;
  Writer w(buffer, files);
  wire::encode(w, p, 0, flexible);
  return to_vec(buffer.span());
}

TEST(RecordsField, AFileRangeEncodesLikeTheSameBytesInMemory) {
  TempFile file("..batches..");
  ASSERT_GE(file.fd(), 0);
  const ByteVec content = text_bytes("batches");
  Partition in_memory{3, {}};
  in_memory.records = std::span<const uint8_t>(content);
  Partition from_file{3, {}};
  from_file.records.file = file.range(2, 7);
  for (bool flexible : {false, true}) {
    EXPECT_EQ(encode_partition(from_file, flexible), encode_partition(in_memory, flexible))
        << "flexible " << flexible;
  }
  Partition null_records{3, {}};
  EXPECT_EQ(encode_partition(null_records, false), bytes_of({0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff}));
}

TEST(RecordsField, DecodesAsAViewWithNoFile) {
  TempFile file("abc");
  ASSERT_GE(file.fd(), 0);
  Partition sent{1, {}};
  sent.records.file = file.range(0, 3);
  FileRanges files;
  ByteVec wire_bytes = encode_partition(sent, true, &files);
  ASSERT_EQ(files.entries.size(), 1u);
  // What the connection sends: the file's bytes at the recorded place.
  wire_bytes.insert(wire_bytes.begin() + static_cast<ptrdiff_t>(files.entries[0].at),
                    {'a', 'b', 'c'});
  Reader reader(wire_bytes);
  Partition received;
  received.records.file = file.range(0, 1);  // decoding replaces whatever was there
  wire::decode(reader, received, 0, true);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(received.index, 1);
  ASSERT_TRUE(received.records.has_value());
  EXPECT_EQ(to_vec(*received.records), text_bytes("abc"));
  EXPECT_FALSE(received.records.file.has_value());
}

}  // namespace
}  // namespace kb::wire
