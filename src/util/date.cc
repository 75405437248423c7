#include "util/date.h"

#include <ctime>

namespace lade::util {

namespace {

// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool digits(std::string_view s, size_t at, size_t n, int& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::optional<int64_t> parse_iso_date(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  int year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0, millis = 0;
  if (!digits(s, 0, 4, year)) return std::nullopt;
  size_t i = 4;
  if (i < s.size() && s[i] == '-') {
    if (!digits(s, i + 1, 2, month)) return std::nullopt;
    i += 3;
    if (i < s.size() && s[i] == '-') {
      if (!digits(s, i + 1, 2, day)) return std::nullopt;
      i += 3;
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  bool has_time = false;
  std::optional<int> offset_minutes;
  if (i < s.size() && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
    has_time = true;
    if (!digits(s, i + 1, 2, hour) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(s, i + 4, 2, minute)) {
      return std::nullopt;
    }
    i += 6;
    if (i < s.size() && s[i] == ':') {
      if (!digits(s, i + 1, 2, second)) return std::nullopt;
      i += 3;
      if (i < s.size() && s[i] == '.') {
        size_t j = i + 1;
        int scale = 100;
        while (j < s.size() && s[j] >= '0' && s[j] <= '9') {
          millis += (s[j] - '0') * scale;
          scale /= 10;
          ++j;
        }
        if (j == i + 1) return std::nullopt;
        i = j;
      }
    }
    if (hour > 24 || minute > 59 || second > 59) return std::nullopt;
    if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
      offset_minutes = 0;
      ++i;
    } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      int oh = 0, om = 0;
      if (!digits(s, i + 1, 2, oh)) return std::nullopt;
      size_t j = i + 3;
      if (j < s.size() && s[j] == ':') ++j;
      if (!digits(s, j, 2, om)) return std::nullopt;
      offset_minutes = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
      i = j + 2;
    }
  }
  if (i != s.size()) return std::nullopt;
  const int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second;
  if (!has_time || offset_minutes) {
    return (seconds - int64_t{offset_minutes.value_or(0)} * 60) * 1000 + millis;
  }
  // A date-time without a zone is local time.
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  tm.tm_isdst = -1;
  const std::time_t t = std::mktime(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return static_cast<int64_t>(t) * 1000 + millis;
}

std::string locale_date_string(int64_t epoch_ms) {
  const std::time_t t = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  const int hour12 = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%d/%d/%d, %d:%02d:%02d %s", tm.tm_mon + 1, tm.tm_mday, tm.tm_year + 1900, hour12,
                tm.tm_min, tm.tm_sec, tm.tm_hour < 12 ? "AM" : "PM");
  return buf;
}

}  // namespace lade::util
