#include "sp/util/signals.hpp"

#include "sp/util/error.hpp"

#include <csignal>

namespace sp {
namespace {

volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_stop_signal(int signal) {
    if (g_signal == 0) g_signal = signal;
}

int signal_number(std::string name) {
    if (name.rfind("SIG", 0) == 0) name = name.substr(3);
    if (name == "USR1") return SIGUSR1;
    if (name == "USR2") return SIGUSR2;
    if (name == "TERM") return SIGTERM;
    if (name == "INT") return SIGINT;
    if (name == "HUP") return SIGHUP;
    throw ConfigError("--stop-signals: unknown signal \"" + name +
                      "\" (use USR1, USR2, TERM, INT or HUP)");
}

} // namespace

void install_stop_signals(const std::vector<std::string>& names) {
    for (const std::string& name : names) {
        struct sigaction action {};
        action.sa_handler = on_stop_signal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        sigaction(signal_number(name), &action, nullptr);
    }
}

bool stop_requested() noexcept { return g_signal != 0; }

int stop_signal() noexcept { return static_cast<int>(g_signal); }

void throw_if_stop_requested() {
    if (g_signal != 0) throw StopRequested();
}

void set_stop_requested_for_testing(int signal) noexcept {
    g_signal = static_cast<std::sig_atomic_t>(signal);
}

} // namespace sp
