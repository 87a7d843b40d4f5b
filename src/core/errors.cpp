// errno formatting shared by every I/O error message.
#include "elarin/core/errors.hpp"

#include <cstring>

namespace elarin {

std::string errno_message(int err) { return std::strerror(err); }

}  // namespace elarin
