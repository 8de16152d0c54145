#pragma once

// `kafka-broker check <log dir | server.properties>`: verifies a log directory
// offline, writing nothing (not even the lock file): meta.properties, the
// metadata log (its records decoded, its snapshots), every partition's
// segments (batch CRCs and offsets, read as recovery reads them, and what the
// next start's recovery would cut and why), the offset and time indexes (as
// Kafka's DumpLogSegments judges them), and the checkpoint files against the
// logs. One line per finding ("DAMAGE  ..."), notes and passed checks besides.
// Exit status 0 when clean, 1 with findings, 2 when the directory cannot be
// read.

#include <cstdio>
#include <filesystem>

namespace kb::broker {

int run_check(const std::filesystem::path& log_dir, std::FILE* out);

}  // namespace kb::broker
