#pragma once
/// Active-learning trajectories for the reduction (internal to stats/): the per-round values
/// of a replicate file's /al group, their areas under the budget curve (AUBC), per-round
/// summaries across seeds, and their place in summary.h5 and summary.md.
///
///     auto series = sp::detail::read_round_series(file);          // nullopt: not an AL replicate
///     for (auto& [m, v] : sp::detail::aubc_values(*series, primary)) row.values[m] = v;
///     sp::Trajectory t = sp::detail::summarize_trajectory(c, per_seed_series, metrics, B, seed);

#include "sp/io/h5.hpp"
#include "sp/stats/reduce.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sp::detail {

/// The rounds of one AL replicate: per round the labelled-set size (/al/labelled_size) and
/// values: "accuracy" (/al/accuracy) and, when every round has them (al.round_metrics), each
/// scalar of /al/round_NNN/metrics/scalars by its name.
struct RoundSeries {
    std::vector<std::int64_t> labelled_size;
    std::map<std::string, std::vector<double>> values; ///< metric -> one value per round
};

/// The series of replicate file `f`; nullopt when it has no /al group (a baseline) or no
/// round. IoError (naming the file's path) when /al is malformed (sizes that disagree, labelled
/// sizes not strictly increasing). Reads the scalars' attributes directly (read_analysis is in
/// sp::nn, which sp_reduce does not link); a NaN (undefined) scalar stays NaN.
std::optional<RoundSeries> read_round_series(const h5::File& f);

/// Normalised AUBC (stats::aubc over labelled_size) of "accuracy" as "aubc_accuracy", and of
/// every metric of `endpoints` the series has as "aubc_<metric>". Nothing for a series of
/// fewer than 2 rounds.
std::map<std::string, double> aubc_values(const RoundSeries& s,
                                          const std::vector<std::string>& endpoints);

/// One condition's trajectory: `seeds` are its replicates' series (any order). Rounds are
/// summarised where every series has the same labelled_size as the first; a series with other
/// sizes (another plan) is a DataError naming `label`. `metrics`: "accuracy", then the
/// endpoints (in order) every series has per round. Summaries as stats::summarize(values,
/// 0.95, bootstrap_resamples, seed).
Trajectory summarize_trajectory(std::size_t condition, const std::string& label,
                                const std::vector<RoundSeries>& seeds,
                                const std::vector<std::string>& endpoints,
                                std::int64_t bootstrap_resamples, std::uint64_t seed);

/// /trajectories of summary.h5 (results-schema/summary.toml) when `r.trajectories` is not
/// empty.
void write_trajectories(h5::File& f, const Reduction& r);

/// summary.md's "Trajectories" section: per AL condition, per round the labelled size and each
/// trajectory metric as mean [95% t interval] (n); empty when there are none.
std::string trajectories_markdown(const Reduction& r);

} // namespace sp::detail
