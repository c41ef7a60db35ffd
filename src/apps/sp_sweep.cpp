// sp_sweep: plans a sweep and runs its replicates across MPI ranks.
//
//   sp_sweep [SWEEP.toml] [--set key=value]... [--dry-run] [--ranks N]
//
// With no file it uses the embedded default (sweeps/quick.toml).
#include "cli.hpp"

#include "sp/config/fields.hpp"
#include "sp/config/sweep.hpp"
#include "sp/mpi/counter.hpp"
#include "sp/mpi/environment.hpp"
#include "sp/mpi/threads.hpp"
#include "sp/plan/plan.hpp"
#include "sp/stats/reduce.hpp"
#include "sp/stats/sweep_record.hpp"
#include "sp/sweep/preflight.hpp"
#include "sp/sweep/replicate.hpp"
#include "sp/util/error.hpp"
#include "sp/util/log.hpp"
#include "sp/util/main.hpp"
#include "sp/util/memory.hpp"
#include "sp/util/signals.hpp"
#include "sp/util/strings.hpp"
#include "sp/util/version.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>
#include <utility>

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

std::string serialize(const sp::ReplicateOutcome& o) {
    std::ostringstream os;
    os.precision(17);
    // One line per outcome: a message may hold tabs and newlines (an HDF5 error stack).
    os << o.id << '\t' << o.status << '\t' << o.accuracy << '\t' << o.seconds << '\t' << o.exit_code
       << '\t' << sp::escape_field(o.message);
    return os.str();
}

sp::ReplicateOutcome deserialize(const std::string& line) {
    std::istringstream is(line);
    sp::ReplicateOutcome o;
    std::string accuracy, seconds, code;
    std::getline(is, o.id, '\t');
    std::getline(is, o.status, '\t');
    std::getline(is, accuracy, '\t');
    std::getline(is, seconds, '\t');
    std::getline(is, code, '\t');
    std::getline(is, o.message);
    o.message = sp::unescape_field(o.message);
    o.accuracy = std::strtod(accuracy.c_str(), nullptr);
    o.seconds = std::strtod(seconds.c_str(), nullptr);
    o.exit_code = std::atoi(code.c_str());
    return o;
}

std::string outcome_table(const sp::Plan& plan, const std::vector<sp::ReplicateOutcome>& outcomes) {
    std::ostringstream os;
    os << "\n#   id                strategy          seed  status     accuracy   seconds  note\n";
    for (const auto& r : plan.replicates) {
        const sp::ReplicateOutcome* o = nullptr;
        for (const auto& x : outcomes) {
            if (x.id == r.id) o = &x;
        }
        char line[512];
        const std::string status = o ? o->status : "not run";
        std::string accuracy = "-";
        if (o && o->status == "complete") {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.4f", o->accuracy);
            accuracy = buf;
        }
        std::snprintf(line, sizeof line, "%-3zu %-16s  %-16s  %4llu  %-9s  %8s  %8.1f  %s\n",
                      r.index + 1, r.id.c_str(),
                      std::string(sp::enum_name(r.config.al.strategy)).c_str(),
                      static_cast<unsigned long long>(r.seed), status.c_str(), accuracy.c_str(),
                      o ? o->seconds : 0.0, o ? o->message.c_str() : "");
        os << line;
    }
    return os.str();
}

/// Runs `body` on a job of several ranks where an exception must not unwind into MPI_Finalize
/// (or into the work counter's destructor) while another rank waits for this one: any exception
/// escaping it ends the whole job (Environment::abort, with the error's exit code, 1 for a bug)
/// after logging its message. On one rank no one can wait: the exception propagates.
template <class Body>
auto or_abort_job(const sp::mpi::Environment& env, Body&& body) -> decltype(body()) {
    if (env.world().size() == 1) return body();
    try {
        return body();
    } catch (const sp::Error& e) {
        env.abort(e.exit_code(), e.what());
    } catch (const std::exception& e) {
        env.abort(static_cast<int>(sp::ExitCode::bug), std::string("internal error: ") + e.what());
    } catch (...) {
        env.abort(static_cast<int>(sp::ExitCode::bug), "internal error: unknown exception");
    }
}

/// Runs the sweep: every rank takes the next replicate, longest estimated first, from a
/// job-wide counter until none is left or a stop signal arrives; the outcomes are gathered on
/// rank 0, which prints the table and the reduction. Exit code 75 (requeue) if a signal stopped
/// the sweep (each running replicate checkpointed first); else 2 if any replicate was refused as
/// bad input (a resume or skip refused: ReplicateOutcome::exit_code), 3 if any other failed.
int sweep_on_ranks(const sp::mpi::Environment& env, sp::Plan plan, sp::RunContext ctx,
                   const std::vector<std::string>& signals);

/// Starts MPI and runs sweep_on_ranks. On several ranks any exception escaping it, on any rank,
/// ends the whole job with the error's exit code and message (or_abort_job).
int run_sweep(sp::Plan plan, sp::RunContext ctx, const std::vector<std::string>& signals, int argc,
              char** argv) {
    sp::tune_allocator();
    sp::mpi::Environment env(argc, argv);
    // From here on, an error on any rank ends the whole job: no rank is left waiting in a
    // collective (or for the work counter) for a rank that unwound into MPI_Finalize.
    return or_abort_job(env, [&] { return sweep_on_ranks(env, std::move(plan), ctx, signals); });
}

int sweep_on_ranks(const sp::mpi::Environment& env, sp::Plan plan, sp::RunContext ctx,
                   const std::vector<std::string>& signals) {
    sp::install_stop_signals(signals);
    const sp::mpi::Comm& world = env.world();
    if (world.size() != plan.ranks) {
        const auto assigned = sp::assign_ranks(plan.replicates, world.size());
        for (std::size_t i = 0; i < assigned.size(); ++i) plan.replicates[i].rank = assigned[i];
        plan.ranks = world.size();
    }
    sp::log::set_rank(world.size() > 1 ? world.rank() : -1);
    // ctx.threads 0: not pinned by --threads, the node's share.
    if (ctx.threads <= 0) ctx.threads = sp::mpi::threads_per_rank(world);
    ctx.ranks = world.size();
    ctx.local_rank = world.local_rank();
    ctx.stop_requested = [] { return sp::stop_requested(); };
    // Longest first (ties by ID), each baseline before the replicates that start from it
    // (al.init = "baseline"): the order every rank draws from. A rank drawing such a replicate
    // finds its baseline finished or running elsewhere and waits for its result file.
    const std::vector<std::size_t> order = sp::run_order(plan.replicates);
    // Before any draw (the counter's construction is a barrier): a failed baseline of an earlier
    // run is rerun, and its dependents must not read the old failure.
    if (world.rank() == 0) sp::clear_failed_baselines(plan, ctx.force);
    std::vector<std::string> mine;
    {
        sp::mpi::SharedCounter next(world, 0);
        // Here too: on rank 0 the counter's destructor waits for every other rank's last draw.
        or_abort_job(env, [&] {
            while (!sp::stop_requested()) {
                const std::int64_t i = next.next();
                if (i >= static_cast<std::int64_t>(order.size())) break;
                const auto& r = plan.replicates[order[static_cast<std::size_t>(i)]];
                sp::log::info("replicate " + r.id + " (" +
                              std::string(sp::enum_name(r.config.al.strategy)) + ", seed " +
                              std::to_string(r.seed) + ") on " + std::to_string(ctx.threads) +
                              " thread(s)");
                const sp::ReplicateOutcome o = sp::run_replicate(plan, r, ctx);
                if (o.status == "failed")
                    sp::log::error("replicate " + r.id + " failed: " + o.message);
                mine.push_back(serialize(o));
            }
        });
    }
    std::string joined;
    for (const auto& m : mine) joined += m + "\n";
    const std::vector<std::string> all = world.gather(joined, /*root=*/0);
    bool failed = false;
    bool refused = false;
    const bool stopped = world.any_of(sp::stop_requested());
    if (world.rank() == 0) {
        std::vector<sp::ReplicateOutcome> outcomes;
        for (const auto& block : all) {
            std::istringstream lines(block);
            std::string line;
            while (std::getline(lines, line)) {
                if (!line.empty()) outcomes.push_back(deserialize(line));
            }
        }
        std::cout << outcome_table(plan, outcomes) << std::flush;
        for (const auto& o : outcomes) {
            failed = failed || o.status == "failed";
            refused = refused || o.exit_code == static_cast<int>(sp::ExitCode::bad_input);
        }
        if (failed) std::cout << "\nsome replicates failed: see the table above\n";
        if (stopped) {
            std::cout << "\nstopped by a signal: running replicates checkpointed; run the same "
                         "command again to resume (exit code "
                      << static_cast<int>(sp::ExitCode::requeue) << ")\n"
                      << std::flush;
        } else {
            // The reduction of every results directory this sweep wrote to (as sp_reduce).
            std::set<std::string> dirs;
            for (const auto& r : plan.replicates) dirs.insert(r.config.output.dir);
            for (const std::string& dir : dirs) {
                if (!std::filesystem::is_directory(dir)) continue;
                // An analysis the results contradict (a declared contrast or endpoint) fails
                // the reduction, not the sweep: the replicates are kept, the other ranks are
                // not left waiting, and sp_reduce DIR reduces again once it is fixed.
                try {
                    const sp::Reduction red = sp::reduce_directory(dir);
                    sp::write_summary(red, dir);
                    std::cout << "\n"
                              << sp::summary_markdown(red) << "(written to " << dir
                              << "/summary.h5 and summary.md)\n"
                              << std::flush;
                } catch (const sp::Error& e) {
                    sp::log::error("the reduction of " + dir + " failed: " + e.what());
                    refused = true;
                }
            }
        }
    }
    failed = world.any_of(failed);
    refused = world.any_of(refused);
    if (stopped) return static_cast<int>(sp::ExitCode::requeue);
    if (refused) return static_cast<int>(sp::ExitCode::bad_input);
    return failed ? static_cast<int>(sp::ExitCode::replicates_failed) : 0;
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
    bool record_only = false;
    bool keys = false;
    int ranks = 0;
    int threads = 0;
    int ranks_per_gpu = 1;
    std::string show;
    std::string format = "table";
    bool force = false;
    bool allow_thread_change = false;
    bool allow_version_change = false;
    std::vector<std::string> signals = {"USR1", "TERM"};
    app.add_option("sweep", file, "sweep file (TOML); default: the embedded sweeps/quick.toml");
    app.add_option("--set", overrides, "override any key: --set train.epochs=2 (repeatable)")
        ->type_name("KEY=VALUE")
        ->allow_extra_args(false);
    app.add_flag("--dry-run", dry_run, "print the plan (replicates, IDs, seeds, ranks) and exit");
    app.add_flag("--record", record_only,
                 "write the sweep record of each results directory (what this sweep plans: "
                 "<output.dir>/sweeps/*.toml) and exit; for job arrays whose tasks each run one "
                 "replicate, before sp_reduce")
        ->excludes("--dry-run");
    app.add_option("--ranks", ranks, "ranks to plan for (default: the MPI job's size, else 1)")
        ->check(CLI::Range(1, 1 << 20));
    app.add_option("--threads", threads,
                   "LibTorch threads per rank (default: the node's cores / ranks on the node)")
        ->check(CLI::Range(1, 4096));
    app.add_option("--ranks-per-gpu", ranks_per_gpu,
                   "ranks of a node that share one GPU: local rank r uses CUDA device "
                   "(r / N) % (GPUs on the node); default 1 (one GPU per rank, round-robin)")
        ->type_name("N");
    app.add_option("--show-config", show,
                   "print the resolved configuration of one replicate (ID or #), then the sweep's "
                   "[analysis] table");
    app.add_option("--format", format, "plan output: table (for people) or tsv (for scripts)")
        ->check(CLI::IsMember({"table", "tsv"}));
    app.add_flag("--force", force,
                 "rerun every replicate: delete its result file and checkpoint first");
    app.add_flag("--allow-thread-change", allow_thread_change,
                 "resume checkpoints written with another thread count (recorded in the result "
                 "file); default: such a replicate fails");
    app.add_flag("--allow-version-change", allow_version_change,
                 "resume checkpoints written by another sp version or build (recorded in the "
                 "result file); default: such a replicate fails");
    app.add_option("--stop-signals", signals,
                   "signals that make every rank checkpoint and the sweep exit with 75 "
                   "(requeue); default USR1 TERM")
        ->delimiter(',');
    app.add_flag("--list-keys", keys, "list every configuration key with its type and default");
    if (const auto code = sp::app::parse_arguments(app, "sp_sweep", argc, argv)) return *code;

    if (keys) {
        std::cout << list_keys(format == "tsv");
        return 0;
    }
    if (ranks_per_gpu < 1) {
        throw sp::ConfigError("--ranks-per-gpu: must be at least 1, got " +
                              std::to_string(ranks_per_gpu));
    }
    if (format == "tsv" && !dry_run) {
        throw sp::ConfigError("--format tsv formats the plan of --dry-run (or the keys of "
                              "--list-keys): add --dry-run, or drop --format to run the sweep");
    }
    const std::string sweep_text = sp::sweep_file_text(file); // the embedded one when empty
    const sp::Sweep sweep =
        sp::parse_sweep(sweep_text, file.empty() ? sp::kEmbeddedQuickName : file, overrides);
    // A plan only shown may lack the weights file (the IDs then name it by file name, and say
    // so); a plan that runs hashes it.
    const bool runs = !dry_run && !record_only && show.empty() && format == "table";
    const sp::Plan plan = sp::make_plan(sweep, ranks > 0 ? ranks : launcher_ranks(),
                                        runs || record_only ? sp::MissingWeights::refuse
                                                            : sp::MissingWeights::name_only);
    const bool printer = launcher_rank() == 0; // one copy of the plan per job
    for (const std::string& path : plan.missing_weights) {
        if (printer && !dry_run) { // a dry run lists it with the other missing inputs
            sp::log::warn("model.pretrained: " + path +
                          " cannot be read: the IDs of the replicates using it are provisional "
                          "(by file name, not contents); a run refuses to start without it");
        }
    }
    if (runs) {
        if (printer) std::cout << sp::format_plan(plan) << std::flush;
        // Every rank checks the same inputs of the same plan before MPI starts: a missing one
        // ends them all with exit 2, before anything is written.
        sp::require_inputs(plan);
        // What this run plans, in each results directory, before any replicate runs.
        if (printer) {
            const std::string command = sp::command_line(argc, argv);
            for (const auto& record : sp::make_sweep_records(plan, sweep_text, command, overrides))
                sp::write_sweep_record(record);
        }
        sp::RunContext ctx;
        // --threads, else sweep.threads, else (0) the node's share, decided once MPI is up.
        ctx.threads = threads > 0 ? threads : static_cast<int>(sweep.threads);
        ctx.ranks_per_gpu = ranks_per_gpu;
        ctx.force = force;
        ctx.allow_thread_change = allow_thread_change;
        ctx.allow_version_change = allow_version_change;
        return run_sweep(plan, ctx, signals, argc, argv);
    }
    if (!printer) return 0;
    if (record_only) {
        const std::string command = sp::command_line(argc, argv);
        for (const auto& record : sp::make_sweep_records(plan, sweep_text, command, overrides)) {
            sp::write_sweep_record(record);
            std::cout << record.directory << "/sweeps/" << record.file_name << "\n";
        }
        return 0;
    }
    if (!show.empty()) {
        for (const auto& r : plan.replicates) {
            if (r.id == show || std::to_string(r.index + 1) == show) {
                std::cout << sp::resolved_toml(plan, r);
                std::cout << "\n# The sweep's [analysis] table, resolved"
                          << (sweep.analysis.declared ? ""
                                                      : " (the sweep file declares none: defaults)")
                          << ": how sp_reduce tests the results.\n# No part of this replicate's "
                             "ID or of its recorded configuration.\n"
                          << sp::analysis_to_toml(sweep.analysis);
                return 0;
            }
        }
        throw sp::ConfigError("--show-config: no replicate \"" + show + "\" in sweep \"" +
                              plan.name + "\"");
    }
    std::cout << (format == "tsv" ? sp::format_plan_tsv(plan) : sp::format_plan(plan));
    // A dry run checks what a run would: the plan, then every missing input, and exit 2. The TSV
    // plan is for scripts that plan where the data need not be (job arrays, ID checks): there
    // the missing inputs are warnings.
    if (dry_run) {
        std::cout << std::flush;
        if (format != "tsv") sp::require_inputs(plan);
        if (const auto missing = sp::missing_inputs(plan); !missing.empty())
            sp::log::warn("a run would refuse (exit 2): " + sp::missing_inputs_text(missing));
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    return sp::guarded_main("sp_sweep", [&] { return run(argc, argv); });
}
