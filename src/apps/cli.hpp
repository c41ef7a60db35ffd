#pragma once
/// Command-line glue shared by the sp programs. Header-only: the programs link CLI11, sp::core
/// does not.
///
///     if (const auto code = sp::app::parse_arguments(app, "sp_sweep", argc, argv)) return *code;

#include "sp/util/error.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <optional>

namespace sp::app {

/// Parses `argv` into `app`. Returns nullopt when the program should go on; otherwise the exit
/// code to return at once: CLI11's (0) after --help, --help-all or --version, which CLI11 prints;
/// ExitCode::bad_input after an argument error, printed to stderr as
/// "<program>: <message>\nRun with --help for usage.".
inline std::optional<int> parse_arguments(CLI::App& app, const char* program, int argc,
                                          char** argv) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << program << ": " << e.what() << "\nRun with --help for usage.\n";
        return static_cast<int>(ExitCode::bad_input);
    }
    return std::nullopt;
}

} // namespace sp::app
