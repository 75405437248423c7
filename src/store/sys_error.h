#pragma once
// Errors from system calls, named the way npm (node) names them: the errno symbol as the code.
#include <string>

#include "util/result.h"

namespace lade::store {

using util::errno_code;

/// An Error whose code is errno's symbol and whose message is `what: <strerror>`.
util::Error sys_error(int error_number, const std::string& what);

}  // namespace lade::store
