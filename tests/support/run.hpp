#pragma once
// Runs a program the way a user would, for tests of the executables' exit codes and messages.

#include <string>
#include <vector>

namespace sp::test {

struct RunResult {
    int exit_code = -1; ///< exit status, or 128 + signal number if killed by a signal
    std::string out;    ///< standard output
    std::string err;    ///< standard error
};

/// Runs `argv` (argv[0] is a path) with no shell, waits, and captures both streams.
RunResult run(const std::vector<std::string>& argv);

/// Path of a built program: SP_BINARY_DIR/src/apps/<name>.
std::string app(const std::string& name);

/// Path under the source tree: SP_SOURCE_DIR/<relative>.
std::string source_path(const std::string& relative);

} // namespace sp::test
