#pragma once
/// Internals of the reduce stage (stats/reduce*.cpp): what the pairing needs to know about the
/// conditions and sweeps beyond the public Reduction, and number formats shared by summary.md
/// and the seed plan.

#include "sp/config/sweep.hpp"
#include "sp/stats/reduce.hpp"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sp::detail {

/// One condition's settings and sweep coordinates, aligned with Reduction::conditions.
struct ConditionFacts {
    /// condition_settings() of its replicates as run: key -> TOML value text.
    std::map<std::string, std::string> settings;
    /// The sweep record's coordinates of its replicates: axis -> label; empty when no record
    /// lists them.
    std::map<std::string, std::string> coordinates;
};

/// A sweep's design as its sweep record gives it: the axes (empty without a record) and the
/// labels its records planned per axis.
struct SweepDesign {
    std::vector<Axis> axes;
    std::map<std::string, std::set<std::string>> planned_labels; ///< axis -> labels planned
};

/// The comparisons of `r` (conditions, metrics and analyses filled in): every sweep's
/// contrasts paired, tested and corrected (Comparison fields all filled). `designs` by sweep
/// name. DataError for a declared contrast the conditions contradict.
std::vector<Comparison> compare_conditions(const Reduction& r,
                                           const std::vector<ConditionFacts>& facts,
                                           const std::map<std::string, SweepDesign>& designs,
                                           const ReduceOptions& options);

/// The analysis of sweep `name` in r.analyses; nullptr when there is none.
const SweepAnalysis* analysis_of(const Reduction& r, const std::string& name);

/// `v` with 4 significant digits ("-" for NaN).
std::string format_number(double v, int digits = 4);

/// A p-value: 3 decimals, or 1.2e-05 below 0.001 ("-" for NaN).
std::string format_p(double p);

} // namespace sp::detail
