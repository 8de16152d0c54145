#pragma once

// The records section of a compressed batch in Kafka's four codecs, as Kafka's
// Java readers take them:
//   gzip    one or more gzip members (GZIPInputStream)
//   snappy  xerial's framing (magic header, then length-prefixed snappy
//           blocks; another header may start a new stream), or one raw snappy
//           block when the magic header is absent (SnappyInputStream)
//   lz4     LZ4 frames (KafkaLZ4BlockInputStream)
//   zstd    zstd frames, one after another (ZstdInputStream)

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kb/storage/record_batch.hpp"
#include "kb/storage/result.hpp"

namespace kb::storage {

// Most bytes a compressed records section may expand to here: a batch is at
// most message.max.bytes compressed, but a hostile one may expand far more.
inline constexpr size_t kMaxDecompressedRecordsBytes = size_t{128} * 1024 * 1024;

// Decompresses `compressed` with `codec`; more than `max_bytes` of output is
// an error, and so is anything the codec's reader would refuse. Compression::none
// gives the bytes back as they are.
Result<std::vector<uint8_t>> decompress(Compression codec, Bytes compressed,
                                        size_t max_bytes = kMaxDecompressedRecordsBytes);

// Compresses `plain` as Kafka's producers do (gzip: one member; snappy:
// xerial's framing in 32 KiB blocks; lz4: one frame of independent 64 KiB
// blocks; zstd: one frame). For building batches: tests, seeds, tools.
Result<std::vector<uint8_t>> compress(Compression codec, Bytes plain);

}  // namespace kb::storage
