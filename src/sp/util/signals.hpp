#pragma once
/// Stop signals: SIGUSR1 (Slurm's warning before the time limit, `--signal=B:USR1@...`) and
/// SIGTERM (preemption, `scancel`) set a flag; replicates poll it at safe points (after each
/// training batch, each scoring batch, each t-SNE iteration), checkpoint what is worth keeping
/// and stop, and the sweep exits with ExitCode::requeue (75). Work that cannot be checkpointed
/// (pool scoring, metrics) is abandoned by throwing StopRequested and redone on resume from
/// the last checkpoint. The handler stays installed: a second signal changes nothing, so a
/// checkpoint being written is finished (checkpoints are atomic files anyway: SIGKILL during
/// the write leaves the previous one intact).
///
///     sp::install_stop_signals({"USR1", "TERM"});
///     ... if (sp::stop_requested()) checkpoint and return ...

#include <exception>
#include <string>
#include <vector>

namespace sp {

/// Installs the handler for the named signals ("USR1", "USR2", "TERM", "INT", "HUP", with or
/// without "SIG"). Throws ConfigError naming an unknown signal.
void install_stop_signals(const std::vector<std::string>& names);

/// Whether a stop signal has arrived (async-signal-safe flag).
bool stop_requested() noexcept;

/// The signal that set the flag (0 if none).
int stop_signal() noexcept;

/// Thrown at a safe point of work that is redone on resume (pool scoring, embedding, metrics)
/// when a stop signal has arrived. Deliberately not an sp::Error: a stop is not a failure, and
/// code that records failures (catch (const Error&)) must let it through.
class StopRequested : public std::exception {
  public:
    const char* what() const noexcept override { return "stopped by a signal"; }
};

/// Throws StopRequested when a stop signal has arrived; otherwise returns at once (one relaxed
/// read of a flag: cheap enough for every batch or iteration).
void throw_if_stop_requested();

/// For tests: sets the flag as a signal would (signal = the number recorded), or clears it
/// (signal = 0).
void set_stop_requested_for_testing(int signal) noexcept;

} // namespace sp
