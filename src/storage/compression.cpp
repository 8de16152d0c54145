#include "kb/storage/compression.hpp"

#include <lz4.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <string>

namespace kb::storage {

namespace {

// xerial snappy-java's stream header: magic, then int32 version and int32
// oldest compatible version.
constexpr std::array<uint8_t, 8> kXerialMagic = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr size_t kXerialHeaderSize = 16;
constexpr size_t kXerialBlockSize = size_t{32} * 1024;
// How much an output buffer grows by at least.
constexpr size_t kOutputChunk = size_t{64} * 1024;

uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
void append_be32(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 24));
  out.push_back(static_cast<uint8_t>(v >> 16));
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

Error too_large(size_t max_bytes) {
  return Error{"decompressed records larger than " + std::to_string(max_bytes) + " bytes"};
}

// Grows `out` by up to `chunk` bytes within max_bytes; false when it is full.
bool grow(std::vector<uint8_t>& out, size_t& used, size_t max_bytes, size_t chunk) {
  if (used < out.size()) return true;
  if (out.size() >= max_bytes) return false;
  out.resize(std::min(max_bytes, out.size() + std::max(chunk, out.size())));
  return true;
}

Result<std::vector<uint8_t>> gunzip(Bytes in, size_t max_bytes) {
  std::vector<uint8_t> out;
  size_t used = 0;
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return Error{"gzip: inflateInit2 failed"};
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, &inflateEnd);
  z.next_in = const_cast<Bytef*>(in.data());  // zlib's API is not const-correct
  z.avail_in = static_cast<uInt>(in.size());
  for (;;) {
    if (!grow(out, used, max_bytes, kOutputChunk)) return too_large(max_bytes);
    z.next_out = out.data() + used;
    z.avail_out = static_cast<uInt>(out.size() - used);
    const int rc = inflate(&z, Z_NO_FLUSH);
    used = out.size() - z.avail_out;
    if (rc == Z_STREAM_END) {
      // Another member may follow, as GZIPInputStream reads them; anything
      // else after a member is ignored, as it does.
      if (z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
        inflateReset(&z);
        continue;
      }
      break;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0) return Error{"gzip: data ends inside a member"};
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      return Error{std::string("gzip: ") + (z.msg != nullptr ? z.msg : "corrupt data")};
  }
  out.resize(used);
  return out;
}

Status snappy_block(Bytes block, std::vector<uint8_t>& out, size_t max_bytes) {
  size_t length = 0;
  if (snappy_uncompressed_length(reinterpret_cast<const char*>(block.data()), block.size(),
                                 &length) != SNAPPY_OK)
    return Error{"snappy: corrupt block"};
  if (length > max_bytes - out.size()) return too_large(max_bytes);
  const size_t at = out.size();
  out.resize(at + length);
  size_t written = length;
  if (snappy_uncompress(reinterpret_cast<const char*>(block.data()), block.size(),
                        reinterpret_cast<char*>(out.data() + at), &written) != SNAPPY_OK ||
      written != length)
    return Error{"snappy: corrupt block"};
  return {};
}

bool has_xerial_magic(Bytes in) {
  return in.size() >= kXerialHeaderSize &&
         std::equal(kXerialMagic.begin(), kXerialMagic.end(), in.begin());
}

Result<std::vector<uint8_t>> unsnappy(Bytes in, size_t max_bytes) {
  std::vector<uint8_t> out;
  if (!has_xerial_magic(in)) {
    if (Status s = snappy_block(in, out, max_bytes); !s) return s.error();
    return out;
  }
  size_t at = kXerialHeaderSize;
  while (at < in.size()) {
    Bytes rest = in.subspan(at);
    // A new stream's header (xerial's streams may be concatenated).
    if (has_xerial_magic(rest)) {
      at += kXerialHeaderSize;
      continue;
    }
    if (rest.size() < 4) return Error{"snappy: data ends inside a block length"};
    const uint32_t length = load_be32(rest.data());
    if (length > static_cast<uint32_t>(INT32_MAX)) return Error{"snappy: negative block length"};
    if (length > rest.size() - 4) return Error{"snappy: data ends inside a block"};
    if (Status s = snappy_block(rest.subspan(4, length), out, max_bytes); !s) return s.error();
    at += 4 + length;
  }
  return out;
}

Result<std::vector<uint8_t>> unlz4(Bytes in, size_t max_bytes) {
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION)))
    return Error{"lz4: no decompression context"};
  std::unique_ptr<LZ4F_dctx, LZ4F_errorCode_t (*)(LZ4F_dctx*)> ctx(raw,
                                                                   &LZ4F_freeDecompressionContext);
  std::vector<uint8_t> out;
  size_t used = 0;
  size_t at = 0;
  for (;;) {
    if (!grow(out, used, max_bytes, kOutputChunk)) return too_large(max_bytes);
    size_t out_size = out.size() - used;
    size_t in_size = in.size() - at;
    const size_t hint =
        LZ4F_decompress(ctx.get(), out.data() + used, &out_size, in.data() + at, &in_size, nullptr);
    if (LZ4F_isError(hint)) return Error{std::string("lz4: ") + LZ4F_getErrorName(hint)};
    used += out_size;
    at += in_size;
    // One frame, as Kafka reads: what follows its end mark is ignored.
    if (hint == 0) break;
    if (at == in.size() && out_size == 0) return Error{"lz4: data ends inside the frame"};
  }
  out.resize(used);
  return out;
}

Result<std::vector<uint8_t>> unzstd(Bytes in, size_t max_bytes) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
  if (!ctx) return Error{"zstd: no decompression context"};
  std::vector<uint8_t> out;
  size_t used = 0;
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  size_t pending = 1;  // 0 once the last frame read is complete
  while (input.pos < input.size || pending != 0) {
    if (!grow(out, used, max_bytes, kOutputChunk)) return too_large(max_bytes);
    ZSTD_outBuffer output{out.data() + used, out.size() - used, 0};
    const size_t before_in = input.pos;
    pending = ZSTD_decompressStream(ctx.get(), &output, &input);
    if (ZSTD_isError(pending)) return Error{std::string("zstd: ") + ZSTD_getErrorName(pending)};
    used += output.pos;
    if (pending != 0 && input.pos == input.size && output.pos == 0 && before_in == input.pos)
      return Error{"zstd: data ends inside a frame"};
  }
  out.resize(used);
  return out;
}

Result<std::vector<uint8_t>> gzip(Bytes plain) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return Error{"gzip: deflateInit2 failed"};
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, &deflateEnd);
  std::vector<uint8_t> out(deflateBound(&z, static_cast<uLong>(plain.size())));
  z.next_in = const_cast<Bytef*>(plain.data());  // zlib's API is not const-correct
  z.avail_in = static_cast<uInt>(plain.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) return Error{"gzip: deflate failed"};
  out.resize(z.total_out);
  return out;
}

Result<std::vector<uint8_t>> snappy(Bytes plain) {
  std::vector<uint8_t> out(kXerialMagic.begin(), kXerialMagic.end());
  append_be32(out, 1);  // version
  append_be32(out, 1);  // oldest compatible version
  for (size_t at = 0; at < plain.size(); at += kXerialBlockSize) {
    Bytes block = plain.subspan(at, std::min(kXerialBlockSize, plain.size() - at));
    size_t length = snappy_max_compressed_length(block.size());
    std::vector<uint8_t> compressed(length);
    if (snappy_compress(reinterpret_cast<const char*>(block.data()), block.size(),
                        reinterpret_cast<char*>(compressed.data()), &length) != SNAPPY_OK)
      return Error{"snappy: compression failed"};
    append_be32(out, static_cast<uint32_t>(length));
    out.insert(out.end(), compressed.begin(), compressed.begin() + static_cast<ptrdiff_t>(length));
  }
  return out;
}

Result<std::vector<uint8_t>> lz4(Bytes plain) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  std::vector<uint8_t> out(LZ4F_compressFrameBound(plain.size(), &prefs));
  const size_t n = LZ4F_compressFrame(out.data(), out.size(), plain.data(), plain.size(), &prefs);
  if (LZ4F_isError(n)) return Error{std::string("lz4: ") + LZ4F_getErrorName(n)};
  out.resize(n);
  return out;
}

Result<std::vector<uint8_t>> zstd(Bytes plain) {
  std::vector<uint8_t> out(ZSTD_compressBound(plain.size()));
  const size_t n = ZSTD_compress(out.data(), out.size(), plain.data(), plain.size(), 3);
  if (ZSTD_isError(n)) return Error{std::string("zstd: ") + ZSTD_getErrorName(n)};
  out.resize(n);
  return out;
}

}  // namespace

Result<std::vector<uint8_t>> decompress(Compression codec, Bytes compressed, size_t max_bytes) {
  switch (codec) {
    case Compression::none:
      if (compressed.size() > max_bytes) return too_large(max_bytes);
      return std::vector<uint8_t>(compressed.begin(), compressed.end());
    case Compression::gzip:
      return gunzip(compressed, max_bytes);
    case Compression::snappy:
      return unsnappy(compressed, max_bytes);
    case Compression::lz4:
      return unlz4(compressed, max_bytes);
    case Compression::zstd:
      return unzstd(compressed, max_bytes);
  }
  return Error{"unknown compression codec " + std::to_string(static_cast<int>(codec))};
}

Result<std::vector<uint8_t>> compress(Compression codec, Bytes plain) {
  switch (codec) {
    case Compression::none:
      return std::vector<uint8_t>(plain.begin(), plain.end());
    case Compression::gzip:
      return gzip(plain);
    case Compression::snappy:
      return snappy(plain);
    case Compression::lz4:
      return lz4(plain);
    case Compression::zstd:
      return zstd(plain);
  }
  return Error{"unknown compression codec " + std::to_string(static_cast<int>(codec))};
}

}  // namespace kb::storage
