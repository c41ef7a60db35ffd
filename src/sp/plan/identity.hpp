#pragma once
/// Identity: what makes two replicates the same computation, and what makes two replicates
/// seeds of the same condition. The plan names replicates with it (the ID); the reduce stage
/// groups replicates into conditions and pairs conditions with it. Nothing else defines identity.
///
///     sp::EffectiveSettings run = sp::plan_effective(e);            // auto resolved: cpu, fp32
///     std::string id = sp::replicate_id(e, run, sweep_seed, replicate_seed);  // "3f2a..." (16
///     hex) std::string condition = sp::condition_key(e, run, sweep_seed);  // same for every seed
///     std::string context = sp::context_key(e, run, sweep_seed);      // same for every strategy
///
/// Every text is `key = value` lines (value as TOML), one per key, in the order of fields()
/// (sorted by key). The identity keys are the fields with `Field::identity` set: everything a
/// replicate computes, none of the locations (paths, output settings), so moving data or
/// results changes no ID. `train.device` and `train.precision` enter as run, not as written
/// (EffectiveSettings): a CPU run of a config saying fp16 trains in fp32 and is named so. The
/// pretrained weights enter by content: `model.pretrained = "sha256:<64 hex>"`, so a renamed
/// copy is the same replicate and a file changed in one byte is another one. `al.init` enters
/// as it acts and only when it is "baseline" (omitted_from_identity); such a replicate's ID also
/// names its paired baseline's ID (EffectiveSettings::baseline_id, set by the plan).

#include "sp/config/experiment.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sp {

/// What a replicate actually runs with where the configuration leaves a choice (`auto`) or asks
/// for something the device does not do (mixed precision on a CPU).
struct EffectiveSettings {
    std::string device = "cpu";            ///< device type used: "cpu" or "cuda" (no index)
    Precision precision = Precision::fp32; ///< fp32 on the CPU whatever train.precision says
    /// SHA-256 hex (64 digits) of the model.pretrained file; "" when there are no weights or
    /// their contents are unknown (a dry run without the file: the ID then names the weights by
    /// file name and is provisional, see WeightsDigests).
    std::string pretrained_sha256;
    /// The replicate ID of the baseline whose final weights an `al.init = "baseline"` replicate
    /// starts from (paired by the plan: plan/plan.hpp paired_baseline); "" for every other
    /// replicate. Part of the replicate ID, not of the condition (it differs per seed).
    std::string baseline_id;
};

/// True when `e` starts from its paired baseline's final weights: al.init = "baseline" and an
/// active-learning strategy (a baseline replicate ignores al.init).
bool starts_from_baseline(const Experiment& e);

/// SHA-256 of weights files by path, each distinct path read once: a plan names many
/// replicates with the same weights file.
class WeightsDigests {
  public:
    /// `allow_missing`: a file that cannot be read gives "" (recorded in missing()) instead of
    /// an error; for plans that are only shown (--dry-run, --show-config), never run.
    explicit WeightsDigests(bool allow_missing = false) : allow_missing_(allow_missing) {}
    /// SHA-256 hex of the file at `path` (streamed). Throws ConfigError naming model.pretrained
    /// and `path` when it is missing or unreadable, unless allow_missing.
    std::string of(const std::string& path);
    /// Paths that could not be read (only with allow_missing), in the order first asked for.
    const std::vector<std::string>& missing() const { return missing_; }
    /// Why `path` (one of missing()) could not be read, as the ConfigError would say it after
    /// "model.pretrained: ".
    std::string why_missing(const std::string& path) const;
    /// How many files were read (each distinct path once).
    std::size_t files_read() const { return by_path_.size() - missing_.size(); }

  private:
    bool allow_missing_;
    std::map<std::string, std::string> by_path_;
    std::vector<std::string> missing_;
    std::map<std::string, std::string> errors_;
};

/// The device type and precision `e` runs with on a machine where CUDA is (or is not)
/// available: train.device "cuda" gives cuda, "cpu" gives cpu, "auto" gives cuda exactly when
/// `cuda_available`; the precision is train.precision on cuda and fp32 on cpu (the trainer
/// autocasts only on CUDA). Pure: no LibTorch, no device query.
EffectiveSettings resolve_effective(const Experiment& e, bool cuda_available);

/// The resolution the plan names replicates with: resolve_effective(e, false) and the SHA-256 of
/// the model.pretrained file (from `digests`). The plan is made on the launching machine and
/// must not depend on it, so `auto` resolves to cpu at plan time; a sweep meant for GPUs says
/// train.device = "cuda", which resolves to cuda everywhere. Throws ConfigError when the weights
/// file cannot be read (see WeightsDigests).
EffectiveSettings plan_effective(const Experiment& e, WeightsDigests& digests);

/// plan_effective() with its own WeightsDigests (the weights file is required).
EffectiveSettings plan_effective(const Experiment& e);

/// The condition's (key, TOML value) pairs, in order: every identity key in key order (with
/// train.device and train.precision from `run`, and al.init as it acts: "pretrained" for a
/// baseline replicate whatever it says), `model.pretrained` at its place in key order
/// as `""` (no weights), `"sha256:<run.pretrained_sha256>"`, or, when the contents are unknown,
/// the file name only (provisional: a dry run without the file), then `sweep.seed`. The reduce
/// stage labels a condition with those whose values differ between conditions.
std::vector<std::pair<std::string, std::string>>
condition_settings(const Experiment& e, const EffectiveSettings& run, std::uint64_t sweep_seed);

/// True for a condition setting that is left out of the identity texts: `al.init =
/// "pretrained"`, the behaviour before the key existed, so IDs made before it stay valid.
bool omitted_from_identity(const std::string& key, const std::string& value);

/// What identifies a replicate's condition (the replicate without its seed index): the lines of
/// condition_settings() except those omitted_from_identity(). Replicates with equal keys are
/// seeds of one condition; recorded as /conditions/identity in summary.h5.
std::string condition_key(const Experiment& e, const EffectiveSettings& run,
                          std::uint64_t sweep_seed);

/// The text whose SHA-256 is the replicate ID: condition_key(), then, for a replicate that
/// starts_from_baseline(), `al.init_baseline = "<run.baseline_id>"`, then
/// `replicate.seed = <replicate_seed>`. Throws ConfigError when a replicate that starts from
/// its baseline has no run.baseline_id (only a plan pairs replicates: make_plan).
std::string replicate_identity_text(const Experiment& e, const EffectiveSettings& run,
                                    std::uint64_t sweep_seed, std::uint64_t replicate_seed);

/// First 8 bytes of SHA-256(replicate_identity_text), as 16 lower-case hex digits.
std::string replicate_id(const Experiment& e, const EffectiveSettings& run,
                         std::uint64_t sweep_seed, std::uint64_t replicate_seed);

/// The replicate ID the plan gives: replicate_id() with plan_effective(e) (reads the weights).
std::string replicate_id(const Experiment& e, std::uint64_t sweep_seed,
                         std::uint64_t replicate_seed);

/// True for the condition keys that stay fixed within a context: all but the `al.*` keys and
/// `train.shuffle` (which a strategy, or the paper's baseline variant, may change).
bool is_context_key(const std::string& key);

/// What identifies a replicate's context, the conditions compared with each other: the lines of
/// condition_key() whose key is_context_key(), so it includes the sweep seed, the weights and
/// the effective device and precision.
std::string context_key(const Experiment& e, const EffectiveSettings& run,
                        std::uint64_t sweep_seed);

} // namespace sp
