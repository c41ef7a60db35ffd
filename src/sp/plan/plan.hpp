#pragma once
/// The plan: a sweep's grid expanded into replicates, each with a stable ID and its seed streams.
///
///     sp::Plan plan = sp::make_plan(sp::load_sweep("sweeps/paper.toml"), /*ranks=*/4);
///     std::cout << sp::format_plan(plan);
///
/// IDs and seeds depend only on the resolved configuration and the sweep seed: never on the
/// order of keys or axes in the file, on the rank count, or on the order of execution.

#include "sp/config/sweep.hpp"
#include "sp/plan/identity.hpp" // replicate_id, the one definition of identity

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sp {

/// Tags of the seed streams. Fixed forever: changing one changes every result.
enum class Stream : std::uint64_t {
    pool = 1,    ///< initial labelled pool, stratified subsets
    init = 2,    ///< model initialisation
    data = 3,    ///< data order and augmentation
    dropout = 4, ///< dropout masks, MC dropout
    tsne = 5,    ///< t-SNE initial noise / neighbour ties
};

/// The seeds of one replicate, one per stream.
struct SeedStreams {
    std::uint64_t pool = 0;
    std::uint64_t init = 0;
    std::uint64_t data = 0;
    std::uint64_t dropout = 0;
    std::uint64_t tsne = 0;
};

/// seed(stream) = mix_seed(mix_seed(sweep_seed, replicate_seed), tag(stream)), with mix_seed from
/// util/rng.hpp. Only the replicate's seed enters, not its other coordinates: conditions that share
/// a seed share every stream (common random numbers), so baseline and active learning with seed 3
/// start from the same weights, and every strategy with seed 3 from the same initial pool, which
/// is what makes paired tests between conditions meaningful. A `metrics.tsne.seed` >= 0 replaces
/// the t-SNE stream.
SeedStreams derive_seeds(std::uint64_t sweep_seed, std::uint64_t replicate_seed,
                         std::int64_t fixed_tsne_seed = -1);

/// One replicate: a fully resolved experiment and its seeds.
struct Replicate {
    std::string id;        ///< replicate_id(): 16 hex digits of SHA-256 (plan/identity.hpp)
    std::size_t index = 0; ///< position in the plan's listing
    std::vector<std::pair<std::string, std::string>> coordinates; ///< axis -> label, by axis name
    std::uint64_t seed = 0; ///< the replicate seed (a value of sweep.seeds)
    SeedStreams seeds;
    /// Device type and precision the ID names (plan_effective: `auto` is cpu at plan time); a
    /// runner that resolves `auto` to another device runs a different replicate than named.
    EffectiveSettings effective;
    Experiment config;
    SourceMap sources; ///< where each non-default key got its value
    double cost = 0;   ///< estimated work, relative units (estimate_cost)
    int rank = 0;      ///< rank that runs it under longest-first scheduling
};

/// What make_plan does with a model.pretrained file it cannot read.
enum class MissingWeights {
    refuse,   ///< ConfigError naming model.pretrained and the path (a plan that will run)
    name_only ///< the ID names those weights by file name, provisionally (a plan only shown)
};

/// A sweep expanded.
struct Plan {
    std::string file;
    std::string name;
    std::string description;
    std::uint64_t sweep_seed = 0;
    std::vector<std::string> axes; ///< axis names, sorted
    std::vector<Rule> rules;       ///< the sweep's [[sweep.rules]], applied after the axes
    std::vector<Replicate>
        replicates; ///< grid order: axes by name, values in file order, seeds last
    int ranks = 1;
    /// model.pretrained files that could not be read (MissingWeights::name_only): the IDs of
    /// the replicates using them are provisional and differ from the IDs a run gives.
    std::vector<std::string> missing_weights;
};

/// Expands and validates the grid, pairs each al.init = "baseline" replicate with its baseline
/// (baseline_of) and names it with its baseline's ID; throws ConfigError listing every problem
/// (cross-key rules, values beyond the dataset, replicates that resolve to the same
/// configuration, a replicate whose baseline is missing or ambiguous) and, with
/// MissingWeights::refuse, for a model.pretrained file that cannot be read (each distinct
/// weights file is read once, to hash it into the IDs).
Plan make_plan(const Sweep& sweep, int ranks = 1, MissingWeights missing = MissingWeights::refuse);

/// The replicate's fully resolved configuration as a sweep file of exactly that one replicate:
/// parsing it back gives the same ID (recorded in every result file as provenance).
std::string resolved_toml(const Plan& plan, const Replicate& r);

/// Relative work of an experiment: images through the network (training, scoring, embedding)
/// times pixels per image times width^2 / 1e6, divided by 16 for the ImageNet stem's early
/// downsampling. Used only to order and balance replicates.
double estimate_cost(const Experiment& e);

/// The order replicates are handed out in (indices into `replicates`): longest first, ties by
/// ID, except that a baseline goes before every replicate that starts from it (al.init =
/// "baseline"): a baseline ranks by its cost plus its longest dependent's. A rank that draws a
/// dependent therefore finds its baseline finished or running on another rank, never waiting for
/// one that nobody has started (sweep/replicate.hpp waits for it).
std::vector<std::size_t> run_order(const std::vector<Replicate>& replicates);

/// Longest-first assignment to `ranks` ranks (greedy LPT over run_order(), to the lowest rank on
/// ties): what the dynamic scheduler does when ranks run at equal speed. Returns a rank per
/// replicate.
std::vector<int> assign_ranks(const std::vector<Replicate>& replicates, int ranks);

/// The replicate with ID `id`, or nullptr.
const Replicate* find_replicate(const Plan& plan, const std::string& id);

/// The baseline replicate `r` starts from (al.init = "baseline"; r.effective.baseline_id), or
/// nullptr for a replicate that starts from its built weights. The plan pairs them (make_plan):
/// the baseline is the replicate of the same sweep with al.strategy = "baseline", the same
/// replicate seed and the same context key (plan/identity.hpp: every setting but the al.* keys
/// and train.shuffle, with the sweep seed, the weights' digest and the effective device and
/// precision). Where several baselines qualify (they differ in al.* or train.shuffle), the one
/// whose al.* keys (but al.strategy and al.init) and train.shuffle equal r's; still several, or
/// none: a ConfigError naming the replicate and what is missing.
const Replicate* baseline_of(const Plan& plan, const Replicate& r);

/// Labelled-set sizes per active-learning round (one entry, the training set, for baseline).
std::vector<std::int64_t> labelled_sizes(const Experiment& e);

/// The plan as a table: ID, dataset, strategy, seed, each swept key, the baseline it starts from
/// (column "from", when any replicate does), rank, cost; then totals.
std::string format_plan(const Plan& plan);

/// The plan as tab-separated values for scripts: a header line, then one line per replicate with
/// index, id, dataset, strategy, seed, the five stream seeds, rank, cost, baseline (the ID of the
/// baseline it starts from, empty for most) and one column per axis.
std::string format_plan_tsv(const Plan& plan);

} // namespace sp
