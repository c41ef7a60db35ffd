#pragma once
/// Cosine-similarity statistics of embeddings: histograms and moments over all unique pairs,
/// within-class pairs and between-class pairs, the paper's N x N variant, and the cosine matrix of
/// the class-mean embeddings.
///
/// Rows are L2-normalised in double (a zero row stays zero, so its cosine with anything is 0, as
/// with scikit-learn's `normalize`). Every cosine is clipped into [-1, 1] before it is binned.
///
/// Fast and exact: histograms come from float32 GEMM blocks over the upper triangle (memory
/// O(chunk_rows x N), no N x N matrix); a value close enough to a bin edge that float rounding
/// could move it (within (d + 4) 2^-22, four times the worst-case bound) is recomputed in double,
/// so every count is what a float64 computation gives. Minimum and maximum are exact doubles
/// (candidates are recomputed). Mean and std come in closed form from the unit-row sums and
/// d x d Gram matrices in double (sum over i < j of c_ij = (|S|^2 - sum |u_i|^2) / 2, and of
/// c_ij^2 = (||U^T U||_F^2 - sum |u_i|^4) / 2), without the clip (which only removes rounding,
/// < 1e-15); or directly, two passes over the pairs in double in row order, when there are at
/// most 2^17 unique pairs (n <= 512) or a set's closed-form std is below about 1e-3.
///
/// Determinism: nothing depends on `chunk_rows` or on the thread count. Counts, histograms,
/// quantiles, min, max and the class-means cosines are exact or in a fixed order; the closed
/// form's Gram products and sums (LibTorch's mm and sum over OpenBLAS, which split by thread
/// count) run on one thread, so mean and std, and the choice of path, are bit-identical too
/// (tests/oracle/test_cosine.cpp: CosineDeterminism.ChunkSizeAndThreadsGiveIdenticalBits, n =
/// 333, the direct path; ClosedFormThreadsGiveIdenticalBits, n = 1,500, d = 256, 1 to 3 threads).

#include <cstdint>
#include <vector>

namespace sp {

struct CosineOptions {
    std::int64_t bins = 50;      ///< histogram bins of equal width over [-1, 1]
    bool full_matrix = false;    ///< also compute the paper's N x N variant (diagonal included)
    std::int64_t chunk_rows = 0; ///< rows per product block; 0 = about 16M entries
    int threads = 0; ///< intra-op threads; 0 keeps LibTorch's current setting (see Determinism)
};

/// Statistics of one set of cosine values.
struct CosineSetStats {
    std::int64_t count = 0;              ///< number of values (pairs)
    std::vector<std::int64_t> histogram; ///< numpy.histogram(values, bins, range=(-1, 1)) counts
    double mean = 0.0;                   ///< NaN when count == 0
    double std = 0.0;                    ///< population standard deviation; NaN when count == 0
    double min = 0.0;                    ///< NaN when count == 0
    double max = 0.0;                    ///< NaN when count == 0
    double q25 = 0.0;                    ///< quantiles from the histogram, linear within a bin;
    double q50 = 0.0;                    ///< accurate to quantile_resolution; NaN when count == 0
    double q75 = 0.0;
};

struct CosineStats {
    std::int64_t bins = 0;
    double quantile_resolution = 0.0; ///< histogram bin width, 2 / bins
    CosineSetStats all;               ///< unique pairs i < j
    CosineSetStats within;            ///< unique pairs i < j with labels[i] == labels[j]
    CosineSetStats between;           ///< unique pairs i < j with labels[i] != labels[j]
    bool has_full = false;            ///< whether `full` was computed (options.full_matrix)
    CosineSetStats full;              ///< all N x N entries, diagonal included (the paper's)
    std::int64_t classes = 0;
    /// classes x classes, row-major: cosine of the class-mean embeddings (means of the raw rows,
    /// in double). A class with no rows has a zero mean, whose cosines are 0.
    std::vector<double> class_means_cosine;
};

/// `x` is n x d float32, row-major; `labels` has n entries in [0, classes).
/// Throws DataError on bad shapes or labels, ConfigError on bad options, StopRequested when a
/// stop signal has arrived (checked between the blocks of the pair scan).
CosineStats cosine_statistics(const float* x, std::int64_t n, std::int64_t d,
                              const std::int64_t* labels, std::int64_t classes,
                              const CosineOptions& opt = {});

} // namespace sp
