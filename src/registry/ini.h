#pragma once
// The ini dialect of .npmrc files, read exactly as npm's `ini` package reads it, and npm's
// `${VAR}` substitution. Lexical only: what a value means is Config's business.
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace lade::registry {

/// A process environment: name -> value. Names are case-sensitive, as on POSIX.
using Environment = std::map<std::string, std::string, std::less<>>;

/// One setting of an .npmrc file.
struct IniEntry {
  std::string key;
  /// One item for a plain `key=value`; every item for `key[]=value` lines (an array).
  std::vector<std::string> values;
  bool is_array = false;
};

/// Parses an .npmrc text the way npm's ini.decode does:
/// - lines starting (after blanks) with ';' or '#' are comments; blank lines are skipped;
/// - `key = value`, both trimmed; a value in double quotes is a JSON string, one in single quotes
///   is taken literally; an unquoted value ends at the first unescaped ';' or '#' (`\;` and `\#`
///   are the literal characters);
/// - `key` alone means `key = true`;
/// - `key[] = value` appends to an array; a later `key = value` appends too once `key` is an
///   array, else it replaces the earlier value;
/// - `[section]` headers start a section whose keys npm ignores, and so does lade.
/// Keys keep their first-seen order.
std::vector<IniEntry> parse_ini(std::string_view text);

/// npm's env-replace: `${NAME}` becomes the value of NAME (left as written when NAME is unset),
/// `${NAME?}` becomes the value or the empty string; a backslash before `$` escapes it (pairs of
/// backslashes collapse to one).
std::string replace_env(std::string_view text, const Environment& env);

}  // namespace lade::registry
