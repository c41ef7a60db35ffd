#pragma once
/// Active-learning query strategies as pure functions over the model's outputs on the unlabelled
/// pool: uncertainty scores (least confidence, margin, entropy, BALD) with a deterministic top-k,
/// the core-set greedy k-center, BADGE's k-means++ seeding on gradient embeddings, and a seeded
/// random draw.
///
///     std::vector<double> s = sp::least_confidence_scores(probs.data(), n_pool, classes);
///     std::vector<std::int64_t> picked = sp::top_k(s, 5000);   // indices into the pool
///     auto core = sp::coreset_greedy(pool.data(), n_pool, lab.data(), n_lab, 512, 5000);
///     auto badge = sp::badge_select(probs.data(), pool.data(), n_pool, classes, 512, 5000, seed);
///
/// Conventions shared by every function:
/// - Inputs are float32, row-major; everything is computed in double from the float values, each
///   sum in a fixed order, so results are bit-identical for any LibTorch thread count (rows are
///   split across at::parallel_for workers, but no sum spans two workers).
/// - Probabilities must be finite and in [0, 1] (rows need not sum to exactly 1); embeddings
///   must be finite. Bad shapes, bad values and a `count` above what is available throw
///   sp::DataError naming the function and the offending row.
/// - Ties are broken by the lower pool index, always.
/// - Randomness comes from sp::SplitMixRng (util/rng.hpp: the reference SplitMix64 stream,
///   output i = splitmix64(seed + i * 0x9E3779B97F4A7C15)), never from std:: distributions, so
///   any tool can recompute a draw (tests/oracle/al_strategies_oracle.py does). A uniform double
///   is u = (next() >> 11) * 2^-53, in [0, 1).

#include <cstdint>
#include <vector>

namespace sp {

/// Least confidence: 1 - max_c p_ic for each of the n rows of `probs` (n x k softmax
/// probabilities). Higher = more wanted. DataError on bad shapes or values.
std::vector<double> least_confidence_scores(const float* probs, std::int64_t n, std::int64_t k);

/// Margin: -(p_top1 - p_top2) per row (the smallest margin gets the highest score); the two
/// largest values of the row, equal values counted twice. Needs k >= 2.
std::vector<double> margin_scores(const float* probs, std::int64_t n, std::int64_t k);

/// Predictive entropy: -sum_c p_ic log p_ic per row in nats, 0 log 0 = 0, summed in class order.
std::vector<double> entropy_scores(const float* probs, std::int64_t n, std::int64_t k);

/// BALD (Houlsby et al. 2011; Gal, Islam, Ghahramani 2017): the mutual information
/// H[mean_t p_t] - mean_t H[p_t] per row, `mc_probs` being t x n x k softmax probabilities from
/// t stochastic (dropout) passes. Means are summed over t in order and divided by t; entropies
/// as in entropy_scores. Not clipped: a value may be a rounding error below 0 (e.g. -1e-17)
/// when the passes agree. In sp's ResNet18 the only dropout is `model.dropout`, before fc: the
/// passes share one feature vector per image and perturb only the linear head, so this is the
/// head's epistemic uncertainty, not the network's (Gal et al. drop units throughout).
std::vector<double> bald_scores(const float* mc_probs, std::int64_t t, std::int64_t n,
                                std::int64_t k);

/// The indices of the `count` highest scores, highest first, equal scores by the lower index
/// (numpy.lexsort((index, -scores))[:count]). DataError if a score is not finite or count is
/// outside [0, scores.size()].
std::vector<std::int64_t> top_k(const std::vector<double>& scores, std::int64_t count);

/// Core-set (Sener & Savarese 2018), the greedy k-center: each pick is the pool row (of
/// `pool_emb`, n_pool x d) with the largest euclidean distance to its nearest row among the
/// labelled rows (`labelled_emb`, n_lab x d, may be empty) and the rows already picked; equal
/// distances by the lower index; a row is never picked twice. Squared distances are summed in
/// double over dimensions in a fixed order (the values compared and returned are these exact
/// sums); a running minimum per pool row replaces any n_pool x n_lab matrix (memory
/// O(n_pool + 1024 n_lab)). For speed the distances are first screened with float32 dot
/// products (BLAS: a GEMM per block of 1024 pool rows against the labelled rows, a GEMV per
/// pick) under rigorous rounding-error bounds, and the exact double distance is computed only
/// where it could change a row's minimum; the picks and distances are bit-identical to
/// detail::coreset_greedy_direct's, which computes every distance exactly. Returns `count` pool
/// indices in pick order and, if `pick_distance` is given, each pick's distance (the square root of
/// its squared minimum) when it was picked; with no labelled rows the first pick is row 0 at
/// distance +infinity. DataError on bad shapes, non-finite values or count outside [0, n_pool].
std::vector<std::int64_t> coreset_greedy(const float* pool_emb, std::int64_t n_pool,
                                         const float* labelled_emb, std::int64_t n_lab,
                                         std::int64_t d, std::int64_t count,
                                         std::vector<double>* pick_distance = nullptr);

namespace detail {

/// coreset_greedy() without the float screening: every pool-to-labelled and pool-to-pick
/// distance computed exactly in double (O(n_pool (n_lab + count) d) double operations). The
/// reference for tests and bench/pool_scoring.cpp; same contract and results.
std::vector<std::int64_t> coreset_greedy_direct(const float* pool_emb, std::int64_t n_pool,
                                                const float* labelled_emb, std::int64_t n_lab,
                                                std::int64_t d, std::int64_t count,
                                                std::vector<double>* pick_distance = nullptr);

} // namespace detail

/// BADGE (Ash et al. 2020): k-means++ seeding on the gradient embeddings
/// g_i = a_i (outer) h_i, a_i = p_i - onehot(argmax p_i) (the first largest class on ties),
/// h_i row i of `emb` (n x d penultimate embeddings), p_i row i of `probs` (n x k). Distances come
/// from the (a, h) pairs, never from the n x (k d) matrix:
/// ||g_i - g_j||^2 = |a_i|^2 |h_i|^2 + |a_j|^2 |h_j|^2 - 2 (a_i . a_j)(h_i . h_j), clipped at 0
/// (exact duplicates give exactly 0). The draw, exactly:
///   1. the first pick is the row with the largest |a_i|^2 |h_i|^2, ties to the lower index;
///   2. D2_i = squared distance of row i to its nearest pick (0 for picked rows);
///   3. each next pick: u = (next() >> 11) * 2^-53 from one SplitMixRng(seed), drawn once per
///      pick after the first; total = sum of D2_i in index order (double); the pick is the first
///      index i whose running sum D2_0 + ... + D2_i (in double, index order) exceeds u * total
///      (so D2_i > 0); if there is none (total is 0 because every remaining row duplicates a
///      pick, or u * total rounded up to total) the lowest unpicked index instead.
/// Returns `count` indices in pick order. DataError on bad shapes or values or count > n.
std::vector<std::int64_t> badge_select(const float* probs, const float* emb, std::int64_t n,
                                       std::int64_t k, std::int64_t d, std::int64_t count,
                                       std::uint64_t seed);

/// `count` distinct indices of [0, n) by a partial Fisher-Yates shuffle: perm = 0, 1, ..., n-1;
/// for i = 0 .. count-1, j = i + rng.below(n - i) with one SplitMixRng(seed), swap perm[i] and
/// perm[j]; returns perm[0 .. count) in that order. DataError if count is outside [0, n].
std::vector<std::int64_t> random_select(std::int64_t n, std::int64_t count, std::uint64_t seed);

} // namespace sp
