#include "util/result.h"

#include <string.h>

namespace lade::util {

std::string errno_code(int errnum) {
  if (const char* name = ::strerrorname_np(errnum)) return name;
  return "E" + std::to_string(errnum);
}

int exit_status_for(const Error& error) {
  if (error.exit_status != 0) return error.exit_status;
  // System errors: node's err.errno is -errno, which the process exit status wraps to 256 - errno.
  if (error.code.size() > 1 && error.code[0] == 'E') {
    for (int number = 1; number < 134; ++number) {
      const char* name = ::strerrorname_np(number);
      if (name && error.code == name) return 256 - number;
    }
  }
  return 1;
}

}  // namespace lade::util
