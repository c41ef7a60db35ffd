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
/// - Affinities on the exact k nearest neighbours, k = clamp(floor(3 * perplexity), 1, n - 1)
///   (scikit-learn's count in the sklearn mode below),
///   by squared euclidean distance (float32 products over the upper triangle to shortlist k + 8
///   candidates per row, then recomputed in double and ordered by (distance, index); O(rows x n)
///   memory per panel, never n x n). Among float32 ties at the shortlist's edge a row keeps the
///   indices that follow its own, cyclically ((j - i) mod n smallest): with lowest-index-first,
///   every row of many identical points would pick the same few and their map would collapse. Per
///   point, a binary search for the precision whose conditional distribution has the perplexity
///   (scikit-learn's `_binary_search_perplexity`: 100 steps, tolerance 1e-5 in nats, distances as
///   float32), then P = (P + P^T) / sum, which sums to 1.
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
/// scikit-learn-compatible mode (`compat = TsneCompat::sklearn`, metrics.tsne.compat = "sklearn"):
/// scikit-learn 1.2.1's TSNE (sklearn/manifold/_t_sne.py, Debian 12's python3-sklearn) where sp
/// chose otherwise above:
/// - k = min(n - 1, int(3 * perplexity + 1)) neighbours (TSNE._fit), 91 at perplexity 30;
/// - the PCA start rounded to float32 before and after its scaling (`.astype(np.float32)`);
/// - the map, update and gains kept in float32, and each step taken in float32 on
///   scikit-learn's gradient scale (4x sp's: learning rate auto = max(n / 12 / 4, 50));
/// - with method barnes_hut, scikit-learn's quadtree (sklearn/neighbors/_quad_tree.pyx): a
///   rectangular root (upper bounds enlarged by 1e-3), leaves of one point (points within 1e-6
///   merged, and skipped as self), float32 cells and incrementally updated barycentres, the
///   opening test width^2 / dist^2 < angle^2 in float32. sp's own tree (square root cell, leaves
///   of up to 8 points summed exactly) is more accurate; scikit-learn's underestimates Z (by
///   ~0.65% at angle 0.5 on a 2,000-point map), which shows in the maps (bench/README.md);
/// - the stopping rule of `_gradient_descent`, checked every 50 iterations ((it + 1) % 50 == 0,
///   `_N_ITER_CHECK`): the error is the Barnes-Hut code's KL over the nonzero P_ij (times the
///   exaggeration in the first stage), sum P_ij log(max(P_ij, FLT_MIN) / max(w_ij / Z, FLT_MIN))
///   with Z the method's normaliser; a stage stops when the error has not gone below its best for
///   more than `iterations_without_progress` iterations (`exaggeration_iterations` in the
///   exaggeration stage, as `_EXPLORATION_N_ITER`), or when the norm of the gain-scaled gradient
///   (scikit-learn's scale) is <= `min_grad_norm`. An exaggeration stage that stops early hands
///   over to the second stage at the next iteration, as scikit-learn does.
/// The rest was already scikit-learn's: perplexity search (100 steps, tolerance 1e-5, float32
/// distances), exaggeration 12 for 250 iterations with momentum 0.5 then 0.8, gains (+0.2 /
/// x0.8, min 0.01) reset with the update at the switch, no gradient clipping, theta = angle 0.5.
/// What still differs: scikit-learn accumulates its forces and error in float32 (sp in double,
/// from the same float32 positions and cells); its PCA is randomized (svd_solver="randomized")
/// where sp's is an exact eigendecomposition; its neighbour distances come from its ArgKmin
/// (float64 GEMM trick, square root, squared again), sp's from a direct double sum, so a float32
/// distance can differ in its last bit; with method exact scikit-learn uses P over all pairs, sp's
/// mode the kNN P for every method (and fft keeps sp's interpolation); a zero-variance PCA
/// component is seeded noise here (scikit-learn would divide by 0); past depth 80 sp's port of the
/// tree merges points float32 halving cannot separate (scikit-learn would recurse without end).
///
/// Stopping: tsne() calls sp::throw_if_stop_requested() (sp/util/signals.hpp) once per block of
/// the neighbour search, before the perplexity search, once per gradient iteration and before
/// the final KL, so a stop signal abandons the map (StopRequested) within one iteration.
///
/// Determinism: for given input and options the output is bit-identical whatever `threads` is.
/// Work is split by points or by fixed-size blocks, each producing its own values, and every sum
/// across points is taken in point (or block) order; trees are built on one thread.
///
/// Degenerate input (documented behaviour, never an unannounced NaN):
/// - A null pointer, d < 1 or a non-finite value: DataError. n < 2, or a row whose squared norm
///   exceeds 1e36 (its squared distances would overflow float32): UndefinedMetric (a DataError;
///   undefined.hpp), which the analysis records as an undefined map.
/// - perplexity >= n: UndefinedMetric, as scikit-learn (which raises ValueError). Otherwise k is
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

/// Whose choices the map follows where implementations differ (see the module comment).
enum class TsneCompat {
    sp,      ///< sp's: k = floor(3 * perplexity), all iterations run
    sklearn, ///< scikit-learn 1.2.1's: k, float32 steps, quadtree and stopping rule
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
    TsneCompat compat = TsneCompat::sp;
    /// sklearn mode only: n_iter_without_progress of the second stage (>= 0).
    std::int64_t iterations_without_progress = 300;
    /// sklearn mode only: min_grad_norm (>= 0), on scikit-learn's gradient scale.
    double min_grad_norm = 1e-7;
};

struct TsneResult {
    std::int64_t n = 0;
    std::int64_t dims = 2;
    std::vector<float> embedding; ///< n x dims, row-major
    /// KL(P || Q) of the final map, exact over all pairs (chunked: O(n^2) time, O(n) memory).
    double kl_divergence = 0.0;
    double learning_rate = 0.0;  ///< the rate used (bhtsne convention, see TsneOptions)
    std::int64_t neighbours = 0; ///< k used for the affinities
    /// Iterations run: `iterations`, or fewer where the sklearn mode stopped (then scikit-learn's
    /// n_iter_ is iterations - 1).
    std::int64_t iterations = 0;
    std::int64_t exaggeration_iterations = 0; ///< of those, with early exaggeration
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
                               double perplexity = 30.0, int threads = 0,
                               TsneCompat compat = TsneCompat::sp);

/// The neighbour count k for `perplexity` and n points (n >= 2) under `compat`.
std::int64_t tsne_neighbours(double perplexity, std::int64_t n, TsneCompat compat);

/// Exact KL(P || Q) of an n x 2 map `y` (row-major) for affinities `p` (O(n^2) time, O(n)
/// memory; terms with P_ij = 0 contribute 0). Throws DataError on a size mismatch.
double tsne_kl_divergence(const TsneAffinities& p, const float* y, int threads = 0);

/// A 2-D t-SNE map of the n x d float32 rows of `x` (row-major). Throws UndefinedMetric where a
/// map is undefined for the data, DataError on bad data, ConfigError on bad options (see the
/// module comment for degenerate input), StopRequested after a stop signal.
TsneResult tsne(const float* x, std::int64_t n, std::int64_t d, const TsneOptions& opt = {});

namespace detail {
/// Test hook (tests/oracle/test_tsne.cpp): while on, tsne() fails an internal check (SP_CHECK,
/// so an InternalError) right after validating its input, standing in for a bug inside t-SNE,
/// so that tests can see that sp::analyze lets such errors through. Off unless a test sets it.
void fail_tsne_for_testing(bool on) noexcept;
} // namespace detail

} // namespace sp
