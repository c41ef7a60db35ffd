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
/// of the same name: no NaN goes out unannounced.

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

/// Embeddings, labels and (optionally) the final layer's class vectors. Not owned.
struct AnalysisInput {
    std::int64_t n = 0;
    std::int64_t d = 0;
    std::int64_t classes = 0;
    const float* embeddings = nullptr;    ///< n x d row-major
    const std::int64_t* labels = nullptr; ///< n values in [0, classes)
    const float* class_vectors = nullptr; ///< classes x class_vector_dim, or null
    std::int64_t class_vector_dim = 0;
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

struct Analysis {
    std::int64_t n = 0;
    std::int64_t d = 0;
    std::int64_t classes = 0;
    CosineStats cosine;
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

/// Computes every metric `cfg` asks for. `tsne_seed` is used unless cfg.tsne.seed >= 0;
/// `threads` > 0 sets LibTorch's intra-op threads for the call. Throws DataError on bad input.
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
