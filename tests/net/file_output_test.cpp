// Tests for file ranges in a connection's output (Connection::add_output_file):
// bytes and ranges arrive in the order they were queued, whole, with both ways
// of sending a range (sendfile, and pread + send with large and tiny chunks),
// to fast and slow readers; ranges count toward the output high-water mark;
// the range's owner is released once sent or when the connection closes; a
// file shorter than its range closes the connection; misplaced ranges are
// refused.

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kb/net/tcp_server.hpp"
#include "net/net_test_support.hpp"

namespace kb::net {
namespace {

using namespace std::chrono_literals;
using test::append;
using test::Bytes;
using test::Client;
using test::ClientThread;
using test::framed;
using test::payload;
using test::put_be32;
using test::RecordingHandler;
using test::run_loop_until;
using test::wait_for;

constexpr int kSmallRcvBuf = 16 * 1024;

// A file's descriptor, closed when the last range holding it is gone.
struct OpenFile {
  int fd = -1;
  ~OpenFile() {
    if (fd >= 0) ::close(fd);
  }
};

size_t open_fd_count() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    ++n;
  return n;
}

struct Mode {
  const char* name;
  FileSendMode send;
  size_t copy_chunk;
};
void PrintTo(const Mode& mode, std::ostream* out) { *out << mode.name; }

class FileOutputTest : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override { fds_at_start_ = open_fd_count(); }
  void TearDown() override {
    server_.reset();
    EXPECT_EQ(open_fd_count(), fds_at_start_) << "a descriptor was leaked";
  }

  void start(ServerOptions options = {}) {
    options.file_send = GetParam().send;
    options.file_copy_chunk = GetParam().copy_chunk;
    server_ = std::make_unique<TcpServer>(loop_, handler_, options);
    ASSERT_EQ(server_->listen({"127.0.0.1", 0}), "");
    port_ = server_->bound_port();
  }

  // Writes `content` to a new (already unlinked) file and returns the shared
  // descriptor that ranges of it hold.
  std::shared_ptr<OpenFile> make_file(const Bytes& content) {
    std::string path = ::testing::TempDir() + "kb_file_output_XXXXXX";
    auto file = std::make_shared<OpenFile>();
    file->fd = ::mkstemp(path.data());
    EXPECT_GE(file->fd, 0);
    ::unlink(path.c_str());
    size_t done = 0;
    while (done < content.size()) {
      ssize_t n = ::write(file->fd, content.data() + done, content.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    EXPECT_EQ(done, content.size());
    return file;
  }

  static FileRange range_of(const std::shared_ptr<OpenFile>& file, uint64_t offset,
                            uint64_t length) {
    return FileRange{file, file->fd, offset, length};
  }

  bool run_until_done(ClientThread& client, int closed) {
    return run_loop_until(loop_, [&] { return client.done() && handler_.closed == closed; });
  }

  EventLoop loop_;
  RecordingHandler handler_;
  std::unique_ptr<TcpServer> server_;
  uint16_t port_ = 0;
  size_t fds_at_start_ = 0;
};

// Appends a frame built from pieces: bytes, and ranges of `file`, in order.
struct Piece {
  Bytes bytes;
  uint64_t offset = 0;
  uint64_t length = 0;  // a file range when bytes is empty
};

void respond_with(Connection& conn, const std::shared_ptr<OpenFile>& file,
                  const std::vector<Piece>& pieces) {
  uint64_t size = 0;
  for (const Piece& p : pieces) size += p.bytes.empty() ? p.length : p.bytes.size();
  Bytes prefix;
  put_be32(prefix, static_cast<uint32_t>(size));
  conn.output().append(prefix.data(), prefix.size());
  for (const Piece& p : pieces) {
    if (p.bytes.empty()) {
      conn.add_output_file(conn.output().size(), FileRange{file, file->fd, p.offset, p.length});
    } else {
      conn.output().append(p.bytes.data(), p.bytes.size());
    }
  }
}

Bytes expected_frame(const Bytes& content, const std::vector<Piece>& pieces) {
  Bytes body;
  for (const Piece& p : pieces) {
    if (p.bytes.empty()) {
      append(body, std::span<const uint8_t>(content).subspan(p.offset, p.length));
    } else {
      append(body, p.bytes);
    }
  }
  return body;
}

// The pieces of the answer to request `i`: ranges between bytes, two ranges
// back to back, a range first and one last.
std::vector<Piece> pieces_for(uint32_t i, size_t file_size) {
  const uint64_t a = (i * 7919u) % (file_size / 2);
  return {
      {{}, a, 1000 + i}, {payload(5, i), 0, 0},       {{}, file_size / 2, file_size / 4},
      {{}, 0, 1},        {payload(3, i + 100), 0, 0}, {{}, a + 17, 300000},
  };
}

TEST_P(FileOutputTest, BytesAndFileRangesArriveInOrder) {
  const Bytes content = payload(3 << 20, 5);
  auto file = make_file(content);
  ASSERT_NO_FATAL_FAILURE(start());
  handler_.respond = [&](Connection& conn, std::span<const uint8_t> frame) {
    respond_with(conn, file, pieces_for(frame[0], content.size()));
  };
  constexpr uint32_t kRequests = 12;
  int matched = 0;
  ClientThread client([&] {
    Client c(port_, 4000ms);
    ASSERT_TRUE(c.connected());
    Bytes wire;
    for (uint32_t i = 0; i < kRequests; ++i) {
      Bytes body = payload(8, i);
      body[0] = static_cast<uint8_t>(i);
      append(wire, framed(body));
    }
    ASSERT_TRUE(c.send_all(wire));  // pipelined: answers must keep this order
    for (uint32_t i = 0; i < kRequests; ++i) {
      auto reply = c.read_frame();
      ASSERT_TRUE(reply.has_value()) << "no reply " << i;
      ASSERT_TRUE(*reply == expected_frame(content, pieces_for(i, content.size())))
          << "reply " << i << " differs";
      ++matched;
    }
  });
  ASSERT_TRUE(run_until_done(client, 1));
  EXPECT_EQ(matched, static_cast<int>(kRequests));
}

// A range far larger than the kernel buffers, to a client that reads slowly:
// it goes out over many writes, and the frames behind it wait, since file
// bytes count toward the high-water mark like any other output.
TEST_P(FileOutputTest, LargeRangeToASlowReaderHoldsBackFurtherFrames) {
  const Bytes content = payload(10 << 20, 9);
  auto file = make_file(content);
  ServerOptions options;
  options.output_high_water = 64 * 1024;
  ASSERT_NO_FATAL_FAILURE(start(options));
  const std::vector<Piece> big = {{payload(9, 1), 0, 0}, {{}, 1, content.size() - 1}};
  std::atomic<size_t> pending_after_first{0};
  handler_.respond = [&](Connection& conn, std::span<const uint8_t> frame) {
    if (frame[0] == 'B') {
      respond_with(conn, file, big);
    } else {
      RecordingHandler::echo(conn, frame);
    }
  };
  Bytes first = payload(8, 1), second = payload(8, 2);
  first[0] = 'B';
  second[0] = 'N';
  int frames_while_blocked = -1;
  ClientThread client([&] {
    Client c(port_, 4000ms, kSmallRcvBuf);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send_all(framed(first)));
    ASSERT_TRUE(wait_for([&] { return handler_.frames == 1; }));
    ASSERT_TRUE(c.send_all(framed(second)));
    std::this_thread::sleep_for(100ms);
    frames_while_blocked = handler_.frames;
    // Read slowly, in small pieces.
    uint8_t prefix[4];
    ASSERT_TRUE(c.read_exact(prefix, 4));
    Bytes body(test::get_be32(prefix));
    size_t got = 0;
    while (got < body.size()) {
      size_t want = std::min<size_t>(body.size() - got, 64 * 1024);
      ASSERT_TRUE(c.read_exact(body.data() + got, want));
      got += want;
      if (got < 1 << 20) std::this_thread::sleep_for(200us);
    }
    EXPECT_TRUE(body == expected_frame(content, big)) << "the big frame differs";
    auto reply = c.read_frame();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(*reply, second);
  });
  ASSERT_TRUE(run_loop_until(loop_, [&] {
    if (handler_.frames == 1 && !handler_.live.empty())
      pending_after_first =
          std::max<size_t>(pending_after_first, handler_.live.begin()->second->pending_output());
    return client.done() && handler_.closed == 1;
  }));
  EXPECT_EQ(frames_while_blocked, 1) << "a frame was handled while output was over the mark";
  EXPECT_GT(pending_after_first, options.output_high_water)
      << "pending_output() leaves out the file bytes still queued";
}

TEST_P(FileOutputTest, TheOwnerIsReleasedOnceSentAndWhenTheConnectionCloses) {
  const Bytes content = payload(12 << 20, 3);
  // The handler hands the file over to the range it queues: from then on only
  // the connection's output holds it.
  std::shared_ptr<OpenFile> next_file = make_file(content);
  std::weak_ptr<OpenFile> watch = next_file;
  ASSERT_NO_FATAL_FAILURE(start());
  handler_.respond = [&](Connection& conn, std::span<const uint8_t> frame) {
    const uint64_t length = frame[0] == 'B' ? content.size() : 10;
    respond_with(conn, std::exchange(next_file, nullptr), {{{}, 0, length}});
  };

  Bytes small = payload(8, 1), big = payload(8, 2);
  small[0] = 'S';
  big[0] = 'B';
  ClientThread sent([&] {
    Client c(port_, 2000ms);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send_all(framed(small)));
    auto reply = c.read_frame();
    ASSERT_TRUE(reply.has_value());
    EXPECT_TRUE(std::equal(reply->begin(), reply->end(), content.begin()));
  });
  ASSERT_TRUE(run_until_done(sent, 1));
  EXPECT_TRUE(watch.expired()) << "a sent range kept its file open";

  // A client that leaves with most of a big range unsent.
  next_file = make_file(content);
  watch = next_file;
  ClientThread left([&] {
    Client c(port_, 2000ms, kSmallRcvBuf);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send_all(framed(big)));
    uint8_t some[4096];
    ASSERT_TRUE(c.read_exact(some, sizeof(some)));
    c.reset();
  });
  ASSERT_TRUE(run_until_done(left, 2));
  EXPECT_TRUE(run_loop_until(
      loop_, [&] { return watch.expired(); }, 1000ms))
      << "a closed connection kept its queued range's file open";
}

TEST_P(FileOutputTest, AFileShorterThanItsRangeClosesTheConnection) {
  const Bytes content = payload(1000, 4);
  auto file = make_file(content);
  ASSERT_NO_FATAL_FAILURE(start());
  // The frame promises 2000 bytes of a 1000-byte file (a truncated segment).
  handler_.respond = [&](Connection& conn, std::span<const uint8_t>) {
    respond_with(conn, file, {{{}, 0, 2000}});
  };
  size_t received = 0;
  ClientThread client([&] {
    Client c(port_, 2000ms);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send_all(framed(payload(8, 0))));
    EXPECT_EQ(c.read_until_closed(&received), Client::End::kClosed);
  });
  ASSERT_TRUE(run_until_done(client, 1));
  EXPECT_EQ(received, 4 + content.size()) << "the prefix and what the file has, then the close";
}

TEST_P(FileOutputTest, MisplacedRangesAreRefused) {
  const Bytes content = payload(100, 1);
  auto file = make_file(content);
  ASSERT_NO_FATAL_FAILURE(start());
  int refused = 0;
  handler_.respond = [&](Connection& conn, std::span<const uint8_t> frame) {
    conn.output().append("abcd", 4);
    // Beyond the bytes written so far.
    try {
      conn.add_output_file(conn.output().size() + 1, range_of(file, 0, 10));
    } catch (const std::invalid_argument&) {
      ++refused;
    }
    conn.add_output_file(3, range_of(file, 20, 10));
    // Before a range already queued.
    try {
      conn.add_output_file(2, range_of(file, 0, 10));
    } catch (const std::invalid_argument&) {
      ++refused;
    }
    conn.add_output_file(4, range_of(file, 0, 0));  // empty: nothing to send
    RecordingHandler::echo(conn, frame);
  };
  Bytes stream;
  const Bytes request = payload(8, 0);
  ClientThread client([&] {
    Client c(port_, 2000ms);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send_all(framed(request)));
    stream.resize(4 + 10 + 4 + request.size());
    ASSERT_TRUE(c.read_exact(stream.data(), stream.size()));
  });
  ASSERT_TRUE(run_loop_until(loop_, [&] { return client.done(); }));
  client.join();
  EXPECT_EQ(refused, 2);
  Bytes expected = {'a', 'b', 'c'};
  append(expected, std::span<const uint8_t>(content).subspan(20, 10));
  expected.push_back('d');
  append(expected, framed(request));
  EXPECT_EQ(stream, expected);
}

INSTANTIATE_TEST_SUITE_P(Modes, FileOutputTest,
                         ::testing::Values(Mode{"sendfile", FileSendMode::kSendfile, 1 << 20},
                                           Mode{"copy", FileSendMode::kCopy, 1 << 20},
                                           Mode{"copy_in_small_chunks", FileSendMode::kCopy, 4096}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace kb::net
