#pragma once
// A lockfile with git's merge-conflict markers in it, resolved as npm resolves it
// (parse-conflict-json): the changes from the common ancestor to "ours" applied on top of
// "theirs". The resolver then fixes whatever the merged tree still gets wrong.
#include <string>
#include <string_view>

#include "util/result.h"

namespace lade::lockfile {

/// Whether `text` has the three markers of a conflict (<<<<<<<, =======, >>>>>>>).
bool has_merge_conflict(std::string_view text);

/// The merged document as JSON text. EJSONPARSE when a side does not parse on its own.
util::Result<std::string> resolve_merge_conflict(std::string_view text, std::string_view file_name);

}  // namespace lade::lockfile
