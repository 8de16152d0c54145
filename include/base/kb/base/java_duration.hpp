#pragma once

// Durations in the text java.time.Duration.parse reads (ISO-8601), as Kafka's
// configs take them (share.auto.offset.reset's by_duration:<duration>).

#include <cstdint>
#include <optional>
#include <string_view>

namespace kb {

// [+-]P[nD][T[nH][nM][n[.n]S]], each number with an optional sign, letters in
// either case, in milliseconds; nullopt when it does not parse or overflows.
std::optional<int64_t> parse_java_duration_ms(std::string_view text);

}  // namespace kb
