#pragma once
/// Cluster-quality metrics of embeddings against their true labels: silhouette (euclidean or
/// cosine) and Davies-Bouldin, with scikit-learn's definitions (silhouette_score,
/// silhouette_samples, davies_bouldin_score).
///
/// Silhouette has three computations:
/// - cosine (default): O(N K d). With unit rows u_i, the summed cosine distance from i to class k
///   is n_k - u_i . S_k (S_k the sum of class k's unit rows), in double. No N x N matrix at all.
/// - euclidean (default): O(N^2 d) in float32 GEMM tiles (`chunk` rows, default 256, by 512
///   columns) over the upper triangle of the centred rows, samples ordered by label so that each
///   class is a range of columns (memory: one tile per thread, rows x (tiles + K) partial sums,
///   N x K sums; never N x N); a pair whose squared distance is under 1/32 of |x|^2 + |y|^2
///   (where float products lose digits) is recomputed in double, so duplicates are exactly 0
///   apart. Agrees with scikit-learn (float64) to about 1e-7 relative, and across chunk sizes to
///   rounding only.
/// - exact (ClusterOptions::exact): every distance in double, dot products in a fixed order;
///   bit-identical across threads and chunk sizes; about 20x slower. For checking.
/// Thread count: every path is bit-identical for every thread count. The two default paths take
/// their products from one single-threaded BLAS call per fixed block (a threaded OpenBLAS places
/// its tiles by thread count and its float kernels round by tile position); every sum around the
/// products runs in a fixed order (tests/oracle/test_clusters.cpp, 1 to 3 threads, n = 700 and
/// 2,000). The euclidean fast path's bits do depend on `chunk` (the GEMMs' shapes).
/// Davies-Bouldin is O(N d) in double.

#include <cstdint>
#include <vector>

namespace sp {

/// Pairwise distance for silhouette. `cosine` is 1 - cosine similarity, as sklearn's
/// cosine_distances (a zero row has similarity 0 with every other row, distance 0 to itself).
enum class Distance { euclidean, cosine };

struct ClusterOptions {
    std::int64_t chunk = 0;  ///< rows of the distance matrix at a time; 0 = the path's default
    bool exact = false;      ///< every distance in double (the reference path, O(N^2 d))
    bool per_sample = false; ///< fill Silhouette::samples
};

struct Silhouette {
    double mean = 0.0;             ///< sklearn's silhouette_score: mean of s(i) over all samples
    std::vector<double> per_class; ///< mean s(i) per class index; NaN for a class with no sample
    std::vector<double> samples;   ///< s(i), sklearn's silhouette_samples; only if per_sample
};

/// Silhouette of `n` rows of `x` (n x d float32, row-major) with `labels` in [0, classes).
/// s(i) = (b - a) / max(a, b); 0 for a sample alone in its class (and where a = b = 0).
/// Throws DataError for labels out of range, and UndefinedMetric (a DataError; undefined.hpp) when
/// the number of classes present is not in [2, n - 1] (sklearn's ValueError). Calls
/// sp::throw_if_stop_requested() between blocks of the O(N^2) paths (StopRequested).
Silhouette silhouette(const float* x, std::int64_t n, std::int64_t d, const std::int64_t* labels,
                      std::int64_t classes, Distance metric, const ClusterOptions& opt = {});

/// sklearn.metrics.davies_bouldin_score: euclidean centroids of the classes present (class indices
/// with no sample are skipped). Same errors as silhouette().
double davies_bouldin(const float* x, std::int64_t n, std::int64_t d, const std::int64_t* labels,
                      std::int64_t classes);

} // namespace sp
