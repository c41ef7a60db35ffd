#pragma once
/// The analysis stage as one call: every metric of results-schema/measures.md for one set of
/// embeddings, and its /metrics group in a result file. Replicates call it after training;
/// sp_analyze calls it on any file holding /eval/embeddings and /eval/labels.
///
///     sp::AnalysisInput in{n, d, classes, x.data(), y.data()};
///     sp::Analysis a = sp::analyze(in, cfg.metrics, seeds.tsne, threads);
///     sp::write_analysis(file, a, /*compression=*/4);   // /metrics, replacing any old one
///
/// A metric that is undefined for the input (silhouette with one class present, NC1 with one
/// class, ...) is NaN in /metrics/scalars and its reason is an attribute of /metrics/undefined
/// of the same name: no NaN goes out unannounced. Only sp::UndefinedMetric (undefined.hpp lists
/// when the metrics throw it) is recorded that way; every other exception from a metric
/// (InternalError, ConfigError, DataError, StopRequested) propagates and fails or stops the
/// replicate.

#include "sp/config/experiment.hpp"
#include "sp/io/h5.hpp"
#include "sp/metrics/clusters.hpp"
#include "sp/metrics/cosine.hpp"
#include "sp/metrics/superposition.hpp"
#include "sp/metrics/tsne.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sp {

/// Another feature set of the same N images (an extra layer, `model.extra_layers`): only the
/// cosine statistics are computed on it. Not owned.
struct FeatureSetInput {
    std::string name;         ///< as declared: "layer4.1.conv2:flatten", "notebook:layer4.1.conv2"
    std::int64_t d = 0;       ///< width of a row
    const float* x = nullptr; ///< n x d row-major
};

/// Embeddings, labels and (optionally) the final layer's class vectors and more feature sets.
/// Not owned.
struct AnalysisInput {
    std::int64_t n = 0;
    std::int64_t d = 0;
    std::int64_t classes = 0;
    const float* embeddings = nullptr;    ///< n x d row-major
    const std::int64_t* labels = nullptr; ///< n values in [0, classes)
    const float* class_vectors = nullptr; ///< classes x class_vector_dim, or null
    std::int64_t class_vector_dim = 0;
    std::vector<FeatureSetInput> feature_sets; ///< distinct names; cosine statistics only
};

/// A view of owned embeddings (n x d), labels (n) and class vectors (classes x
/// class_vector_dim; empty: none) as an AnalysisInput. The vectors must outlive the view.
AnalysisInput analysis_input(std::int64_t n, std::int64_t d, std::int64_t classes,
                             const std::vector<float>& embeddings,
                             const std::vector<std::int64_t>& labels,
                             const std::vector<float>& class_vectors,
                             std::int64_t class_vector_dim);

/// Silhouettes and Davies-Bouldin of one space ("raw" embeddings or the "tsne" map).
struct SpaceClusters {
    std::optional<Silhouette> euclidean; ///< empty when undefined (see Analysis::undefined)
    std::optional<Silhouette> cosine;
    std::optional<double> davies_bouldin;
};

/// The cosine statistics of one extra feature set (/metrics/features/<name>).
struct FeatureSetCosine {
    std::int64_t d = 0;
    CosineStats cosine;
};

/// The prefix of a feature set's scalars in /metrics/scalars: its name with every character
/// other than a letter or digit replaced by '_', then '_' ("layer4.1.conv2:flatten" ->
/// "layer4_1_conv2_flatten_"); its scalars are that prefix + the penultimate features' names
/// ("layer4_1_conv2_flatten_cosine_all_mean").
std::string feature_scalar_prefix(const std::string& name);

struct Analysis {
    std::int64_t n = 0;
    std::int64_t d = 0;
    std::int64_t classes = 0;
    CosineStats cosine;
    /// Cosine statistics of the extra feature sets (AnalysisInput::feature_sets), by name.
    std::map<std::string, FeatureSetCosine> features;
    std::map<std::string, SpaceClusters> spaces; ///< by space name
    std::optional<TsneResult> tsne;
    TsneOptions tsne_options;
    Superposition superposition;
    std::optional<FeatureDimensionality> feature_dimensionality;
    /// Every scalar metric by its name in /metrics/scalars (NaN where undefined).
    std::map<std::string, double> scalars;
    /// Undefined scalar -> why.
    std::map<std::string, std::string> undefined;
    double seconds = 0.0;
};

/// Computes every metric `cfg` asks for, and the cosine statistics (same bins and full-matrix
/// option) of each feature set. `tsne_seed` is used unless cfg.tsne.seed >= 0; `threads` > 0
/// sets LibTorch's intra-op threads for the call. Throws DataError on bad input (also two
/// feature sets whose scalar prefixes coincide).
Analysis analyze(const AnalysisInput& in, const MetricsConfig& cfg, std::uint64_t tsne_seed,
                 int threads);

/// Writes `a` as the group `path` (default /metrics) of `file` (results-schema/replicate.toml),
/// replacing an existing one. Large datasets use deflate level `compression`.
void write_analysis(h5::Location& file, const Analysis& a, int compression,
                    const std::string& path = "/metrics");

/// Reads back what write_analysis wrote (checkpoints keep the rounds' metrics this way).
/// Throws IoError when the group is missing or malformed.
Analysis read_analysis(const h5::Location& file, const std::string& path = "/metrics");

} // namespace sp
