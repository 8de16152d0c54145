// The text files the broker reads: meta.properties and partition.metadata from
// the log directory (which may be damaged), and server.properties through the
// same Java properties parser. A parse error is fine; what parses must
// round-trip through the formatter.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "kb/base/java_properties.hpp"
#include "kb/broker/config.hpp"
#include "kb/storage/meta_properties.hpp"
#include "kb/storage/partition_log.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kb;
  static const bool quiet = [] {
    fuzz::quiet_logs();
    return true;
  }();
  (void)quiet;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  std::string syntax_error;
  (void)parse_java_properties(text, syntax_error);
  (void)broker::parse_config(text, "fuzz.properties", {});

  if (auto meta = storage::parse_meta_properties(text)) {
    auto again = storage::parse_meta_properties(storage::format_meta_properties(*meta));
    if (!again || !(*again == *meta)) std::abort();
  }
  if (auto partition = storage::parse_partition_metadata(text)) {
    auto again = storage::parse_partition_metadata(storage::format_partition_metadata(*partition));
    if (!again || again->topic_id != partition->topic_id) std::abort();
  }
  return 0;
}
