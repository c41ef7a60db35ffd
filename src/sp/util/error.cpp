#include "sp/util/error.hpp"

#include <cstring>

namespace sp {

IoError IoError::system(const std::string& path, const std::string& what, int errno_value) {
    return IoError(path + ": " + what + ": " + std::strerror(errno_value));
}

void throw_check_failure(const char* condition, const std::string& message, const char* file,
                         int line) {
    throw InternalError(std::string("internal error: ") + message + " (check `" + condition +
                        "` failed at " + file + ":" + std::to_string(line) + ")");
}

} // namespace sp
