#include "lockfile/lock_json.h"

#include <algorithm>
#include <array>
#include <vector>

#include "manifest/json_text.h"
#include "util/collate.h"

namespace lade::lockfile {
namespace {

// npm's swKeyOrder: these keys come first, in this order, wherever they appear.
constexpr std::array<std::string_view, 8> kPreferredKeys = {
    "name",      "version",  "lockfileVersion", "resolved",
    "integrity", "requires", "packages",        "dependencies"};

int preferred_rank(std::string_view key) {
  for (size_t i = 0; i < kPreferredKeys.size(); ++i) {
    if (kPreferredKeys[i] == key) return static_cast<int>(i);
  }
  return -1;
}

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool is_plain_object(const Json& v) { return v.is_object(); }

/// JSON.stringify keeps at most ten characters of a string gap.
std::string_view cut_indent(std::string_view indent) {
  size_t chars = 0;
  size_t i = 0;
  while (i < indent.size() && chars < 10) {
    unsigned char c = static_cast<unsigned char>(indent[i]);
    i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    ++chars;
  }
  return indent.substr(0, std::min(i, indent.size()));
}

class NiceWriter {
 public:
  NiceWriter(std::string_view indent, std::string_view newline, StreamedObject* streamed = nullptr)
      : indent_(indent), newline_(newline), streamed_(streamed) {}

  void write(const Json& value) {
    if (streamed_ && &value == streamed_->placeholder) {
      write_streamed(*streamed_);
    } else if (value.is_object()) {
      write_object(value);
    } else if (value.is_array()) {
      write_array(value);
    } else {
      out_ += manifest::js_stringify(value);
    }
  }

  std::string take() { return std::move(out_); }

 private:
  void begin_item(bool& first) {
    if (!first) out_ += ',';
    first = false;
    out_ += newline_;
    out_ += current_;
  }

  void write_object(const Json& value) {
    if (value.empty()) {
      out_ += "{}";
      return;
    }
    using Item = const std::pair<const std::string, Json>;
    std::vector<Item*> items;
    items.reserve(value.size());
    for (const auto& item : value.get_ref<const Json::object_t&>()) items.push_back(&item);
    std::sort(items.begin(), items.end(), [](Item* a, Item* b) {
      return lockfile_key_less(a->first, is_plain_object(a->second), b->first,
                               is_plain_object(b->second));
    });
    const size_t outer = current_.size();
    current_ += indent_;
    out_ += '{';
    bool first = true;
    for (Item* item : items) {
      begin_item(first);
      manifest::append_js_string(out_, item->first);
      out_ += ": ";
      write(item->second);
    }
    current_.resize(outer);
    out_ += newline_;
    out_ += current_;
    out_ += '}';
  }

  void write_streamed(StreamedObject& object) {
    if (object.keys.empty()) {
      out_ += "{}";
      return;
    }
    std::vector<size_t> order(object.keys.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&object](size_t a, size_t b) {
      return lockfile_key_less(object.keys[a], true, object.keys[b], true);
    });
    const size_t outer = current_.size();
    current_ += indent_;
    out_ += '{';
    bool first = true;
    for (size_t i : order) {
      begin_item(first);
      manifest::append_js_string(out_, object.keys[i]);
      out_ += ": ";
      write(object.value(i));
    }
    current_.resize(outer);
    out_ += newline_;
    out_ += current_;
    out_ += '}';
  }

  void write_array(const Json& value) {
    if (value.empty()) {
      out_ += "[]";
      return;
    }
    const size_t outer = current_.size();
    current_ += indent_;
    out_ += '[';
    bool first = true;
    for (const Json& item : value) {
      begin_item(first);
      write(item);
    }
    current_.resize(outer);
    out_ += newline_;
    out_ += current_;
    out_ += ']';
  }

  std::string_view indent_;
  std::string_view newline_;
  StreamedObject* streamed_;
  std::string current_;
  std::string out_;
};

}  // namespace

JsonFormat detect_json_format(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  JsonFormat format;
  // `{}` or `[]` alone, optionally followed by line breaks only: the defaults, except that
  // the trailing line breaks become the newline.
  if (text.size() >= 2 && (text.substr(0, 2) == "{}" || text.substr(0, 2) == "[]")) {
    std::string_view rest = text.substr(2);
    size_t i = 0;
    while (i < rest.size()) {
      if (rest[i] == '\n') {
        ++i;
      } else if (rest[i] == '\r' && i + 1 < rest.size() && rest[i + 1] == '\n') {
        i += 2;
      } else {
        break;
      }
    }
    if (i == rest.size()) {
      if (!rest.empty()) format.newline = std::string(rest);
      return format;
    }
  }
  size_t i = 0;
  while (i < text.size() && is_ascii_space(text[i])) ++i;
  if (i < text.size() && (text[i] == '{' || text[i] == '[')) {
    ++i;
    const size_t newline_start = i;
    for (;;) {
      if (i < text.size() && text[i] == '\n') {
        ++i;
      } else if (i + 1 < text.size() && text[i] == '\r' && text[i + 1] == '\n') {
        i += 2;
      } else {
        break;
      }
    }
    if (i > newline_start) {
      format.newline = std::string(text.substr(newline_start, i - newline_start));
      const size_t indent_start = i;
      while (i < text.size() && is_ascii_space(text[i])) ++i;
      format.indent = std::string(text.substr(indent_start, i - indent_start));
      return format;
    }
  }
  format.indent.clear();
  format.newline.clear();
  return format;
}

bool lockfile_key_less(std::string_view a, bool a_object, std::string_view b, bool b_object) {
  if (a_object != b_object) return b_object;
  const int ra = preferred_rank(a);
  const int rb = preferred_rank(b);
  if (ra >= 0 || rb >= 0) {
    if (ra < 0) return false;
    if (rb < 0) return true;
    return ra < rb;
  }
  return util::locale_compare(a, b) < 0;
}

std::string stringify_lockfile(const Json& value, const JsonFormat& format) {
  StreamedObject none;
  return stringify_lockfile(value, format, none);
}

std::string stringify_lockfile(const Json& value, const JsonFormat& format, StreamedObject& streamed) {
  std::string_view indent = format.indent.empty() ? std::string_view("  ") : format.indent;
  std::string_view newline = format.newline.empty() ? std::string_view("\n") : format.newline;
  // npm replaces every "\n" of JSON.stringify's output, including any inside the gap.
  std::string gap;
  for (char c : cut_indent(indent)) {
    if (c == '\n') {
      gap += newline;
    } else {
      gap += c;
    }
  }
  NiceWriter writer(gap, newline, streamed.placeholder ? &streamed : nullptr);
  writer.write(value);
  std::string out = writer.take();
  out += newline;
  return out;
}

}  // namespace lade::lockfile
