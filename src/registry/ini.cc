#include "registry/ini.h"

#include <optional>

namespace lade::registry {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::optional<unsigned> hex4(std::string_view s, size_t at) {
  if (at + 4 > s.size()) return std::nullopt;
  unsigned v = 0;
  for (size_t i = at; i < at + 4; ++i) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= static_cast<unsigned>(c - 'A' + 10);
    else
      return std::nullopt;
  }
  return v;
}

/// JSON.parse of a string literal (the text including its quotes); nullopt when invalid.
std::optional<std::string> parse_json_string(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return std::nullopt;
  std::string out;
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    char c = s[i];
    if (c == '"' || static_cast<unsigned char>(c) < 0x20) return std::nullopt;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (i + 1 >= s.size() - 1) return std::nullopt;  // a backslash escaping the closing quote
    switch (s[++i]) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        auto cp = hex4(s.substr(0, s.size() - 1), i + 1);
        if (!cp) return std::nullopt;
        i += 4;
        unsigned code = *cp;
        if (code >= 0xD800 && code < 0xDC00 && i + 2 < s.size() - 1 && s[i + 1] == '\\' &&
            s[i + 2] == 'u') {
          auto low = hex4(s.substr(0, s.size() - 1), i + 3);
          if (low && *low >= 0xDC00 && *low < 0xE000) {
            code = 0x10000 + ((code - 0xD800) << 10) + (*low - 0xDC00);
            i += 6;
          }
        }
        append_utf8(out, code);
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return out;
}

/// ini's `unsafe()`: unquote, or cut an unquoted value at its first unescaped ';' or '#'.
std::string unquote(std::string_view raw) {
  std::string_view val = trim(raw);
  bool double_quoted = !val.empty() && val.front() == '"' && val.back() == '"';
  bool single_quoted = !val.empty() && val.front() == '\'' && val.back() == '\'';
  if (double_quoted || single_quoted) {
    std::string_view inner = val;
    if (single_quoted) inner = val.size() >= 2 ? val.substr(1, val.size() - 2) : std::string_view{};
    if (auto parsed = parse_json_string(inner)) return *parsed;
    // ini keeps the text as it is when JSON.parse fails (numbers and words parse to the same
    // text for our purposes).
    return std::string(inner);
  }
  std::string out;
  bool escaped = false;
  for (char c : val) {
    if (escaped) {
      if (c != '\\' && c != ';' && c != '#') out += '\\';
      out += c;
      escaped = false;
    } else if (c == ';' || c == '#') {
      break;
    } else if (c == '\\') {
      escaped = true;
    } else {
      out += c;
    }
  }
  if (escaped) out += '\\';
  return std::string(trim(out));
}

}  // namespace

std::vector<IniEntry> parse_ini(std::string_view text) {
  std::vector<IniEntry> entries;
  bool in_section = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;

    std::string_view stripped = trim(line);
    if (stripped.empty() || stripped.front() == ';' || stripped.front() == '#') continue;
    if (line.front() == '[') {
      size_t close = line.find(']');
      if (close != std::string_view::npos && trim(line.substr(close + 1)).empty()) {
        in_section = true;
        continue;
      }
    }
    if (in_section) continue;

    size_t eq = line.find('=');
    if (eq == 0) continue;  // ini's pattern needs at least one key character
    std::string key_raw = unquote(line.substr(0, eq));
    bool bracketed = key_raw.size() > 2 && key_raw.ends_with("[]");
    std::string key = bracketed ? key_raw.substr(0, key_raw.size() - 2) : key_raw;
    if (key == "__proto__") continue;
    std::string value = eq == std::string_view::npos ? "true" : unquote(line.substr(eq + 1));

    IniEntry* existing = nullptr;
    for (auto& e : entries) {
      if (e.key == key) existing = &e;
    }
    if (!existing) {
      entries.push_back(IniEntry{key, {}, false});
      existing = &entries.back();
    }
    if (bracketed && !existing->is_array) {
      existing->is_array = true;  // an earlier plain value becomes the first item
    }
    if (existing->is_array) {
      existing->values.push_back(std::move(value));
    } else {
      existing->values.assign(1, std::move(value));
    }
  }
  return entries;
}

std::string replace_env(std::string_view text, const Environment& env) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$' || i + 1 >= text.size() || text[i + 1] != '{') {
      out += text[i++];
      continue;
    }
    size_t name_begin = i + 2;
    size_t j = name_begin;
    while (j < text.size() && text[j] != '$' && text[j] != '{' && text[j] != '}' &&
           text[j] != '?') {
      ++j;
    }
    bool optional = false;
    if (j < text.size() && text[j] == '?') {
      optional = true;
      ++j;
    }
    if (j == name_begin || (optional && j - 1 == name_begin) || j >= text.size() ||
        text[j] != '}') {
      out += text[i++];
      continue;
    }
    std::string_view name = text.substr(name_begin, (optional ? j - 1 : j) - name_begin);
    std::string_view whole = text.substr(i, j + 1 - i);

    // The run of backslashes just before '$' belongs to the match.
    size_t backslashes = 0;
    while (backslashes < out.size() && out[out.size() - 1 - backslashes] == '\\') ++backslashes;
    out.resize(out.size() - backslashes);
    if (backslashes % 2 == 1) {
      // An odd run escapes the expression: half the backslashes remain, the text stays literal.
      out.append((backslashes - 1) / 2, '\\');
      out += whole;
    } else {
      out.append(backslashes / 2, '\\');
      auto it = env.find(name);
      if (it != env.end()) {
        out += it->second;
      } else if (!optional) {
        out += "${" + std::string(name) + "}";
      }
    }
    i = j + 1;
  }
  return out;
}

}  // namespace lade::registry
