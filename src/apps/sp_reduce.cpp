// sp_reduce: the significance reduction of a results directory.
//
//     sp_reduce RESULTS_DIR [--analysis FILE] [--bootstrap B] [--seed S] [--quiet]
//     sp_reduce RESULTS_DIR --plan-seeds [--analysis FILE]
//
// Reads every replicate file of RESULTS_DIR in file-name (ID) order, groups replicates by
// condition (everything but the seed), summarises every metric across seeds and compares
// conditions that share seeds as each sweep's [analysis] table declares (src/sp/stats/reduce.hpp:
// primary endpoints with Holm, secondary metrics with BH q-values, equivalence, power); writes
// RESULTS_DIR/summary.h5 (results-schema/summary.toml) and RESULTS_DIR/summary.md atomically and
// prints the latter. The analysis of a sweep is its sweep record's (RESULTS_DIR/sweeps/), or the
// [analysis] table of --analysis FILE for every sweep, or the defaults. The sweep records also
// say what was planned: the summary lists every planned replicate as complete, failed or
// missing (src/sp/stats/sweep_record.hpp).
// --plan-seeds prints, per comparison and primary endpoint, the minimum detectable difference
// with the seeds run and the seeds needed to detect the declared effect (a pilot sweep sizes
// the real one), and writes nothing.
// sp_sweep runs the same reduction at the end of a sweep. Exit codes: 0 ok, 2 bad input.
#include "sp/stats/reduce.hpp"
#include "sp/util/error.hpp"
#include "sp/util/main.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

int main(int argc, char** argv) {
    CLI::App app{"Summarise a results directory across seeds, with paired tests."};
    std::string dir;
    std::int64_t bootstrap = 10000;
    std::uint64_t seed = 0;
    bool quiet = false;
    bool plan_seeds = false;
    std::string analysis;
    app.add_option("dir", dir, "results directory (a sweep's output.dir)")->required();
    app.add_option("--analysis", analysis,
                   "sweep file whose [analysis] table replaces the sweep records' for every "
                   "sweep");
    app.add_flag("--plan-seeds", plan_seeds,
                 "print the seeds needed per comparison and primary endpoint; write nothing");
    app.add_option("--bootstrap", bootstrap, "bootstrap resamples per interval")
        ->check(CLI::PositiveNumber);
    app.add_option("--seed", seed, "seed of the bootstrap intervals and Monte Carlo sign flips");
    app.add_flag("-q,--quiet", quiet, "print nothing on success");
    return sp::guarded_main("sp_reduce", [&] {
        try {
            app.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            return app.exit(e) == 0 ? 0 : static_cast<int>(sp::ExitCode::bad_input);
        }
        sp::ReduceOptions options;
        options.bootstrap_resamples = bootstrap;
        options.seed = seed;
        options.analysis_file = analysis;
        const sp::Reduction r = sp::reduce_directory(dir, options);
        if (r.replicates == 0 && r.failed.empty())
            throw sp::DataError(dir + ": no replicate result files");
        if (plan_seeds) {
            std::cout << sp::seed_plan_markdown(r) << std::flush;
            return 0;
        }
        sp::write_summary(r, dir);
        if (!quiet) std::cout << sp::summary_markdown(r) << std::flush;
        return 0;
    });
}
