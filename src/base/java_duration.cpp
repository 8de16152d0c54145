#include "kb/base/java_duration.hpp"

#include <cctype>
#include <cmath>
#include <string>

namespace kb {

std::optional<int64_t> parse_java_duration_ms(std::string_view text) {
  size_t i = 0;
  auto upper = [&](size_t at) {
    return at < text.size() ? static_cast<char>(std::toupper(static_cast<unsigned char>(text[at])))
                            : '\0';
  };
  int64_t overall = 1;
  if (upper(i) == '+' || upper(i) == '-') overall = text[i++] == '-' ? -1 : 1;
  if (upper(i) != 'P') return std::nullopt;
  ++i;
  double total_ms = 0;
  bool in_time = false;
  bool any = false;
  while (i < text.size()) {
    if (upper(i) == 'T') {
      if (in_time) return std::nullopt;
      in_time = true;
      ++i;
      if (i == text.size()) return std::nullopt;
      continue;
    }
    double sign = 1;
    if (upper(i) == '+' || upper(i) == '-') sign = text[i++] == '-' ? -1 : 1;
    const size_t digits_at = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == digits_at) return std::nullopt;
    double value = std::stod(std::string(text.substr(digits_at, i - digits_at)));
    if (upper(i) == '.' || upper(i) == ',') {
      const size_t frac_at = ++i;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
      if (i == frac_at || i - frac_at > 9 || upper(i) != 'S') return std::nullopt;
      value += std::stod("0." + std::string(text.substr(frac_at, i - frac_at)));
    }
    const char unit = upper(i++);
    double unit_ms = 0;
    if (!in_time && unit == 'D')
      unit_ms = 86400000.0;
    else if (in_time && unit == 'H')
      unit_ms = 3600000.0;
    else if (in_time && unit == 'M')
      unit_ms = 60000.0;
    else if (in_time && unit == 'S')
      unit_ms = 1000.0;
    else
      return std::nullopt;
    total_ms += sign * value * unit_ms;
    any = true;
  }
  if (!any) return std::nullopt;
  total_ms *= static_cast<double>(overall);
  constexpr double kLimitMs = 4.0e18;  // well inside int64_t
  if (std::fabs(total_ms) > kLimitMs) return std::nullopt;
  return static_cast<int64_t>(total_ms);
}

}  // namespace kb
