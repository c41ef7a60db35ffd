#pragma once
/// The reduce stage: every replicate file of a results directory, grouped by condition
/// (everything but the seed), summarised per metric across seeds, and compared between
/// conditions that share seeds. Writes summary.h5 (results-schema/summary.toml) and summary.md.
///
///     sp::Reduction r = sp::reduce_directory("results/quick");
///     sp::write_summary(r, "results/quick");   // summary.h5 + summary.md, atomically
///     std::cout << sp::summary_markdown(r);
///
/// Files are read in file-name (replicate ID) order, so the result never depends on how many
/// ranks made them. Conditions and contexts are those of plan/identity.hpp (condition_key,
/// context_key, with `auto` resolved by the device each file records), split further by the
/// major version of sp that wrote the files. Pairs: within a *context* (the condition without its
/// `al.*` keys and `train.shuffle`, which the paper's baseline variant changes), baseline against
/// every strategy, and every strategy but random against random (the equal-budget control); each on
/// the seeds both have. p-values are Holm-corrected across the metrics of one pair.
///
/// The sweep records of the directory (stats/sweep_record.hpp, `<dir>/sweeps/*.toml`) say what
/// was planned: every planned replicate is listed as complete, failed or missing.

#include "sp/config/enums.hpp"
#include "sp/stats/stats.hpp"
#include "sp/stats/sweep_record.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sp {

struct Condition {
    std::string label; ///< the keys that tell conditions apart: "al.strategy=random"
    std::string sweep_name;
    std::string sp_version_major;           ///< major version of the sp that wrote its replicates
    Strategy strategy = Strategy::baseline; ///< al.strategy
    std::string context;  ///< context_key(): condition key without al.*, train.shuffle
    std::string identity; ///< condition_key(): the replicate's identity without replicate.seed
    std::vector<std::uint64_t> seeds; ///< replicate seeds, ascending
    std::vector<std::string> ids;     ///< replicate IDs, by seed
    std::map<std::string, std::vector<double>>
        values; ///< metric -> one value per seed (NaN if missing)
};

struct Comparison {
    std::size_t a = 0; ///< condition index of the strategy
    std::size_t b = 0; ///< condition index of the reference (baseline or random)
    std::string kind;  ///< "strategy_vs_baseline" | "strategy_vs_random"; differences are a - b
    std::vector<stats::PairedTest> tests; ///< per metric (Reduction::metrics order)
    std::vector<double> t_p_holm;
    std::vector<double> w_p_holm;
};

/// One replicate a sweep record planned, and what the directory holds for it.
struct PlannedStatus {
    std::size_t record = 0; ///< index into Reduction::records
    std::string id;
    std::uint64_t seed = 0;   ///< replicate seed
    std::string coordinates;  ///< "axis=label, ..." (empty without axes)
    std::string status;       ///< "complete" | "failed" | "missing" (no readable `<id>.h5`)
    std::string sp_version;   ///< the file's root attribute; "" when missing
    std::string git_revision; ///< the file's root attribute; "" when missing
};

struct Reduction {
    std::string directory;
    std::vector<std::string> metrics;  ///< accuracy, then /metrics/scalars names, sorted
    std::vector<Condition> conditions; ///< sorted by sweep name, then label
    std::vector<std::vector<stats::Summary>> summaries; ///< [condition][metric]
    std::vector<Comparison> comparisons;
    std::vector<std::string> failed;    ///< "ID: error" of failed replicates
    std::vector<std::string> skipped;   ///< files that are not replicate results
    std::int64_t replicates = 0;        ///< complete replicate files read
    std::vector<SweepRecord> records;   ///< `<dir>/sweeps/*.toml`, by file name; empty: none
    std::vector<PlannedStatus> planned; ///< by record, then plan order
    std::vector<std::string> unreadable_records; ///< "sweeps/x.toml: why"
};

/// Reads every `*.h5` of `dir` (not subdirectories) and reduces them. `bootstrap_resamples`
/// and `seed` drive the bootstrap intervals. Throws IoError if `dir` cannot be read.
Reduction reduce_directory(const std::string& dir, std::int64_t bootstrap_resamples = 10000,
                           std::uint64_t seed = 0);

/// The readable table: per condition, the main metrics as mean +- std [95% t interval]; per
/// comparison, mean difference, paired t and Wilcoxon p (Holm) and effect sizes.
std::string summary_markdown(const Reduction& r);

/// Writes `<dir>/summary.h5` and `<dir>/summary.md` atomically.
void write_summary(const Reduction& r, const std::string& dir);

} // namespace sp
