#pragma once
// Errors from system calls, named the way npm (node) names them: the errno symbol as the code.
#include <string>

#include "util/result.h"

namespace lade::store {

/// "ENOSPC", "EACCES", ...: the symbol node puts in `err.code`.
std::string errno_code(int error_number);

/// An Error whose code is errno's symbol and whose message is `what: <strerror>`.
util::Error sys_error(int error_number, const std::string& what);

}  // namespace lade::store
