#include "store/sys_error.h"

#include <cstring>

namespace lade::store {

util::Error sys_error(int error_number, const std::string& what) {
  return util::make_error(errno_code(error_number), what + ": " + std::strerror(error_number));
}

}  // namespace lade::store
