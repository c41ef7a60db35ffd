#pragma once
/// A sweep: a base experiment, the axes to vary, the seeds, and overrides from the command line.
/// sweeps/README.md documents the file format.
///
///     sp::Sweep s = sp::load_sweep("sweeps/paper.toml", {"train.epochs=2"});
///     sp::Plan p = sp::make_plan(s);             // plan/plan.hpp
///
/// Precedence, lowest first: built-in defaults, the file's base tables, a variant's settings, an
/// axis value, a rule's settings (`[[sweep.rules]]`, on the replicates its `when` names), `--set`
/// overrides. A `--set` on a swept key replaces that axis by the one value.

#include "sp/config/analysis.hpp"
#include "sp/config/experiment.hpp"
#include "sp/config/fields.hpp"
#include "sp/config/value.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace sp {

/// One key set to one value, and where that was written.
struct Setting {
    std::string key;
    Value value;
    Source source;
};

/// One axis of the grid. A key axis sweeps one key over values (`"train.lr" = [1e-3, 1e-4]`);
/// a variant axis sweeps labelled bundles of settings (`[[sweep.variants.dataset]]`).
struct Axis {
    std::string name; ///< the key, or the variant axis' name
    bool is_variant = false;
    Source source;                   ///< where the axis was declared
    std::vector<std::string> labels; ///< one per point: the value's text or the variant label
    std::vector<std::vector<Setting>> points; ///< what each point sets
    /// Keys that rules naming this axis in their `when` set (sorted, unique): they change with
    /// the axis' point too, so a contrast on this axis lets them differ within a pair.
    std::vector<std::string> rule_keys;
};

/// A conditional setting (`[[sweep.rules]]`): keys set on exactly the replicates whose
/// coordinates carry every label of `when`. Applied after the axes and before `--set`. A rule
/// sets no key an axis sets, names only axes and labels of the sweep, matches at least one
/// replicate, and no two rules set one key on one replicate (parse_sweep checks all four).
struct Rule {
    Source source; ///< where the [[sweep.rules]] entry starts
    /// Axis name -> label (a variant label, or a key axis' value as text), sorted by axis. An
    /// axis that a `--set` collapsed is dropped once its pinned value is checked to match.
    std::vector<std::pair<std::string, std::string>> when;
    std::vector<Setting> settings; ///< what the rule sets, in file order

    /// Whether a replicate at `coordinates` (axis -> label, as Replicate::coordinates) is one
    /// this rule sets.
    bool matches(const std::vector<std::pair<std::string, std::string>>& coordinates) const;
    /// "dataset = cifar10, strategy = baseline" (every replicate: "every replicate").
    std::string when_text() const;
};

/// A parsed, validated sweep.
struct Sweep {
    std::string file; ///< as given, or "<embedded sweeps/quick.toml>"
    std::string name; ///< sweep.name, default: the file's stem
    std::string description;
    std::uint64_t seed = 0;           ///< sweep.seed: the root of every seed stream
    std::vector<std::uint64_t> seeds; ///< replicate seeds (sweep.seeds)
    /// sweep.threads: LibTorch threads of every replicate, whatever the node's shape; 0 = not
    /// pinned (sp_sweep --threads, else cores / ranks on the node). Results depend on it.
    std::int64_t threads = 0;
    Source seeds_source;
    Experiment base;                ///< defaults + the file's base tables
    SourceMap base_sources;         ///< where each base key was set (absent = default)
    std::vector<Axis> axes;         ///< sorted by name: file order never matters
    std::vector<Rule> rules;        ///< [[sweep.rules]], in file order
    std::vector<Setting> overrides; ///< --set, applied last to every replicate
    /// The [analysis] table (config/analysis.hpp): how the reduction tests the results. Not
    /// part of any replicate's identity.
    AnalysisSpec analysis;
};

/// Reads and validates a sweep file, then applies `--set key=value` overrides.
/// Throws ConfigError listing every problem as "file:line:col: key: message".
Sweep load_sweep(const std::string& path, const std::vector<std::string>& overrides = {});

/// As load_sweep, from text already in memory; `name` is used in messages.
Sweep parse_sweep(const std::string& text, const std::string& name,
                  const std::vector<std::string>& overrides = {});

/// The [analysis] table of the sweep file at `path` (a whole sweep file, or one with only an
/// [analysis] table): sp_reduce --analysis. ConfigError naming the file, line and key.
AnalysisSpec load_analysis(const std::string& path);

/// The embedded default sweep (sweeps/quick.toml compiled into sp).
const char* embedded_quick_toml();
/// Name used for the embedded default in messages.
inline constexpr const char* kEmbeddedQuickName = "<embedded sweeps/quick.toml>";

/// The experiment as TOML tables, every key, sorted (the provenance's resolved config when
/// followed by its [sweep] table).
std::string experiment_to_toml(const Experiment& e);

} // namespace sp
