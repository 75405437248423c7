#include "store/tar_reader.h"

#include <cstring>
#include <limits>

namespace lade::store {
namespace {

constexpr size_t kBlock = 512;

/// A fixed-width field of a tar header.
struct Field {
  size_t offset;
  size_t size;
};
constexpr Field kName{0, 100};
constexpr Field kMode{100, 8};
constexpr Field kUid{108, 8};
constexpr Field kGid{116, 8};
constexpr Field kSize{124, 12};
constexpr Field kMtime{136, 12};
constexpr Field kChecksum{148, 8};
constexpr size_t kTypeflag = 156;
constexpr size_t kMagic = 257;
constexpr Field kDevMajor{329, 8};
constexpr Field kDevMinor{337, 8};
constexpr Field kPrefix{345, 155};
// GNU tar keeps sparse maps where ustar has its prefix.
constexpr size_t kGnuFirstSparseOffset = 386;
constexpr size_t kGnuRealSize = 483;

// libarchive refuses special headers (pax, long names) bigger than this.
constexpr int64_t kMaxSpecialHeader = 1048576;
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

bool is_zero_block(const char* h) {
  for (size_t i = 0; i < kBlock; ++i) {
    if (h[i] != 0) return false;
  }
  return true;
}

/// A number in `base`, as libarchive reads header fields: leading blanks, an optional '-', then
/// digits up to the first non-digit; an overflow saturates.
int64_t parse_digits(const char* p, size_t n, int base) {
  while (n != 0 && (*p == ' ' || *p == '\t')) {
    ++p;
    --n;
  }
  bool negative = false;
  int64_t saturated = kInt64Max;
  int64_t limit = kInt64Max / base;
  int64_t last_digit_limit = kInt64Max % base;
  if (n != 0 && *p == '-') {
    negative = true;
    ++p;
    --n;
    saturated = kInt64Min;
    limit = -(kInt64Min / base);
    last_digit_limit = -(kInt64Min % base);
  }
  int64_t value = 0;
  for (; n != 0; ++p, --n) {
    int digit = *p - '0';
    if (digit < 0 || digit >= base) break;
    if (value > limit || (value == limit && digit >= last_digit_limit)) return saturated;
    value = value * base + digit;
  }
  return negative ? -value : value;
}

/// GNU's base-256 numbers (first byte's high bit set): big-endian two's complement, the marker
/// bit ignored; values that do not fit saturate.
int64_t parse_base256(const char* field, size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(field);
  unsigned char c = *p;
  unsigned char sign_byte = 0;
  uint64_t value = 0;
  if (c & 0x40) {
    sign_byte = 0xff;
    c |= 0x80;
    value = ~uint64_t{0};
  } else {
    c &= 0x7f;
  }
  for (; n > sizeof(int64_t); --n) {
    if (c != sign_byte) return sign_byte ? kInt64Min : kInt64Max;
    c = *++p;
  }
  if ((c ^ sign_byte) & 0x80) return sign_byte ? kInt64Min : kInt64Max;
  for (; n > 1; --n) {
    value = (value << 8) | c;
    c = *++p;
  }
  value = (value << 8) | c;
  return static_cast<int64_t>(value);
}

int64_t parse_number(const char* h, Field f) {
  const char* p = h + f.offset;
  return (*p & 0x80) ? parse_base256(p, f.size) : parse_digits(p, f.size, 8);
}

/// The header's checksum, over unsigned bytes or (old BSD and Solaris writers) signed ones.
bool checksum_ok(const char* h) {
  for (size_t i = 0; i < kChecksum.size; ++i) {
    char c = h[kChecksum.offset + i];
    if (c != ' ' && c != '\0' && (c < '0' || c > '7')) return false;
  }
  const int expected = static_cast<int>(parse_number(h, kChecksum));
  // The checksum field itself counts as eight spaces.
  int sum = 8 * ' ';
  for (size_t i = 0; i < kBlock; ++i) sum += static_cast<unsigned char>(h[i]);
  for (size_t i = 0; i < kChecksum.size; ++i) {
    sum -= static_cast<unsigned char>(h[kChecksum.offset + i]);
  }
  if (sum == expected) return true;
  int signed_sum = 8 * ' ';
  for (size_t i = 0; i < kBlock; ++i) signed_sum += static_cast<signed char>(h[i]);
  for (size_t i = 0; i < kChecksum.size; ++i) {
    signed_sum -= static_cast<signed char>(h[kChecksum.offset + i]);
  }
  return signed_sum == expected;
}

/// libarchive's leniency for numeric fields when it decides whether bytes are a tar at all.
bool valid_number_field(const char* h, Field f) {
  const char* p = h + f.offset;
  const auto marker = static_cast<unsigned char>(p[0]);
  if (marker == 128 || marker == 255 || marker == 0) return true;
  size_t i = 0;
  while (i < f.size && p[i] == ' ') ++i;
  while (i < f.size && p[i] >= '0' && p[i] <= '7') ++i;
  for (; i < f.size; ++i) {
    if (p[i] != ' ' && p[i] != 0) return false;
  }
  return true;
}

/// libarchive's bid: whether the first block is one it takes for tar.
bool looks_like_tar(const char* h) {
  if (is_zero_block(h)) return true;
  if (!checksum_ok(h)) return false;
  const char t = h[kTypeflag];
  if (t != 0 && !(t >= '0' && t <= '9') && !(t >= 'A' && t <= 'Z') && !(t >= 'a' && t <= 'z')) {
    return false;
  }
  for (Field f : {kMode, kUid, kGid, kMtime, kSize, kDevMajor, kDevMinor}) {
    if (!valid_number_field(h, f)) return false;
  }
  return true;
}

/// A NUL-padded string field.
std::string_view field_text(const char* h, Field f) {
  const char* p = h + f.offset;
  return {p, strnlen(p, f.size)};
}

std::string_view up_to_nul(std::string_view s) { return s.substr(0, s.find('\0')); }

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

/// What a pax extended header says about the next entry.
struct PaxAttributes {
  std::string_view path;      ///< empty: keep the header's name
  std::string_view linkpath;  ///< empty: none
  int64_t size = -1;          ///< -1: keep the header's size
};

/// Parses "<length> <key>=<value>\n" records. False when libarchive would warn or fail, or would
/// read the entry differently from the plain rules applied here (sparse files, ACLs, binary
/// charsets, non-ASCII text, which it converts through the locale).
bool parse_pax(std::string_view body, PaxAttributes* out) {
  if (!is_ascii(body)) return false;
  while (!body.empty()) {
    size_t length = 0;
    size_t i = 0;
    for (;; ++i) {
      if (i == body.size()) return false;
      const char c = body[i];
      if (c == ' ') break;
      if (c < '0' || c > '9') return false;
      length = length * 10 + static_cast<size_t>(c - '0');
      if (length > 999999) return false;
    }
    if (length < 1 || length > body.size() || body[length - 1] != '\n') return false;
    const size_t key_start = i + 1;
    if (key_start >= length - 1) return false;  // no key at all
    std::string_view line = body.substr(key_start, length - 1 - key_start);
    const size_t eq = line.find_first_of(std::string_view("=\0", 2));
    if (eq == std::string_view::npos || eq == 0 || line[eq] != '=') return false;
    const std::string_view key = line.substr(0, eq);
    const std::string_view value = up_to_nul(line.substr(eq + 1));
    if (starts_with(key, "GNU.sparse") || starts_with(key, "SCHILY.acl.") ||
        key == "SCHILY.realsize" || key == "SUN.holesdata" ||
        (key == "hdrcharset" && value == "BINARY")) {
      return false;
    }
    if (key == "path") {
      out->path = value;
    } else if (key == "linkpath") {
      out->linkpath = value;
    } else if (key == "size") {
      const int64_t size = parse_digits(value.data(), value.size(), 10);
      if (size < 0 || size == kInt64Max) return false;
      out->size = size;
    }
    body.remove_prefix(length);
  }
  return true;
}

/// Bytes a body of `size` takes in the archive, padded to whole blocks.
uint64_t padded(uint64_t size) { return (size + kBlock - 1) & ~uint64_t{kBlock - 1}; }

}  // namespace

std::optional<std::vector<TarEntry>> read_tar(std::string_view tar) {
  const char* const base = tar.data();
  const size_t size = tar.size();
  if (size < kBlock || !looks_like_tar(base)) return std::nullopt;

  std::vector<TarEntry> entries;
  size_t pos = 0;
  for (;;) {
    // Special headers come first, each describing the entry that follows. libarchive reads
    // them recursively and applies them innermost first, so the first one in the archive wins.
    struct Special {
      char type;
      std::string_view body;
    };
    Special specials[4];
    size_t special_count = 0;
    const char* h = nullptr;
    for (;;) {
      const bool in_entry = special_count > 0;
      if (pos == size) {  // the end, without end-of-archive blocks: some writers omit them
        if (in_entry) return std::nullopt;
        return entries;
      }
      if (size - pos < kBlock) return std::nullopt;
      h = base + pos;
      if (is_zero_block(h)) {
        if (in_entry) return std::nullopt;
        return entries;
      }
      if (!checksum_ok(h)) return std::nullopt;  // libarchive warns and resynchronises
      const char type = h[kTypeflag];
      if (type != 'x' && type != 'g' && type != 'L' && type != 'K') break;
      for (size_t i = 0; i < special_count; ++i) {
        // libarchive keeps one buffer per kind: a repeat overwrites the first.
        if (specials[i].type == type) return std::nullopt;
      }
      const int64_t body_size = parse_number(h, kSize);
      if (body_size < 0 || body_size > kMaxSpecialHeader) return std::nullopt;
      const size_t available = size - pos - kBlock;
      if (padded(static_cast<uint64_t>(body_size)) > available) return std::nullopt;
      specials[special_count++] = {type,
                                   std::string_view(h + kBlock, static_cast<size_t>(body_size))};
      pos += kBlock + padded(static_cast<uint64_t>(body_size));
    }

    const char type = h[kTypeflag];
    const int64_t header_size = parse_number(h, kSize);
    if (header_size < 0 || header_size == kInt64Max) return std::nullopt;
    TarEntry entry;
    int64_t data_size = 0;
    switch (type) {
      case '0':
      case '\0':
      case '7':
        entry.regular = true;
        data_size = header_size;
        break;
      case '1':
        // A hard link's size field is obeyed or ignored by heuristics; leave those to libarchive.
        if (header_size != 0) return std::nullopt;
        break;
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
        break;  // the size field is ignored for these
      default:
        return std::nullopt;  // GNU sparse / multi-volume / incremental, vendor types
    }
    const bool gnu = std::memcmp(h + kMagic, "ustar  \0", 8) == 0;
    if (gnu && (h[kGnuFirstSparseOffset] != 0 || h[kGnuRealSize] != 0)) return std::nullopt;
    if (entry.regular) {
      if (!gnu && std::memcmp(h + kMagic, "ustar", 5) == 0 && h[kPrefix.offset] != 0) {
        std::string_view prefix = field_text(h, kPrefix);
        entry.path.assign(prefix);
        if (prefix.back() != '/') entry.path += '/';
        entry.path.append(field_text(h, kName));
      } else {
        entry.path.assign(field_text(h, kName));
      }
    }
    for (size_t i = special_count; i-- > 0;) {
      const Special& special = specials[i];
      if (special.type == 'x') {
        PaxAttributes pax;
        if (!parse_pax(special.body, &pax)) return std::nullopt;
        if (pax.size >= 0) {
          if (type == '1') return std::nullopt;
          data_size = pax.size;
        }
        // On a regular file libarchive keeps a link target without making it a link.
        if (!pax.linkpath.empty() && entry.regular) return std::nullopt;
        if (!pax.path.empty() && entry.regular) entry.path.assign(pax.path);
      } else if (special.type == 'L') {
        if (entry.regular) entry.path.assign(up_to_nul(special.body));
      } else if (special.type == 'K') {
        if (entry.regular) return std::nullopt;
      }
    }
    if (entry.regular) {
      // Names go through the locale's charset in libarchive; only ASCII reads the same here.
      if (!is_ascii(entry.path)) return std::nullopt;
      if (!entry.path.empty() && entry.path.back() == '/') {
        // Old writers mark directories this way; libarchive then reads no body at all.
        entry.regular = false;
        entry.path.clear();
        data_size = 0;
      } else {
        entry.mode = static_cast<uint32_t>(parse_number(h, kMode));
      }
    }
    const size_t available = size - pos - kBlock;
    if (static_cast<uint64_t>(data_size) > available ||
        padded(static_cast<uint64_t>(data_size)) > available) {
      return std::nullopt;  // truncated
    }
    if (entry.regular) entry.data = std::string_view(h + kBlock, static_cast<size_t>(data_size));
    pos += kBlock + padded(static_cast<uint64_t>(data_size));
    entries.push_back(std::move(entry));
  }
}

}  // namespace lade::store
