#pragma once

// `kafka-broker dump-log`: what Kafka's kafka-dump-log.sh (DumpLogSegments)
// prints for segment files, offset and time indexes and metadata snapshots,
// line for line, with the same options:
//   --files a,b,...          the files (.log, .checkpoint, .index, .timeindex)
//   --print-data-log         each record's key and value (implies --deep-iteration)
//   --deep-iteration         each record's metadata, not only each batch's
//   --cluster-metadata-decoder  values decoded as KRaft metadata records (JSON)
//   --skip-record-metadata   no per-record metadata
//   --index-sanity-check     only Kafka's start-up sanity check of each index
//   --verify-index-only      check index entries against the log, print no entries
//   --max-bytes N            read at most N bytes of each .log
//   --max-message-size N     the largest batch an index check reads
// Checks of indexes and offsets go to `err` as Kafka prints them.

#include <cstdio>
#include <string>
#include <vector>

namespace kb::broker {

// Exit status: 0, or 2 for bad arguments.
int run_dump_log(const std::vector<std::string>& args, std::FILE* out, std::FILE* err);

}  // namespace kb::broker
