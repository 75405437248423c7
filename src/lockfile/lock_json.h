#pragma once
// The text form of a lockfile as npm writes it: npm serialises with json-stringify-nice, which
// sorts every object's keys (values that are not objects first, then objects; within each
// group npm's preferred lockfile keys first, then the rest by localeCompare 'en'), and formats
// with the indentation and line ending it detected in package.json.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "manifest/manifest.h"

namespace lade::lockfile {

using Json = manifest::Json;

/// Indentation and line ending of a JSON document, as json-parse-even-better-errors detects
/// them (npm reads them from package.json and reuses them for package-lock.json).
struct JsonFormat {
  /// The indent string of the first nested line; empty when the document has no line break
  /// after its opening brace.
  std::string indent = "  ";
  /// The line break(s) after the opening brace; empty when there is none.
  std::string newline = "\n";
};

/// Detects the format of a JSON text (a UTF-8 byte order mark is skipped). `{}` and `[]` give
/// the defaults (two spaces, "\n").
JsonFormat detect_json_format(std::string_view text);

/// Serialises `value` as npm writes a lockfile: keys sorted as described above at every
/// level, JSON.stringify's spacing with `format.indent` (two spaces when empty, at most ten
/// characters), a trailing newline, and every "\n" replaced by `format.newline` ("\n" when
/// empty).
std::string stringify_lockfile(const Json& value, const JsonFormat& format);

/// An object member whose value is written member by member, each made only when its turn
/// comes and dropped once written: the "packages" of a large tree, so that its thousands of
/// entries never exist as one document at once.
struct StreamedObject {
  /// The member of the document passed to stringify_lockfile it stands for: an empty object,
  /// found by its address.
  const Json* placeholder = nullptr;
  /// Its keys, unique, in any order (they are sorted as keys of objects).
  std::vector<std::string> keys;
  /// The value of keys[i] (an object).
  std::function<Json(size_t i)> value;
};

/// stringify_lockfile with `streamed` written in its placeholder's place.
std::string stringify_lockfile(const Json& value, const JsonFormat& format, StreamedObject& streamed);

/// json-stringify-nice's key order for the keys of one object: true when key `a` (whose value
/// is an object iff `a_object`) comes before key `b`.
bool lockfile_key_less(std::string_view a, bool a_object, std::string_view b, bool b_object);

}  // namespace lade::lockfile
