#pragma once
/// Minimal leveled logging to stderr, one line per call, prefixed with the MPI rank once known.
///
///     sp::log::info("rank ready");      // "[sp r0] rank ready"
///     sp::log::set_rank(3);

#include <string>

namespace sp::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3, quiet = 4 };

/// Messages below `level` are dropped. Default: info; SP_LOG_LEVEL=debug|info|warn|error|quiet.
void set_level(Level level);
Level level();
/// The rank shown in the prefix; -1 (the default) shows none.
void set_rank(int rank);

void debug(const std::string& message);
void info(const std::string& message);
void warn(const std::string& message);
void error(const std::string& message);

} // namespace sp::log
