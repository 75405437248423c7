#pragma once
// A few top-level fields of a JSON document read without building the document: for files
// lade reads only to learn one thing (npm's own package.json, for its version, on every run).
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lade::manifest {

/// The top-level string values of `text` for `keys` (a key whose value is not a string is
/// left out). nullopt when `text` is not a JSON object.
std::optional<std::map<std::string, std::string, std::less<>>> peek_top_level_strings(
    std::string_view text, const std::vector<std::string_view>& keys);

}  // namespace lade::manifest
