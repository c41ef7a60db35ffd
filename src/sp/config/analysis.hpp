#pragma once
/// The `[analysis]` table of a sweep file: what the reduction tests and how, declared before
/// the results exist. It is part of the sweep record (the record keeps the sweep file's text),
/// shown by `sp_sweep --show-config`, and never part of a replicate's identity: changing it
/// changes no replicate ID and reruns nothing. sweeps/README.md documents the keys.
///
///     [analysis]
///     primary = ["accuracy", "cosine_all_mean", "silhouette_euclidean_tsne",
///     "davies_bouldin_tsne"] alpha = 0.05 test = "sign_flip"                 # the declared test:
///     "sign_flip" or "t" power = 0.8
///
///     [[analysis.contrasts]]             # none: every strategy vs baseline and vs random
///     factor = "strategy"                # a variant axis, or a condition key ("al.start")
///     a = "least_confidence"             # the level whose values come first (a - b)
///     b = "random"
///
///     [analysis.equivalence]             # TOST margins, raw units of each endpoint
///     cosine_all_mean = 0.01
///
///     [analysis.effect]                  # differences to detect: sizes the seeds needed
///     silhouette_euclidean_tsne = 0.023
///
/// Families: Holm over every primary endpoint x every comparison the declared contrasts give in
/// one sweep (the declared family, at `alpha`); every other tested metric is secondary,
/// Benjamini-Hochberg across all of them in the sweep, reported as exploratory.

#include "sp/config/value.hpp"

#include <map>
#include <string>
#include <vector>

namespace sp {

/// The test whose p-value is the declared one (Holm / BH are applied to it).
enum class DeclaredTest { sign_flip, t };

/// "sign_flip" | "t".
const char* declared_test_name(DeclaredTest t);

/// One declared contrast: the conditions at level `a` of `factor` against those at level `b`,
/// paired by replicate seed, each with the partner that differs from it only in the factor.
struct Contrast {
    /// A variant axis of the sweep ("strategy": its labels are the levels, and every key its
    /// variants set may differ within a pair), or a condition key ("al.start": its values, as
    /// the sweep file writes them without quotes, are the levels, and only it may differ).
    std::string factor;
    /// The levels; "*" as `a` means every level but `b` (and, when b is "random", but
    /// "baseline"), one comparison each.
    std::string a;
    std::string b;
    Source source; ///< where it was declared; empty for the defaults
    /// "factor: a vs b", the name summary.md and summary.h5 use.
    std::string name() const;
};

/// The resolved `[analysis]` table (defaults where the file says nothing).
struct AnalysisSpec {
    /// The sweep file has an [analysis] table, or a `--set analysis.KEY=VALUE` set a key.
    bool declared = false;
    /// The declared endpoints, in the order given. Default: accuracy and the paper's three
    /// (mean pairwise cosine, silhouette and Davies-Bouldin on the t-SNE map).
    std::vector<std::string> primary = {"accuracy", "cosine_all_mean", "silhouette_euclidean_tsne",
                                        "davies_bouldin_tsne"};
    double alpha = 0.05;                         ///< of the declared family, in (0, 1)
    DeclaredTest test = DeclaredTest::sign_flip; ///< the declared p
    double power = 0.8;                          ///< for the minimum detectable difference
    /// Declared contrasts, in file order; empty = the defaults (default_contrasts()).
    std::vector<Contrast> contrasts;
    std::map<std::string, double> equivalence; ///< endpoint -> TOST margin (> 0, raw units)
    std::map<std::string, double> effect;      ///< endpoint -> difference to detect (> 0)
};

/// The contrasts when none is declared: al.strategy "*" vs "baseline" and "*" vs "random".
std::vector<Contrast> default_contrasts();

/// The contrasts in force: spec.contrasts, or default_contrasts() when it is empty.
std::vector<Contrast> contrasts_of(const AnalysisSpec& spec);

/// The resolved table as TOML (every key, defaults included; contrasts as written, none when
/// defaulted): what --show-config prints and summary.h5 records.
std::string analysis_to_toml(const AnalysisSpec& spec);

/// Metrics that are never tested, whatever the spec says: duplicates of other metrics
/// (cosine_full_*: an affine function of cosine_all_*), diagnostics (tsne_kl_divergence) and
/// scores without meaning (silhouette_cosine_tsne: cosine distance on 2-D map coordinates
/// depends on the map's origin). Naming one in `primary`, `equivalence` or `effect` is a
/// ConfigError.
bool is_untested_metric(const std::string& name);

} // namespace sp
