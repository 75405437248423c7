#include "manifest/json_text.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <vector>

namespace lade::manifest {
namespace {

// ---------------------------------------------------------------------------------------------
// JSON.stringify

/// JavaScript's Number.prototype.toString for a finite double (ECMA-262 Number::toString).
void append_js_number(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";  // JSON.stringify(NaN) === "null"
    return;
  }
  if (value == 0) {
    out += '0';  // also -0
    return;
  }
  if (value < 0) {
    out += '-';
    value = -value;
  }
  // Shortest round-trip digits, as JavaScript chooses them.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
  size_t e_at = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_at))
    if (c != '.') digits += c;
  int exponent = 0;
  std::from_chars(sci.data() + e_at + 1 + (sci[e_at + 1] == '+' ? 1 : 0), sci.data() + sci.size(),
                  exponent);
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;  // value = 0.digits * 10^n
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<size_t>(n));
    out += '.';
    out += digits.substr(static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += 'e';
    out += (n - 1 >= 0) ? '+' : '-';
    out += std::to_string(std::abs(n - 1));
  }
}

void stringify_into(std::string& out, const Json& value, std::string_view indent,
                    std::string& current_indent) {
  switch (value.type()) {
    case Json::value_t::null:
    case Json::value_t::discarded:
      out += "null";
      return;
    case Json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::number_integer:
      out += std::to_string(value.get<int64_t>());
      return;
    case Json::value_t::number_unsigned:
      out += std::to_string(value.get<uint64_t>());
      return;
    case Json::value_t::number_float:
      append_js_number(out, value.get<double>());
      return;
    case Json::value_t::string:
      append_js_string(out, value.get_ref<const std::string&>());
      return;
    case Json::value_t::binary:
      out += "null";
      return;
    case Json::value_t::array:
    case Json::value_t::object:
      break;
  }
  const bool is_object = value.is_object();
  const char open = is_object ? '{' : '[';
  const char close = is_object ? '}' : ']';
  if (value.empty()) {
    out += open;
    out += close;
    return;
  }
  const size_t outer = current_indent.size();
  current_indent += indent;
  out += open;
  bool first = true;
  auto begin_item = [&] {
    if (!first) out += ',';
    first = false;
    if (!indent.empty()) {
      out += '\n';
      out += current_indent;
    }
  };
  if (is_object) {
    for (const auto& [key, item] : value.items()) {
      begin_item();
      append_js_string(out, key);
      out += indent.empty() ? ":" : ": ";
      stringify_into(out, item, indent, current_indent);
    }
  } else {
    for (const auto& item : value) {
      begin_item();
      stringify_into(out, item, indent, current_indent);
    }
  }
  current_indent.resize(outer);
  if (!indent.empty()) {
    out += '\n';
    out += current_indent;
  }
  out += close;
}

/// JSON.stringify keeps at most 10 UTF-16 code units of a string gap.
std::string_view cut_gap(std::string_view indent) {
  size_t units = 0;
  size_t i = 0;
  while (i < indent.size() && units < 10) {
    unsigned char c = static_cast<unsigned char>(indent[i]);
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    size_t u = len == 4 ? 2 : 1;
    if (units + u > 10) break;
    units += u;
    i += len;
  }
  return indent.substr(0, std::min(i, indent.size()));
}

// ---------------------------------------------------------------------------------------------
// JSON.parse errors

/// Decodes the UTF-8 code point at `pos` (lenient: a stray byte is returned as itself).
char32_t code_point_at(std::string_view text, size_t pos, size_t* length) {
  unsigned char c = static_cast<unsigned char>(text[pos]);
  size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
  if (pos + len > text.size()) len = 1;
  char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t i = 1; i < len; ++i)
    cp = (cp << 6) | (static_cast<unsigned char>(text[pos + i]) & 0x3F);
  if (length) *length = len;
  return cp;
}

/// JavaScript string index (UTF-16 code units) of byte offset `byte_offset`.
size_t utf16_index(std::string_view text, size_t byte_offset) {
  size_t units = 0;
  for (size_t i = 0; i < byte_offset && i < text.size();) {
    size_t len = 1;
    char32_t cp = code_point_at(text, i, &len);
    units += cp > 0xFFFF ? 2 : 1;
    i += len;
  }
  return units;
}

/// Byte offset of JavaScript string index `index` (clamped to the text).
size_t byte_offset_of(std::string_view text, size_t index) {
  size_t units = 0;
  size_t i = 0;
  while (i < text.size() && units < index) {
    size_t len = 1;
    char32_t cp = code_point_at(text, i, &len);
    units += cp > 0xFFFF ? 2 : 1;
    i += len;
  }
  return i;
}

/// JavaScript's `text.slice(from, to)` with UTF-16 indices, on UTF-8 text.
std::string_view js_slice(std::string_view text, size_t from, size_t to) {
  size_t b = byte_offset_of(text, from);
  size_t e = byte_offset_of(text, to);
  return text.substr(b, e > b ? e - b : 0);
}

enum class V8Error {
  kUnexpectedEnd,
  kUnexpectedToken,
  kUnexpectedNumber,
  kExpectedPropNameOrRBrace,
  kExpectedCommaOrRBrack,
  kExpectedCommaOrRBrace,
  kExpectedColon,
  kExpectedDoubleQuotedPropName,
  kExponentMissingNumber,
  kNoNumberAfterMinus,
  kUnterminatedFraction,
  kUnterminatedString,
  kBadControlCharacter,
  kBadEscapedCharacter,
  kBadUnicodeEscape,
  kNonWhitespaceAfterJson,
};

struct Failure {
  V8Error kind;
  size_t pos;  // byte offset
};

/// A validating scanner that stops at the first error V8's JSON.parse would report there.
class V8JsonScanner {
 public:
  explicit V8JsonScanner(std::string_view text) : text_(text) {}

  std::optional<Failure> run() {
    skip_ws();
    if (auto f = value()) return f;
    skip_ws();
    if (pos_ < text_.size()) return Failure{V8Error::kNonWhitespaceAfterJson, pos_};
    return std::nullopt;
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }
  void skip_ws() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r'))
      ++pos_;
  }
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  static bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  // Containers are tracked on an explicit stack: hostile input may nest deeply.
  enum class Frame { kArray, kObject };

  std::optional<Failure> value() {
    std::vector<Frame> stack;
    for (;;) {
      // Expecting a value here.
      if (at_end()) return Failure{V8Error::kUnexpectedEnd, pos_};
      char c = peek();
      if (c == '{') {
        ++pos_;
        skip_ws();
        if (!at_end() && peek() == '}') {
          ++pos_;
        } else {
          if (at_end() || peek() != '"') return Failure{V8Error::kExpectedPropNameOrRBrace, pos_};
          if (auto f = string()) return f;
          if (auto f = colon()) return f;
          stack.push_back(Frame::kObject);
          continue;
        }
      } else if (c == '[') {
        ++pos_;
        skip_ws();
        if (!at_end() && peek() == ']') {
          ++pos_;
        } else {
          stack.push_back(Frame::kArray);
          continue;
        }
      } else if (c == '"') {
        if (auto f = string()) return f;
      } else if (c == '-' || is_digit(c)) {
        if (auto f = number()) return f;
      } else if (c == 't') {
        if (auto f = literal("true")) return f;
      } else if (c == 'f') {
        if (auto f = literal("false")) return f;
      } else if (c == 'n') {
        if (auto f = literal("null")) return f;
      } else {
        return Failure{V8Error::kUnexpectedToken, pos_};
      }
      // A value is complete: close containers until one wants another element.
      for (;;) {
        if (stack.empty()) return std::nullopt;
        skip_ws();
        if (stack.back() == Frame::kArray) {
          if (!at_end() && peek() == ',') {
            ++pos_;
            skip_ws();
            break;  // next array element
          }
          if (!at_end() && peek() == ']') {
            ++pos_;
            stack.pop_back();
            continue;
          }
          return Failure{V8Error::kExpectedCommaOrRBrack, pos_};
        }
        if (!at_end() && peek() == ',') {
          ++pos_;
          skip_ws();
          if (at_end() || peek() != '"')
            return Failure{V8Error::kExpectedDoubleQuotedPropName, pos_};
          if (auto f = string()) return f;
          if (auto f = colon()) return f;
          break;  // next property value
        }
        if (!at_end() && peek() == '}') {
          ++pos_;
          stack.pop_back();
          continue;
        }
        return Failure{V8Error::kExpectedCommaOrRBrace, pos_};
      }
    }
  }

  std::optional<Failure> colon() {
    skip_ws();
    if (at_end() || peek() != ':') return Failure{V8Error::kExpectedColon, pos_};
    ++pos_;
    skip_ws();
    return std::nullopt;
  }

  std::optional<Failure> literal(std::string_view word) {
    for (char expected : word) {
      if (at_end()) return Failure{V8Error::kUnexpectedEnd, pos_};
      if (peek() != expected) return Failure{V8Error::kUnexpectedToken, pos_};
      ++pos_;
    }
    return std::nullopt;
  }

  std::optional<Failure> string() {
    ++pos_;  // opening quote
    for (;;) {
      if (at_end()) return Failure{V8Error::kUnterminatedString, pos_};
      unsigned char c = static_cast<unsigned char>(peek());
      if (c == '"') {
        ++pos_;
        return std::nullopt;
      }
      if (c < 0x20) return Failure{V8Error::kBadControlCharacter, pos_};
      if (c != '\\') {
        ++pos_;
        continue;
      }
      ++pos_;
      if (at_end()) return Failure{V8Error::kUnexpectedEnd, pos_};
      char e = peek();
      if (e == 'u') {
        ++pos_;
        for (int i = 0; i < 4; ++i) {
          if (at_end() || !is_hex(peek())) return Failure{V8Error::kBadUnicodeEscape, pos_};
          ++pos_;
        }
        continue;
      }
      if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
          e == 't') {
        ++pos_;
        continue;
      }
      return Failure{V8Error::kBadEscapedCharacter, pos_};
    }
  }

  std::optional<Failure> number() {
    if (peek() == '-') {
      ++pos_;
      if (at_end() || !is_digit(peek())) return Failure{V8Error::kNoNumberAfterMinus, pos_};
    }
    if (peek() == '0') {
      ++pos_;
      if (!at_end() && is_digit(peek())) return Failure{V8Error::kUnexpectedNumber, pos_};
    } else {
      while (!at_end() && is_digit(peek())) ++pos_;
    }
    if (!at_end() && peek() == '.') {
      ++pos_;
      if (at_end() || !is_digit(peek())) return Failure{V8Error::kUnterminatedFraction, pos_};
      while (!at_end() && is_digit(peek())) ++pos_;
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      ++pos_;
      if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
      if (at_end() || !is_digit(peek())) return Failure{V8Error::kExponentMissingNumber, pos_};
      while (!at_end() && is_digit(peek())) ++pos_;
    }
    return std::nullopt;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

std::string with_position(const char* what, size_t js_pos) {
  return std::string(what) + " in JSON at position " + std::to_string(js_pos);
}

/// V8's "Unexpected token" message, which quotes (part of) the source instead of a position.
std::string unexpected_token_message(std::string_view text, size_t byte_pos) {
  size_t len = 1;
  code_point_at(text, byte_pos, &len);
  std::string token(text.substr(byte_pos, len));
  std::string msg = "Unexpected token '" + token + "', ";
  const size_t total = utf16_index(text, text.size());
  const size_t pos = utf16_index(text, byte_pos);
  constexpr size_t kContext = 10;  // V8's kMaxContextCharacters
  if (total <= 2 * kContext) {
    msg += "\"" + std::string(text) + "\" is not valid JSON";
  } else if (pos < kContext) {
    msg += "\"" + std::string(js_slice(text, 0, pos + kContext)) + "\"... is not valid JSON";
  } else if (pos + kContext >= total) {
    msg += "...\"" + std::string(js_slice(text, pos - kContext, total)) + "\" is not valid JSON";
  } else {
    msg += "...\"" + std::string(js_slice(text, pos - kContext, pos + kContext)) +
           "\"... is not valid JSON";
  }
  return msg;
}

std::string v8_message(std::string_view text, const Failure& f) {
  const size_t p = utf16_index(text, f.pos);
  switch (f.kind) {
    case V8Error::kUnexpectedEnd:
      return "Unexpected end of JSON input";
    case V8Error::kUnexpectedToken:
      return unexpected_token_message(text, f.pos);
    case V8Error::kUnexpectedNumber:
      return with_position("Unexpected number", p);
    case V8Error::kExpectedPropNameOrRBrace:
      return with_position("Expected property name or '}'", p);
    case V8Error::kExpectedCommaOrRBrack:
      return with_position("Expected ',' or ']' after array element", p);
    case V8Error::kExpectedCommaOrRBrace:
      return with_position("Expected ',' or '}' after property value", p);
    case V8Error::kExpectedColon:
      return with_position("Expected ':' after property name", p);
    case V8Error::kExpectedDoubleQuotedPropName:
      return with_position("Expected double-quoted property name", p);
    case V8Error::kExponentMissingNumber:
      return with_position("Exponent part is missing a number", p);
    case V8Error::kNoNumberAfterMinus:
      return with_position("No number after minus sign", p);
    case V8Error::kUnterminatedFraction:
      return with_position("Unterminated fractional number", p);
    case V8Error::kUnterminatedString:
      return with_position("Unterminated string", p);
    case V8Error::kBadControlCharacter:
      return with_position("Bad control character in string literal", p);
    case V8Error::kBadEscapedCharacter:
      return with_position("Bad escaped character", p);
    case V8Error::kBadUnicodeEscape:
      return with_position("Bad Unicode escape", p);
    case V8Error::kNonWhitespaceAfterJson:
      return "Unexpected non-whitespace character after JSON at position " + std::to_string(p);
  }
  return "Unexpected end of JSON input";
}

/// json-parse-even-better-errors' rewording: the bad token with its code, then where.
std::string npm_message(std::string_view text, const Failure& f, const std::string& v8) {
  if (text.empty()) return v8 + " while parsing empty string";
  std::string msg = v8;
  std::optional<size_t> index;
  if (f.kind == V8Error::kUnexpectedToken) {
    size_t len = 1;
    char32_t cp = code_point_at(text, f.pos, &len);
    std::string quoted;
    append_js_string(quoted, text.substr(f.pos, len));
    char hex[16];
    unsigned unit = cp > 0xFFFF ? 0xD800 + ((cp - 0x10000) >> 10) : static_cast<unsigned>(cp);
    std::snprintf(hex, sizeof hex, "%X", unit);
    std::string h = hex;
    if (h.size() % 2) h = "0" + h;
    // "Unexpected token 'x', " -> "Unexpected token "x" (0x78), "
    size_t rest = msg.find("', ");
    msg = "Unexpected token " + quoted + " (0x" + h + ")," + msg.substr(rest + 2);
  } else if (f.kind == V8Error::kUnexpectedEnd) {
    index = utf16_index(text, text.size()) - 1;
  } else {
    index = utf16_index(text, f.pos);
  }
  if (!index) {
    return msg + " while parsing '" + std::string(js_slice(text, 0, 40)) + "'";
  }
  constexpr size_t kContext = 20;
  const size_t total = utf16_index(text, text.size());
  const size_t start = *index <= kContext ? 0 : *index - kContext;
  const size_t end = *index + kContext >= total ? total : *index + kContext;
  std::string slice =
      (start ? "..." : "") + std::string(js_slice(text, start, end)) + (end == total ? "" : "...");
  std::string quoted;
  append_js_string(quoted, slice);
  return msg + " while parsing " + (slice == text ? "" : "near ") + quoted;
}

}  // namespace

void append_js_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

std::string js_stringify(const Json& value, std::string_view indent) {
  std::string out;
  std::string current;
  stringify_into(out, value, cut_gap(indent), current);
  return out;
}

std::optional<JsonSyntaxError> find_json_syntax_error(std::string_view text) {
  auto failure = V8JsonScanner(text).run();
  if (!failure) return std::nullopt;
  JsonSyntaxError err;
  err.offset = std::min(failure->pos, text.size());
  err.v8_message = v8_message(text, *failure);
  err.npm_message = npm_message(text, *failure, err.v8_message);
  size_t line_start = 0;
  for (size_t i = 0; i < err.offset; ++i) {
    if (text[i] == '\n') {
      ++err.line;
      line_start = i + 1;
    }
  }
  // Column counts characters, not bytes.
  size_t column = 1;
  for (size_t i = line_start; i < err.offset;) {
    size_t len = 1;
    code_point_at(text, i, &len);
    i += len;
    ++column;
  }
  err.column = column;
  return err;
}

}  // namespace lade::manifest
