// sp_reduce: the significance reduction of a results directory.
//
//     sp_reduce RESULTS_DIR [--bootstrap B] [--seed S] [--quiet]
//
// Reads every replicate file of RESULTS_DIR in file-name (ID) order, groups replicates by
// condition (everything but the seed), summarises every metric across seeds and compares
// conditions that share seeds (src/sp/stats/reduce.hpp); writes RESULTS_DIR/summary.h5
// (results-schema/summary.toml) and RESULTS_DIR/summary.md atomically and prints the latter.
// The sweep records sp_sweep left in RESULTS_DIR/sweeps/ say what was planned: the summary lists
// every planned replicate as complete, failed or missing (src/sp/stats/sweep_record.hpp).
// sp_sweep runs the same at the end of a sweep. Exit codes: 0 ok, 2 bad input.
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
    app.add_option("dir", dir, "results directory (a sweep's output.dir)")->required();
    app.add_option("--bootstrap", bootstrap, "bootstrap resamples per interval")
        ->check(CLI::PositiveNumber);
    app.add_option("--seed", seed, "bootstrap seed");
    app.add_flag("-q,--quiet", quiet, "print nothing on success");
    return sp::guarded_main("sp_reduce", [&] {
        try {
            app.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            return app.exit(e) == 0 ? 0 : static_cast<int>(sp::ExitCode::bad_input);
        }
        const sp::Reduction r = sp::reduce_directory(dir, bootstrap, seed);
        if (r.replicates == 0 && r.failed.empty())
            throw sp::DataError(dir + ": no replicate result files");
        sp::write_summary(r, dir);
        if (!quiet) std::cout << sp::summary_markdown(r) << std::flush;
        return 0;
    });
}
