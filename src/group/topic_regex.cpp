#include "kb/group/topic_regex.hpp"

#include <cctype>

namespace kb::group {

namespace {

bool is_ecma_special(char c) {
  return std::string_view("\\^$.|?*+()[]{}/").find(c) != std::string_view::npos;
}

// \p and \P classes RE2 knows, reduced to the ASCII topic names are made of.
std::optional<std::string> unicode_class(std::string_view name, bool negated) {
  std::string set;
  if (name == "L" || name == "Latin" || name == "Lu" || name == "Ll") {
    set = name == "Lu" ? "A-Z" : name == "Ll" ? "a-z" : "A-Za-z";
  } else if (name == "N" || name == "Nd") {
    set = "0-9";
  } else if (name == "P" || name == "Pd" || name == "Pc" || name == "Po") {
    set = name == "Pd" ? "\\-" : name == "Pc" ? "_" : name == "Po" ? "." : "._\\-";
  } else {
    return std::nullopt;
  }
  return std::string(negated ? "[^" : "[") + set + "]";
}

}  // namespace

std::optional<std::string> TopicRegex::to_ecmascript(std::string_view p, bool* ignore_case,
                                                     std::string* why) {
  auto fail = [&](std::string text) -> std::optional<std::string> {
    if (why) *why = std::move(text);
    return std::nullopt;
  };
  *ignore_case = false;
  std::string out;
  size_t i = 0;
  // Leading flags: (?i) and the flags that change nothing for a one-line name.
  if (p.starts_with("(?")) {
    const size_t close = p.find(')');
    if (close != std::string_view::npos) {
      const std::string_view flags = p.substr(2, close - 2);
      if (!flags.empty() && flags.find_first_not_of("imsU") == std::string_view::npos) {
        if (flags.find('U') != std::string_view::npos)
          return fail("the U (ungreedy) flag is not supported");
        *ignore_case = flags.find('i') != std::string_view::npos;
        i = close + 1;
      }
    }
  }
  bool in_class = false;
  while (i < p.size()) {
    const char c = p[i];
    if (c == '\\') {
      if (i + 1 >= p.size()) return fail("trailing backslash");
      const char e = p[i + 1];
      if (std::isdigit(static_cast<unsigned char>(e)) && e != '0')
        return fail("backreferences are not supported");
      if (e == 'Q') {  // \Q...\E: literal text
        const size_t end = p.find("\\E", i + 2);
        const std::string_view literal =
            p.substr(i + 2, end == std::string_view::npos ? std::string_view::npos : end - i - 2);
        for (char l : literal) {
          if (is_ecma_special(l) || (in_class && (l == '-' || l == '^'))) out += '\\';
          out += l;
        }
        i = end == std::string_view::npos ? p.size() : end + 2;
        continue;
      }
      if (e == 'A') {
        out += '^';
        i += 2;
        continue;
      }
      if (e == 'z') {
        out += '$';
        i += 2;
        continue;
      }
      if (e == 'p' || e == 'P') {
        std::string_view name;
        size_t next = i + 2;
        if (next < p.size() && p[next] == '{') {
          const size_t close = p.find('}', next);
          if (close == std::string_view::npos) return fail("unterminated \\p{...}");
          name = p.substr(next + 1, close - next - 1);
          next = close + 1;
        } else if (next < p.size()) {
          name = p.substr(next, 1);
          ++next;
        }
        bool negated = e == 'P';
        if (name.starts_with('^')) {
          negated = !negated;
          name.remove_prefix(1);
        }
        auto cls = unicode_class(name, negated);
        if (!cls) return fail("unknown character class \\p{" + std::string(name) + "}");
        if (in_class) {
          // Inside brackets only the set itself.
          if (negated) return fail("a negated \\P class inside brackets is not supported");
          out += cls->substr(1, cls->size() - 2);
        } else {
          out += *cls;
        }
        i = next;
        continue;
      }
      out += c;
      out += e;
      i += 2;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      if (c == '[' && i + 1 < p.size() && p[i + 1] == ':') {
        // [:alpha:] and its kind: ECMAScript reads them too.
        const size_t close = p.find(":]", i + 2);
        if (close == std::string_view::npos) return fail("unterminated [: :] class");
        out.append(p.substr(i, close + 2 - i));
        i = close + 2;
        continue;
      }
      out += c;
      ++i;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      ++i;
      // A ']' right after '[' or '[^' is a literal in RE2.
      if (i < p.size() && p[i] == '^') out += p[i++];
      if (i < p.size() && p[i] == ']') {
        out += "\\]";
        ++i;
      }
      continue;
    }
    if (c == '(' && i + 1 < p.size() && p[i + 1] == '?') {
      const std::string_view rest = p.substr(i + 2);
      if (rest.starts_with(':')) {
        out += "(?:";
        i += 3;
        continue;
      }
      if (rest.starts_with("P<") || rest.starts_with('<')) {
        // A named group: RE2 has them, ECMAScript (C++) does not; the name
        // does not change what matches.
        if (rest.starts_with("<=") || rest.starts_with("<!"))
          return fail("lookbehind is not supported");
        const size_t close = p.find('>', i);
        if (close == std::string_view::npos) return fail("unterminated group name");
        out += '(';
        i = close + 1;
        continue;
      }
      if (rest.starts_with('=') || rest.starts_with('!')) return fail("lookahead is not supported");
      return fail("flags inside the pattern are not supported");
    }
    out += c;
    ++i;
  }
  if (in_class) return fail("missing closing ]");
  return out;
}

std::optional<TopicRegex> TopicRegex::compile(std::string_view pattern, std::string* why) {
  bool ignore_case = false;
  auto ecma = to_ecmascript(pattern, &ignore_case, why);
  if (!ecma) return std::nullopt;
  try {
    auto flags = std::regex::ECMAScript | std::regex::optimize;
    if (ignore_case) flags |= std::regex::icase;
    TopicRegex out;
    out.pattern_ = std::string(pattern);
    out.regex_ = std::make_shared<const std::regex>(*ecma, flags);
    return out;
  } catch (const std::regex_error& e) {
    if (why) *why = e.what();
    return std::nullopt;
  }
}

bool TopicRegex::matches(std::string_view topic) const {
  return regex_ && std::regex_match(topic.begin(), topic.end(), *regex_);
}

}  // namespace kb::group
