#pragma once

// Topic subscriptions by regular expression (ConsumerGroupHeartbeat's
// SubscribedTopicRegex), in Kafka's syntax: RE2J's, matched against a whole
// topic name. std::regex (ECMAScript) reads most RE2 patterns the same; the
// RE2 forms it does not know are rewritten first, and the ECMAScript forms
// RE2 refuses (backreferences, lookaround) are refused, so a pattern matches
// here what it matches on Kafka. Topic names being ASCII letters, digits,
// '.', '_' and '-', the Unicode classes reduce to ASCII ones.

#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>

namespace kb::group {

class TopicRegex {
 public:
  // The compiled pattern, or nullopt when RE2J would refuse it (Kafka's
  // INVALID_REGULAR_EXPRESSION); `why` then says what is wrong.
  static std::optional<TopicRegex> compile(std::string_view pattern, std::string* why = nullptr);
  // The ECMAScript form compile() rewrote the pattern into, or nullopt.
  static std::optional<std::string> to_ecmascript(std::string_view pattern, bool* ignore_case,
                                                  std::string* why);

  bool matches(std::string_view topic) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  std::shared_ptr<const std::regex> regex_;
};

}  // namespace kb::group
