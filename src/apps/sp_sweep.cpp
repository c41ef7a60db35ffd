// sp_sweep: plans a sweep and runs its replicates across MPI ranks.
//
//   sp_sweep [SWEEP.toml] [--set key=value]... [--dry-run] [--ranks N]
//
// With no file it uses the embedded default (sweeps/quick.toml).
#include "sp/config/fields.hpp"
#include "sp/config/sweep.hpp"
#include "sp/plan/plan.hpp"
#include "sp/util/error.hpp"
#include "sp/util/strings.hpp"
#include "sp/util/version.hpp"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

namespace {

/// Ranks of the launching MPI job, read from the launcher's environment without initialising
/// MPI (a dry run needs no MPI). 1 when not launched by mpirun/srun.
int launcher_ranks() {
    for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS"}) {
        if (const char* v = std::getenv(var)) {
            const int n = std::atoi(v);
            if (n >= 1) return n;
        }
    }
    return 1;
}

int launcher_rank() {
    for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"}) {
        if (const char* v = std::getenv(var)) return std::atoi(v);
    }
    return 0;
}

std::string list_keys(bool tsv) {
    std::string out = tsv ? "key\ttype\tdefault\tallowed\tin_id\tmeaning\n" : "";
    for (const auto& f : sp::fields()) {
        const std::string def = sp::value_to_toml(f.get(sp::Experiment{}));
        if (tsv) {
            out += f.key + "\t" + sp::kind_name(f.kind) + "\t" + def + "\t" + f.constraint() +
                   "\t" + (f.identity ? "yes" : "no") + "\t" + f.doc + "\n";
            continue;
        }
        out += f.key + "  " + sp::kind_name(f.kind) + "  default " + def;
        if (!f.constraint().empty()) out += "  (" + f.constraint() + ")";
        out += (f.identity ? "" : "  [not in ID]") + std::string("\n    ") + f.doc + "\n";
    }
    return out;
}

int run(int argc, char** argv) {
    CLI::App app{
        "sp_sweep: seeded baseline and active-learning replicates of ResNet18, in parallel "
        "over MPI ranks, with superposition metrics and significance statistics.\n"
        "With no SWEEP file, runs the embedded default (sweeps/quick.toml)."};
    app.set_version_flag("--version",
                         std::string("sp ") + sp::version() + " (" + sp::git_revision() + ")");
    std::string file;
    std::vector<std::string> overrides;
    bool dry_run = false;
    bool keys = false;
    int ranks = 0;
    std::string show;
    std::string format = "table";
    app.add_option("sweep", file, "sweep file (TOML); default: the embedded sweeps/quick.toml");
    app.add_option("--set", overrides, "override any key: --set train.epochs=2 (repeatable)")
        ->type_name("KEY=VALUE")
        ->allow_extra_args(false);
    app.add_flag("--dry-run", dry_run, "print the plan (replicates, IDs, seeds, ranks) and exit");
    app.add_option("--ranks", ranks, "ranks to plan for (default: the MPI job's size, else 1)")
        ->check(CLI::Range(1, 1 << 20));
    app.add_option("--show-config", show,
                   "print the resolved configuration of one replicate (ID or #)");
    app.add_option("--format", format, "plan output: table (for people) or tsv (for scripts)")
        ->check(CLI::IsMember({"table", "tsv"}));
    app.add_flag("--list-keys", keys, "list every configuration key with its type and default");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "sp_sweep: " << e.what() << "\nRun with --help for usage.\n";
        return static_cast<int>(sp::ExitCode::bad_input);
    }

    if (keys) {
        std::cout << list_keys(format == "tsv");
        return 0;
    }
    const sp::Sweep sweep =
        file.empty() ? sp::parse_sweep(sp::embedded_quick_toml(), sp::kEmbeddedQuickName, overrides)
                     : sp::load_sweep(file, overrides);
    const sp::Plan plan = sp::make_plan(sweep, ranks > 0 ? ranks : launcher_ranks());
    if (launcher_rank() != 0) return 0; // one copy of the plan per job

    if (!show.empty()) {
        for (const auto& r : plan.replicates) {
            if (r.id == show || std::to_string(r.index + 1) == show) {
                std::cout << sp::resolved_toml(plan, r);
                return 0;
            }
        }
        throw sp::ConfigError("--show-config: no replicate \"" + show + "\" in sweep \"" +
                              plan.name + "\"");
    }
    if (format == "tsv") {
        std::cout << sp::format_plan_tsv(plan);
        return 0;
    }
    std::cout << sp::format_plan(plan);
    if (!dry_run) {
        std::cout
            << "\nThis build of sp plans sweeps; running replicates arrives with the training "
               "stage. Nothing was run.\n";
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const sp::Error& e) {
        std::cerr << "sp_sweep: " << e.what() << "\n";
        return e.exit_code();
    } catch (const std::exception& e) {
        std::cerr << "sp_sweep: internal error: " << e.what() << "\n";
        return static_cast<int>(sp::ExitCode::bug);
    }
}
