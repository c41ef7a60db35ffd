#pragma once
/// Cluster-quality metrics of embeddings against their true labels: silhouette (euclidean or
/// cosine) and Davies-Bouldin, with scikit-learn's definitions (silhouette_score,
/// silhouette_samples, davies_bouldin_score).
///
/// Exact and deterministic: distances in double, rows in chunks of `ClusterOptions::chunk` (memory
/// O(chunk x N)), and each sample's per-class sums taken in a fixed order, so the result does not
/// depend on the thread count or the chunk size. Built into sp::nn (LibTorch's at::parallel_for).

#include <cstdint>
#include <vector>

namespace sp {

/// Pairwise distance for silhouette. `cosine` is 1 - cosine similarity, as sklearn's
/// cosine_distances (a zero row has similarity 0 with every other row, distance 0 to itself).
enum class Distance { euclidean, cosine };

struct ClusterOptions {
    std::int64_t chunk = 1024; ///< rows of the distance matrix computed at a time (>= 1)
    bool per_sample = false;   ///< fill Silhouette::samples
};

struct Silhouette {
    double mean = 0.0;             ///< sklearn's silhouette_score: mean of s(i) over all samples
    std::vector<double> per_class; ///< mean s(i) per class index; NaN for a class with no sample
    std::vector<double> samples;   ///< s(i), sklearn's silhouette_samples; only if per_sample
};

/// Silhouette of `n` rows of `x` (n x d float32, row-major) with `labels` in [0, classes).
/// s(i) = (b - a) / max(a, b); 0 for a sample alone in its class (and where a = b = 0).
/// Throws DataError for labels out of range, or when the number of classes present is not in
/// [2, n - 1] (sklearn's ValueError).
Silhouette silhouette(const float* x, std::int64_t n, std::int64_t d, const std::int64_t* labels,
                      std::int64_t classes, Distance metric, const ClusterOptions& opt = {});

/// sklearn.metrics.davies_bouldin_score: euclidean centroids of the classes present (class indices
/// with no sample are skipped). Same errors as silhouette().
double davies_bouldin(const float* x, std::int64_t n, std::int64_t d, const std::int64_t* labels,
                      std::int64_t classes);

} // namespace sp
