#pragma once
/// The one `try` of every sp program: errors become a message and the documented exit code.
///
///     int main(int argc, char** argv) {
///         return sp::guarded_main("sp_sweep", [&] { return run(argc, argv); });
///     }

#include <functional>

namespace sp {

/// Runs `body` and returns its exit code. An sp::Error prints "program: message" to stderr and
/// returns its exit code; any other exception prints "program: internal error: ..." and
/// returns ExitCode::bug.
int guarded_main(const char* program, const std::function<int()>& body);

} // namespace sp
