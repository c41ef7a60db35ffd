#pragma once
/// The reduce stage: every replicate file of a results directory, grouped by condition
/// (everything but the seed), summarised per metric across seeds, and compared between
/// conditions that share seeds as the sweep's `[analysis]` table declares
/// (config/analysis.hpp). Writes summary.h5 (results-schema/summary.toml) and summary.md.
///
///     sp::Reduction r = sp::reduce_directory("results/quick");
///     sp::write_summary(r, "results/quick");   // summary.h5 + summary.md, atomically
///     std::cout << sp::summary_markdown(r);
///     std::cout << sp::seed_plan_markdown(r);  // sp_reduce --plan-seeds
///
/// Files are read in file-name (replicate ID) order, so the result never depends on how many
/// ranks made them. Conditions are those of plan/identity.hpp (condition_key, with `auto`
/// resolved by the device each file records), split further by the major version of sp that
/// wrote the files.
///
/// The analysis of a sweep comes from its sweep records (stats/sweep_record.hpp,
/// `<dir>/sweeps/*.toml`: the sweep file's text and overrides; the most recently started record
/// of that sweep name), or from ReduceOptions::analysis_file, or the defaults (no record).
/// Comparisons: each contrast of the analysis pairs the conditions of its level `a` with those
/// of level `b` that differ from them only in the contrast's factor (a declared contrast whose
/// partners differ in anything else is refused with a DataError naming the other keys); the
/// default contrasts pair every strategy with baseline and with random within a *context* (the
/// condition without its `al.*` keys and `train.shuffle`). Pairs are matched by replicate seed.
/// Per sweep, the declared family (every primary endpoint x every comparison) is Holm-corrected
/// at the analysis' alpha; every other tested metric is secondary, with Benjamini-Hochberg
/// q-values across the sweep; untested metrics (config/analysis.hpp) get differences and
/// intervals only.
///
/// Active-learning replicates also give trajectories: per round the labelled-set size and the
/// accuracy (and, with al.round_metrics, the per-round metrics); their normalised areas under
/// the budget curve (AUBC, stats::aubc) enter as metrics `aubc_accuracy` and `aubc_<endpoint>`
/// for every primary endpoint the rounds have, reduced and tested like the final values.
///
/// The sweep records also say what was planned: every planned replicate is listed as complete,
/// failed or missing.

#include "sp/config/analysis.hpp"
#include "sp/config/enums.hpp"
#include "sp/stats/stats.hpp"
#include "sp/stats/sweep_record.hpp"

#include <cstdint>
#include <map>
#include <optional>
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
    /// The sweep record's axis coordinates of its replicates ("axis=label, ..." in axis-name
    /// order; "" when no record lists them).
    std::string coordinates;
};

/// A metric's role in one sweep's analysis.
enum class MetricRole { untested = 0, secondary = 1, primary = 2 };

struct Comparison {
    std::size_t a = 0; ///< condition index of level a (differences are a - b)
    std::size_t b = 0; ///< condition index of level b (the reference)
    /// "strategy_vs_baseline" | "strategy_vs_random" (the default contrasts) | "declared"
    std::string kind;
    std::string contrast; ///< Contrast::name() of the contrast that made it
    std::string factor;   ///< the contrast's factor
    std::string level_a;  ///< the factor's level of condition a
    std::string level_b;
    std::vector<stats::PairedTest> tests; ///< per metric (Reduction::metrics order)
    std::vector<MetricRole> roles;        ///< per metric, from the sweep's analysis
    /// Per metric: the declared test's p (signflip_p or t_p; NaN when untested), Holm-adjusted
    /// over the sweep's family (primary only, else NaN), BH q-value (secondary only, else NaN).
    std::vector<double> p;
    std::vector<double> p_holm;
    std::vector<double> q_bh;
    std::size_t family_size = 0; ///< m of the sweep's Holm family
    /// Per metric, primary only (else NaN): the minimum detectable difference (raw units) at the
    /// analysis' power with n pairs at alpha / family_size (two-sided paired t, sd of these
    /// differences), the declared effect (analysis.effect), and the seeds needed to detect it
    /// (pairs_needed rounded up; NaN without a declared effect or sd).
    std::vector<double> mdd;
    std::vector<double> effect;
    std::vector<double> seeds_needed;
    /// Per metric: the TOST margin (NaN: none declared); equivalent: 1 (tost_p < alpha), 0 (not
    /// shown), -1 (no margin or no test).
    std::vector<double> margin;
    std::vector<int> equivalent;
};

/// The analysis one sweep of the directory was reduced with.
struct SweepAnalysis {
    std::string sweep_name;
    AnalysisSpec spec;
    std::string source; ///< "sweeps/<record>.toml" | "--analysis <file>" | "default (no record)"
    std::vector<std::string> primary_missing; ///< default primary endpoints no replicate has
};

/// Per round of one active-learning condition: the labelled-set size and, per trajectory
/// metric, the summary across seeds (accuracy, then the per-round primary endpoints).
struct Trajectory {
    std::size_t condition = 0;               ///< index into Reduction::conditions
    std::vector<std::int64_t> labelled_size; ///< per round
    std::vector<std::string> metrics;
    std::vector<std::vector<stats::Summary>> rounds; ///< [round][metric]
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
    std::vector<SweepAnalysis> analyses;  ///< one per sweep name, sorted by name
    std::vector<Trajectory> trajectories; ///< AL conditions, in condition order
    std::int64_t bootstrap_resamples = 10000;
    std::vector<std::string> failed;    ///< "ID: error" of failed replicates
    std::vector<std::string> skipped;   ///< files that are not replicate results
    std::int64_t replicates = 0;        ///< complete replicate files read
    std::vector<SweepRecord> records;   ///< `<dir>/sweeps/*.toml`, by file name; empty: none
    std::vector<PlannedStatus> planned; ///< by record, then plan order
    std::vector<std::string> unreadable_records; ///< "sweeps/x.toml: why"
};

/// How to reduce a directory.
struct ReduceOptions {
    std::int64_t bootstrap_resamples = 10000; ///< B of every bootstrap interval
    std::uint64_t seed = 0;                   ///< seeds bootstraps and Monte Carlo flips
    /// A sweep file whose [analysis] table replaces the records' for every sweep; "": none.
    std::string analysis_file;
};

/// Reads every `*.h5` of `dir` (not subdirectories) and reduces them. Throws IoError if `dir`
/// cannot be read, ConfigError for an analysis that cannot be parsed, DataError for a declared
/// analysis the results contradict (an unknown primary endpoint, a contrast level no condition
/// has, a contrast whose partners differ in more than its factor).
Reduction reduce_directory(const std::string& dir, const ReduceOptions& options = {});

/// summary.md: the primary table first (endpoint, contrast, difference [95% t CI], BCa
/// interval, declared p with Holm, equivalence verdict, minimum detectable difference), then
/// the secondary metrics (exploratory, BH q-values), the conditions (mean, sd, median, IQR,
/// intervals), the trajectories, failed replicates and the sweep record.
std::string summary_markdown(const Reduction& r);

/// sp_reduce --plan-seeds: per sweep, comparison and primary endpoint, n, sd of the paired
/// differences, the minimum detectable difference at n, the declared effect and the seeds needed
/// to detect it at the family's alpha and the analysis' power.
std::string seed_plan_markdown(const Reduction& r);

/// Writes `<dir>/summary.h5` and `<dir>/summary.md` atomically.
void write_summary(const Reduction& r, const std::string& dir);

} // namespace sp
