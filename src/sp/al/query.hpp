#pragma once
/// The query of an active-learning round: which strategy needs what from the model, and the
/// dispatch from a strategy to its scoring function (al/strategies.hpp).
///
///     sp::PoolOutputs pool = sp::pool_outputs(...);            // train/extract.hpp
///     sp::Query q = sp::query_pool(sp::Strategy::entropy, pool, nullptr, /*count=*/5000, seed);
///     // q.picks: pool positions in pick order; q.scores: their entropies

#include "sp/config/enums.hpp"
#include "sp/train/extract.hpp"

#include <cstdint>
#include <vector>

namespace sp {

/// False for baseline (one round on the whole training set), true for every strategy that
/// runs active-learning rounds.
bool is_active(Strategy strategy);

/// True when the strategy scores MC-dropout passes over the pool (BALD).
bool needs_mc_dropout(Strategy strategy);

/// True when the strategy needs the labelled pool's embeddings (core-set).
bool needs_labelled_embeddings(Strategy strategy);

/// The next query: pool positions in pick order and their scores (empty for strategies
/// without one: random, BADGE).
struct Query {
    std::vector<std::int64_t> picks;
    std::vector<double> scores;
};

/// The candidates of one round's query when al.pool_subset = `subset` > 0: a uniformly random
/// subset of `subset` positions of `pool` (all of them when subset is 0 or >= pool.size()),
/// drawn from `seed`, returned as the pool's own values in ascending order. Pure function of its
/// arguments. The draw: the positions random_select(pool.size(), subset, seed) picks
/// (al/strategies.hpp: a partial Fisher-Yates shuffle with one SplitMixRng(seed)), mapped to
/// their pool values, sorted. ConfigError naming al.pool_subset if subset < 0.
std::vector<std::int64_t> select_pool_subset(const std::vector<std::int64_t>& pool,
                                             std::int64_t subset, std::uint64_t seed);

/// Picks `count` of the unlabelled pool with `strategy`. `labelled` holds the labelled pool's
/// outputs (needed by core-set, may be null otherwise); `pool.mc_probs` must be set for BALD;
/// `seed` drives random and BADGE. Throws ConfigError for baseline (it has no query), DataError
/// from the strategies on bad values.
Query query_pool(Strategy strategy, const PoolOutputs& pool, const PoolOutputs* labelled,
                 std::int64_t count, std::uint64_t seed);

} // namespace sp
