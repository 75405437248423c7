#pragma once
// JavaScript's idea of white space, for the few places npm trims strings. Internal to
// lade::manifest.
#include <cstddef>
#include <string_view>

namespace lade::manifest {

/// Byte length of the JavaScript white-space character (String.prototype.trim()'s set) that
/// starts at `s[i]`, or 0.
size_t js_space_length(std::string_view s, size_t i);

/// String.prototype.trim().
std::string_view js_trim(std::string_view s);

}  // namespace lade::manifest
