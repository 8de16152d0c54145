#include "kb/security/jaas.hpp"

#include <cstdint>
#include <optional>

namespace kb::security {

namespace {

// One token as Java's StreamTokenizer returns it, with the character classes
// JaasConfig sets up.
struct Token {
  enum class Kind { kEof, kWord, kQuoted, kNumber, kChar };
  Kind kind = Kind::kEof;
  std::string text;  // the word or the quoted string
  uint32_t ch = 0;   // kChar: the character
  bool has_text() const { return kind == Kind::kWord || kind == Kind::kQuoted; }
};

class Tokenizer {
 public:
  explicit Tokenizer(std::string_view text) : text_(text) {}

  Token next() {
    uint32_t c = 0;
    // Whitespace: every character up to ' '.
    while (true) {
      if (!peek(c)) return {};
      if (c > ' ') break;
      advance();
    }
    if (is_digit_class(c)) return number_or_minus();
    if (is_word_start(c)) return word();
    if (c == '"' || c == '\'') return quoted(c);
    if (c == '/') {
      advance();
      uint32_t d = 0;
      if (peek(d) && d == '*') {
        advance();
        uint32_t prev = 0;
        while (peek(d)) {
          advance();
          if (prev == '*' && d == '/') return next();
          prev = d;
        }
        return {};  // an unterminated comment runs to the end
      }
      // "//" or a lone '/' (also a comment character): to the end of the line.
      skip_line();
      return next();
    }
    advance();
    Token t;
    t.kind = Token::Kind::kChar;
    t.ch = c;
    return t;
  }

 private:
  // The next character (a UTF-8 code point, or one byte as Latin-1 where the
  // text is not valid UTF-8) and how many bytes it takes.
  bool peek(uint32_t& c) {
    if (pos_ >= text_.size()) return false;
    const auto b0 = static_cast<uint8_t>(text_[pos_]);
    width_ = 1;
    c = b0;
    if (b0 < 0x80) return true;
    size_t n = 0;
    uint32_t cp = 0;
    if ((b0 & 0xE0) == 0xC0) {
      n = 2;
      cp = b0 & 0x1Fu;
    } else if ((b0 & 0xF0) == 0xE0) {
      n = 3;
      cp = b0 & 0x0Fu;
    } else if ((b0 & 0xF8) == 0xF0) {
      n = 4;
      cp = b0 & 0x07u;
    } else {
      return true;
    }
    if (pos_ + n > text_.size()) return true;
    for (size_t i = 1; i < n; ++i) {
      const auto b = static_cast<uint8_t>(text_[pos_ + i]);
      if ((b & 0xC0) != 0x80) return true;
      cp = (cp << 6) | (b & 0x3Fu);
    }
    width_ = n;
    c = cp;
    return true;
  }
  void advance() { pos_ += width_; }
  std::string_view current() const { return text_.substr(pos_, width_); }

  void skip_line() {
    uint32_t c = 0;
    while (peek(c) && c != '\n' && c != '\r') advance();
  }

  // parseNumbers(): digits, '.' and '-' start numbers and continue words.
  static bool is_digit_class(uint32_t c) { return (c >= '0' && c <= '9') || c == '.' || c == '-'; }
  // '-' is made a word character too, but a number is looked for first.
  static bool is_word_start(uint32_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0xA0 || c == '_' || c == '$' ||
           c == '-';
  }
  static bool is_word_part(uint32_t c) { return is_word_start(c) || is_digit_class(c); }

  Token number_or_minus() {
    uint32_t c = 0;
    peek(c);
    advance();
    if (c == '-') {
      uint32_t d = 0;
      if (!peek(d) || (d != '.' && (d < '0' || d > '9'))) {
        Token t;
        t.kind = Token::Kind::kChar;
        t.ch = '-';
        return t;
      }
    }
    // Digits and at most one '.'; what follows is the next token.
    bool seen_dot = c == '.';
    while (peek(c)) {
      if (c == '.' && !seen_dot) {
        seen_dot = true;
      } else if (c < '0' || c > '9') {
        break;
      }
      advance();
    }
    Token t;
    t.kind = Token::Kind::kNumber;
    return t;
  }

  Token word() {
    Token t;
    t.kind = Token::Kind::kWord;
    uint32_t c = 0;
    while (peek(c) && is_word_part(c)) {
      t.text += current();
      advance();
    }
    return t;
  }

  static bool is_octal(uint32_t c) { return c >= '0' && c <= '7'; }

  Token quoted(uint32_t quote) {
    advance();
    Token t;
    t.kind = Token::Kind::kQuoted;
    uint32_t c = 0;
    while (peek(c) && c != quote && c != '\n' && c != '\r') {
      if (c != '\\') {
        t.text += current();
        advance();
        continue;
      }
      advance();
      if (!peek(c)) break;
      if (is_octal(c)) {
        // Up to three octal digits (three only when the first is 0-3).
        uint32_t value = c - '0';
        advance();
        const uint32_t first = value;
        uint32_t d = 0;
        if (peek(d) && is_octal(d)) {
          value = value * 8 + (d - '0');
          advance();
          if (first <= 3 && peek(d) && is_octal(d)) {
            value = value * 8 + (d - '0');
            advance();
          }
        }
        append_utf8(t.text, value);
        continue;
      }
      std::optional<char> escaped;
      switch (c) {
        case 'a':
          escaped = '\a';
          break;
        case 'b':
          escaped = '\b';
          break;
        case 'f':
          escaped = '\f';
          break;
        case 'n':
          escaped = '\n';
          break;
        case 'r':
          escaped = '\r';
          break;
        case 't':
          escaped = '\t';
          break;
        case 'v':
          escaped = '\v';
          break;
        default:
          break;
      }
      if (escaped) {
        t.text += *escaped;
      } else {
        t.text += current();
      }
      advance();
    }
    if (peek(c) && c == quote) advance();  // the closing quote (a line end stays)
    return t;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  size_t width_ = 1;
};

std::optional<std::string> control_flag(const Token& t, std::string& error) {
  if (!t.has_text()) {
    error = "Login module control flag is not available in the JAAS config";
    return std::nullopt;
  }
  std::string upper;
  for (char ch : t.text) {
    upper += (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 'a' + 'A') : ch;
  }
  if (upper == "REQUIRED" || upper == "REQUISITE" || upper == "SUFFICIENT" || upper == "OPTIONAL")
    return upper;
  error = "Invalid login module control flag '" + t.text + "' in JAAS config";
  return std::nullopt;
}

bool is_char(const Token& t, uint32_t c) { return t.kind == Token::Kind::kChar && t.ch == c; }

}  // namespace

JaasParseResult parse_jaas_config(std::string_view text) {
  JaasParseResult result;
  Tokenizer tokens(text);
  for (Token t = tokens.next(); t.kind != Token::Kind::kEof; t = tokens.next()) {
    JaasEntry entry;
    entry.login_module = t.text;  // a number or a character names no module
    if (!t.has_text() || entry.login_module.empty()) {
      result.error = "Login module name must not be null or empty in JAAS config";
      return result;
    }
    Token flag = tokens.next();
    if (flag.kind == Token::Kind::kEof) {
      result.error = "Login module control flag not specified in JAAS config";
      return result;
    }
    std::optional<std::string> parsed_flag = control_flag(flag, result.error);
    if (!parsed_flag) return result;
    entry.control_flag = std::move(*parsed_flag);
    Token key = tokens.next();
    while (key.kind != Token::Kind::kEof && !is_char(key, ';')) {
      const Token eq = tokens.next();
      const Token value = is_char(eq, '=') ? tokens.next() : Token{};
      if (!value.has_text()) {
        result.error = "Value not specified for key '" + (key.has_text() ? key.text : "null") +
                       "' in JAAS config";
        return result;
      }
      // A later value of the same key wins, as in a Java map.
      entry.options[key.text] = value.text;
      key = tokens.next();
    }
    if (!is_char(key, ';')) {
      result.error = "JAAS config entry not terminated by semi-colon";
      return result;
    }
    result.entries.push_back(std::move(entry));
  }
  if (result.entries.empty()) result.error = "Login module not specified in JAAS config";
  return result;
}

const std::string* jaas_option(const std::vector<JaasEntry>& entries, std::string_view login_module,
                               std::string_view key) {
  for (const JaasEntry& e : entries) {
    if (e.login_module != login_module) continue;
    auto it = e.options.find(key);
    if (it != e.options.end()) return &it->second;
  }
  return nullptr;
}

}  // namespace kb::security
