#pragma once
/// sp's errors: one base class carrying an exit code, a subclass per area.
///
///     try { ... } catch (const sp::Error& e) { std::cerr << e.what() << '\n'; return
///     e.exit_code(); }
///
/// Every message names the what and the where: file, HDF5 path, TOML key and line:col, rank,
/// replicate ID. Messages that recur are built by named factories so the wording stays uniform.

#include <stdexcept>
#include <string>

namespace sp {

/// Process exit codes, the contract with scripts, Slurm and CI (README "Exit codes").
enum class ExitCode : int {
    ok = 0,
    bug = 1,               ///< anything unexpected: a bug in sp
    bad_input = 2,         ///< bad configuration, data or arguments
    replicates_failed = 3, ///< the sweep ran, some replicates failed
    requeue = 75,          ///< checkpointed after a signal: requeue the job (EX_TEMPFAIL)
};

/// Base of all sp errors. `exit_code()` is what `main` returns.
class Error : public std::runtime_error {
  public:
    Error(const std::string& message, ExitCode code) : std::runtime_error(message), code_(code) {}
    ExitCode code() const noexcept { return code_; }
    int exit_code() const noexcept { return static_cast<int>(code_); }

  private:
    ExitCode code_;
};

/// Bad configuration: a sweep file, a `--set` override, a command-line argument. Exit code 2.
class ConfigError : public Error {
  public:
    explicit ConfigError(const std::string& message) : Error(message, ExitCode::bad_input) {}
};

/// Bad or missing data: a dataset file, a record, an embeddings file. Exit code 2.
class DataError : public Error {
  public:
    explicit DataError(const std::string& message) : Error(message, ExitCode::bad_input) {}
};

/// A failed file or HDF5 operation. Exit code 2: a file we were given or told to write is unusable.
class IoError : public Error {
  public:
    explicit IoError(const std::string& message) : Error(message, ExitCode::bad_input) {}

    static IoError missing(const std::string& path) { return IoError(path + ": no such file"); }
    static IoError system(const std::string& path, const std::string& what, int errno_value);
};

/// A failed MPI call, with MPI_Error_string's text and the rank. Exit code 1: not the user's input.
class MpiError : public Error {
  public:
    explicit MpiError(const std::string& message) : Error(message, ExitCode::bug) {}
};

/// Training went wrong (NaN loss, diverged): the replicate fails, the sweep goes on.
class TrainError : public Error {
  public:
    explicit TrainError(const std::string& message) : Error(message, ExitCode::replicates_failed) {}
};

/// A broken invariant inside sp (SP_CHECK). Exit code 1.
class InternalError : public Error {
  public:
    explicit InternalError(const std::string& message) : Error(message, ExitCode::bug) {}
};

[[noreturn]] void throw_check_failure(const char* condition, const std::string& message,
                                      const char* file, int line);

} // namespace sp

/// Always-on invariant check (never compiled out, unlike assert). Not for validating input:
/// bad input gets a ConfigError/DataError with a location instead.
#define SP_CHECK(cond, msg)                                                                        \
    do {                                                                                           \
        if (!(cond)) ::sp::throw_check_failure(#cond, (msg), __FILE__, __LINE__);                  \
    } while (false)
