#pragma once
/// t-SNE maps of embeddings (van der Maaten 2008/2014, Linderman et al. 2019), deterministic and
/// multi-threaded, with scikit-learn 1.2's choices wherever they are not stated otherwise.
///
///     sp::TsneOptions opt;                  // perplexity 30, 1000 iterations, PCA init
///     opt.method = sp::TsneMethod::fft;     // or barnes_hut (default), exact
///     sp::TsneResult r = sp::tsne(x, n, d, opt);
///     // r.embedding: n x 2 floats, r.kl_divergence: exact KL(P || Q) of that map
///
/// Algorithm:
/// - Affinities on the exact k nearest neighbours, k = clamp(floor(3 * perplexity), 1, n - 1),
///   by squared euclidean distance (float32 products to shortlist k + 8 candidates per row, then
///   recomputed in double and ordered by (distance, index); O(rows x n) memory per block, never
///   n x n). Per point, a binary search for the precision whose conditional distribution has the
///   perplexity (scikit-learn's `_binary_search_perplexity`: 100 steps, tolerance 1e-5 in nats,
///   distances as float32), then P = (P + P^T) / sum, which sums to 1.
/// - Initialisation: PCA to `dims` components (covariance in double), the sign of each component
///   chosen so that its entry of largest magnitude (first such row) is positive, as scikit-learn's
///   svd_flip; scaled so that column 0 has standard deviation 1e-4. Or random: N(0, 1e-4^2) from
///   `seed`.
/// - Gradient descent: exaggeration `early_exaggeration` on P for `exaggeration_iterations`
///   iterations with momentum 0.5, then momentum 0.8 until `iterations` in all; delta-bar-delta
///   gains (+0.2 / x0.8, minimum 0.01), reset with the update at the switch as in scikit-learn.
/// - Repulsion: exact (O(n^2) per iteration), Barnes-Hut (quadtree, `theta`) or FFT-accelerated
///   interpolation (FIt-SNE: 3 equispaced nodes per box, boxes of width 1 for maps 10 to 256
///   units wide, a power of two outside that range so that there are 10 to 256 boxes per side;
///   convolution with the Cauchy kernel and its squared, signed forms by float FFT, the kernels'
///   spectrum reused while the grid stays the same).
///   An iteration whose grid would cost more than the exact sum (n^2 <= 40 x (6 x boxes)^2: small
///   n, e.g. n < ~2,000 for a map 50 units wide) uses the exact sum instead.
///
/// Determinism: for given input and options the output is bit-identical whatever `threads` is.
/// Work is split by points or by fixed-size blocks, each producing its own values, and every sum
/// across points is taken in point (or block) order; trees are built on one thread.
///
/// Degenerate input (documented behaviour, never an unannounced NaN):
/// - n < 2, a null pointer, d < 1 or a non-finite value: DataError. A row whose squared norm
///   exceeds 1e36 is also a DataError (its squared distances would overflow float32).
/// - perplexity >= n: ConfigError, as scikit-learn (which raises ValueError). Otherwise k is
///   clamped to n - 1, so 3 * perplexity > n - 1 is fine.
/// - Duplicate points (and all-identical points) are ordinary points at distance 0: they get the
///   same affinity rows. With PCA init they start at the same map position, feel identical
///   forces, and so stay together: they share one position in the map.
/// - A zero vector is an ordinary point (euclidean distances; no normalisation takes place).
/// - A PCA component with zero variance (all points identical, or data of rank < dims) is
///   replaced by N(0, 1e-4^2) noise from `seed`, so all-identical points spread out in a small
///   random cloud instead of sitting at one point with a zero gradient.
/// - If the binary search cannot reach the perplexity (e.g. all k distances equal), it stops
///   after 100 steps with the closest precision found; rows stay normalised.

#include "sp/config/enums.hpp" // TsneMethod: the repulsion, as metrics.tsne.method names it

#include <cstdint>
#include <vector>

namespace sp {

/// Starting map.
enum class TsneInit {
    pca,    ///< scikit-learn 1.2's: PCA, column 0 scaled to standard deviation 1e-4
    random, ///< N(0, 1e-4^2) from `seed`
};

struct TsneOptions {
    std::int64_t dims = 2;                      ///< output dimensions; only 2 is supported
    double perplexity = 30.0;                   ///< > 0 and < n
    std::int64_t iterations = 1000;             ///< in all, including early exaggeration; >= 0
    std::int64_t exaggeration_iterations = 250; ///< in [0, iterations]
    double early_exaggeration = 12.0;           ///< > 0
    /// > 0, or 0 for auto: max(n / early_exaggeration, 200). In the bhtsne/FIt-SNE convention (the
    /// gradient without its factor 4), so it is 4x scikit-learn's number: auto equals
    /// scikit-learn's learning_rate='auto', max(n / early_exaggeration / 4, 50).
    double learning_rate = 0.0;
    TsneMethod method = TsneMethod::barnes_hut;
    double theta = 0.5;            ///< Barnes-Hut accuracy, >= 0 (0: every leaf exact)
    TsneInit init = TsneInit::pca; ///< starting map
    std::uint64_t seed = 0;        ///< random init and the noise of a zero-variance PCA component
    int threads = 0;               ///< intra-op threads; 0 keeps LibTorch's current setting
};

struct TsneResult {
    std::int64_t n = 0;
    std::int64_t dims = 2;
    std::vector<float> embedding; ///< n x dims, row-major
    /// KL(P || Q) of the final map, exact over all pairs (chunked: O(n^2) time, O(n) memory).
    double kl_divergence = 0.0;
    double learning_rate = 0.0;  ///< the rate used (bhtsne convention, see TsneOptions)
    std::int64_t neighbours = 0; ///< k used for the affinities
    std::int64_t iterations = 0; ///< iterations run
};

/// Symmetric joint affinities P in CSR form, and the kNN graph they came from.
struct TsneAffinities {
    std::int64_t n = 0;
    std::int64_t neighbours = 0;           ///< k
    std::vector<std::int64_t> knn_index;   ///< n x k, each row ordered by (distance, index)
    std::vector<float> knn_sqdist;         ///< n x k squared euclidean distances (as searched)
    std::vector<std::int64_t> row_offsets; ///< n + 1 offsets into columns/values
    std::vector<std::int64_t> columns;     ///< ascending within a row; never the row itself
    std::vector<double> values;            ///< P_ij, symmetric, summing to 1
};

/// The affinities tsne() uses: `x` is n x d float32, row-major. Throws as tsne().
TsneAffinities tsne_affinities(const float* x, std::int64_t n, std::int64_t d,
                               double perplexity = 30.0, int threads = 0);

/// Exact KL(P || Q) of an n x 2 map `y` (row-major) for affinities `p` (O(n^2) time, O(n)
/// memory; terms with P_ij = 0 contribute 0). Throws DataError on a size mismatch.
double tsne_kl_divergence(const TsneAffinities& p, const float* y, int threads = 0);

/// A 2-D t-SNE map of the n x d float32 rows of `x` (row-major). Throws DataError on bad data
/// and ConfigError on bad options (see the module comment for degenerate input).
TsneResult tsne(const float* x, std::int64_t n, std::int64_t d, const TsneOptions& opt = {});

} // namespace sp
