#pragma once
/// Stop signals: SIGUSR1 (Slurm's warning before the time limit, `--signal=B:USR1@...`) and
/// SIGTERM (preemption, `scancel`) set a flag; replicates poll it at safe points (after each
/// epoch and each active-learning round), checkpoint and stop, and the sweep exits with
/// ExitCode::requeue (75). The handler stays installed: a second signal changes nothing, so a
/// checkpoint being written is finished (checkpoints are atomic files anyway: SIGKILL during
/// the write leaves the previous one intact).
///
///     sp::install_stop_signals({"USR1", "TERM"});
///     ... if (sp::stop_requested()) checkpoint and return ...

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

} // namespace sp
