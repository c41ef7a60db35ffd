#include "sp/al/query.hpp"

#include "sp/al/strategies.hpp"
#include "sp/util/error.hpp"

#include <algorithm>
#include <string>

namespace sp {
namespace {

/// The `count` best of `scores` in pick order, with their scores.
Query ranked(const std::vector<double>& scores, std::int64_t count) {
    Query q;
    q.picks = top_k(scores, count);
    for (std::int64_t i : q.picks) q.scores.push_back(scores[static_cast<std::size_t>(i)]);
    return q;
}

} // namespace

bool is_active(Strategy strategy) { return strategy != Strategy::baseline; }

bool needs_mc_dropout(Strategy strategy) { return strategy == Strategy::bald; }

bool needs_labelled_embeddings(Strategy strategy) { return strategy == Strategy::coreset; }

std::vector<std::int64_t> select_pool_subset(const std::vector<std::int64_t>& pool,
                                             std::int64_t subset, std::uint64_t seed) {
    if (subset < 0) {
        throw ConfigError("al.pool_subset: must be >= 0 (0 scores the whole pool), got " +
                          std::to_string(subset));
    }
    const auto n = static_cast<std::int64_t>(pool.size());
    std::vector<std::int64_t> out;
    if (subset == 0 || subset >= n) {
        out = pool;
    } else {
        // A partial Fisher-Yates shuffle of the positions (random_select: SplitMixRng(seed)).
        out.reserve(static_cast<std::size_t>(subset));
        for (const std::int64_t pos : random_select(n, subset, seed))
            out.push_back(pool[static_cast<std::size_t>(pos)]);
    }
    std::sort(out.begin(), out.end());
    return out;
}

Query query_pool(Strategy strategy, const PoolOutputs& pool, const PoolOutputs* labelled,
                 std::int64_t count, std::uint64_t seed) {
    const std::int64_t n = pool.logits.size(0);
    const std::int64_t k = pool.logits.size(1);
    const torch::Tensor probs = torch::softmax(pool.logits, 1).contiguous();
    const float* p = probs.data_ptr<float>();
    // An empty pool has no embeddings to look at: top_k reports a count it cannot meet.
    const bool embedding_based = strategy == Strategy::coreset || strategy == Strategy::badge;
    if (n == 0 && embedding_based) return ranked({}, count);
    switch (strategy) {
    case Strategy::random: {
        Query q;
        q.picks = random_select(n, count, seed);
        return q;
    }
    case Strategy::least_confidence:
        return ranked(least_confidence_scores(p, n, k), count);
    case Strategy::margin:
        return ranked(margin_scores(p, n, k), count);
    case Strategy::entropy:
        return ranked(entropy_scores(p, n, k), count);
    case Strategy::bald:
        return ranked(bald_scores(pool.mc_probs.data_ptr<float>(), pool.mc_probs.size(0), n, k),
                      count);
    case Strategy::coreset: {
        Query q;
        q.picks = coreset_greedy(
            pool.embeddings.data_ptr<float>(), n, labelled->embeddings.data_ptr<float>(),
            labelled->embeddings.size(0), pool.embeddings.size(1), count, &q.scores);
        return q;
    }
    case Strategy::badge: {
        Query q;
        q.picks = badge_select(p, pool.embeddings.data_ptr<float>(), n, k, pool.embeddings.size(1),
                               count, seed);
        return q;
    }
    case Strategy::baseline:
        break;
    }
    throw ConfigError("al.strategy: baseline trains once and has no query");
}

} // namespace sp
