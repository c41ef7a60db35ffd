// sp_bench_pool_scoring: one CIFAR-shaped active-learning query, timed per strategy, the code
// before and after the pool-scoring work (issue 18 item 4) in the same process:
// - core-set: detail::coreset_greedy_direct (every distance exact in double, the old code)
//   against coreset_greedy (float GEMM/GEMV screening, exact refinement); the picks and
//   distances are checked to be identical;
// - BADGE: badge_select (unchanged by that work; timed for scale);
// - BALD: per batch of `--bald-batch` images through a CIFAR ResNet18, the old MC passes (each a
//   whole model->forward) against the new ones (trunk once, model->head per pass), checked
//   bit-identical, extrapolated to the pool; plus bald_scores over T x pool x K probabilities;
// - the same with al.pool_subset: the strategies on a random `--subset` of the pool.
// Synthetic data: ReLU'd class-clustered embeddings (pool and labelled), logits from a random
// linear head. Results are printed as `name seconds` lines (bench/README.md "Pool scoring").
//
//     sp_bench_pool_scoring [--pool 45000] [--labelled 5000] [--dim 512] [--classes 10]
//                           [--query 5000] [--mc 20] [--subset 10000] [--threads 2]
//                           [--direct-query Q] [--bald-batch 32]
#include "sp/al/query.hpp"
#include "sp/al/strategies.hpp"
#include "sp/model/resnet.hpp"

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

void report(const std::string& name, double seconds) {
    std::printf("%-44s %10.3f s\n", name.c_str(), seconds);
    std::fflush(stdout);
}

/// n x d ReLU'd embeddings around `classes` random centres (like a trained network's features).
std::vector<float> embeddings(std::int64_t n, std::int64_t d, std::int64_t classes,
                              std::uint64_t seed) {
    torch::manual_seed(seed);
    const torch::Tensor centres = torch::randn({classes, d}) * 1.5;
    const torch::Tensor label = torch::randint(classes, {n}, torch::kLong);
    const torch::Tensor x = torch::relu(centres.index_select(0, label) + torch::randn({n, d}));
    return std::vector<float>(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
}

std::vector<float> rows(const std::vector<float>& x, std::int64_t d,
                        const std::vector<std::int64_t>& which) {
    std::vector<float> out;
    out.reserve(which.size() * static_cast<std::size_t>(d));
    for (const std::int64_t i : which)
        out.insert(out.end(), x.begin() + i * d, x.begin() + (i + 1) * d);
    return out;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"Time one active-learning query's pool scoring, before and after."};
    std::int64_t n_pool = 45000, n_lab = 5000, d = 512, k = 10, query = 5000, mc = 20;
    std::int64_t subset = 10000, direct_query = -1, bald_batch = 32;
    int threads = 2;
    app.add_option("--pool", n_pool);
    app.add_option("--labelled", n_lab);
    app.add_option("--dim", d);
    app.add_option("--classes", k);
    app.add_option("--query", query);
    app.add_option("--mc", mc);
    app.add_option("--subset", subset);
    app.add_option("--threads", threads);
    app.add_option("--direct-query", direct_query,
                   "picks of the old core-set run (default --query; fewer to save time: the "
                   "new code is then run with as many for the comparison)");
    app.add_option("--bald-batch", bald_batch);
    CLI11_PARSE(app, argc, argv);
    torch::set_num_threads(threads);
    if (direct_query < 0) direct_query = query;

    const std::vector<float> pool = embeddings(n_pool, d, k, 1);
    const std::vector<float> lab = embeddings(n_lab, d, k, 2);
    torch::manual_seed(3);
    const torch::Tensor head_w = torch::randn({d, k}) * (1.0 / std::sqrt(static_cast<double>(d)));
    const torch::Tensor pool_t = torch::from_blob(const_cast<float*>(pool.data()), {n_pool, d});
    const torch::Tensor probs_t = torch::softmax(torch::mm(pool_t, head_w) * 3.0, 1).contiguous();
    const float* probs = probs_t.data_ptr<float>();
    std::printf("pool %lld, labelled %lld, d %lld, classes %lld, query %lld, MC %lld, "
                "threads %d\n",
                static_cast<long long>(n_pool), static_cast<long long>(n_lab),
                static_cast<long long>(d), static_cast<long long>(k), static_cast<long long>(query),
                static_cast<long long>(mc), threads);

    // --- Core-set. ---
    std::vector<double> dist_old, dist_new;
    auto t0 = Clock::now();
    const auto old_picks = sp::detail::coreset_greedy_direct(pool.data(), n_pool, lab.data(), n_lab,
                                                             d, direct_query, &dist_old);
    report("coreset old (exact double), query " + std::to_string(direct_query), since(t0));
    t0 = Clock::now();
    auto new_picks =
        sp::coreset_greedy(pool.data(), n_pool, lab.data(), n_lab, d, direct_query, &dist_new);
    report("coreset new (screened), query " + std::to_string(direct_query), since(t0));
    if (old_picks != new_picks || dist_old != dist_new)
        throw std::runtime_error("core-set: old and new picks differ");
    if (direct_query != query) {
        t0 = Clock::now();
        new_picks = sp::coreset_greedy(pool.data(), n_pool, lab.data(), n_lab, d, query);
        report("coreset new (screened), query " + std::to_string(query), since(t0));
    }
    t0 = Clock::now();
    sp::coreset_greedy(pool.data(), n_pool, lab.data(), n_lab, d, 1);
    report("coreset new, first pass only (query 1)", since(t0));

    // --- BADGE (unchanged). ---
    t0 = Clock::now();
    sp::badge_select(probs, pool.data(), n_pool, k, d, query, 7);
    report("badge, query " + std::to_string(query), since(t0));

    // --- BALD: the MC passes, old (whole network per pass) and new (head per pass). ---
    sp::ResNet18 model(sp::ResNet18Options().stem(sp::Stem::cifar).num_classes(k).dropout(0.5), 11);
    model->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor x = torch::randn({bald_batch, 3, 32, 32});
    auto passes = [&](bool whole) {
        torch::manual_seed(5);
        model->eval();
        const sp::ResNetOutputs o = model->forward_with_features(x, {});
        for (auto& m : model->named_modules())
            if (m.key() == "dropout") m.value()->train(true);
        std::vector<torch::Tensor> p;
        for (std::int64_t s = 0; s < mc; ++s)
            p.push_back(torch::softmax(whole ? model->forward(x) : model->head(o.features), 1));
        model->eval();
        return torch::stack(p);
    };
    t0 = Clock::now();
    const torch::Tensor old_mc = passes(true);
    const double bald_old = since(t0);
    t0 = Clock::now();
    const torch::Tensor new_mc = passes(false);
    const double bald_new = since(t0);
    if (!torch::equal(old_mc, new_mc)) throw std::runtime_error("BALD: MC passes differ");
    const double per_image = static_cast<double>(n_pool) / static_cast<double>(bald_batch);
    report("bald passes old, batch " + std::to_string(bald_batch), bald_old);
    report("bald passes new, batch " + std::to_string(bald_batch), bald_new);
    report("bald passes old, extrapolated to the pool", bald_old * per_image);
    report("bald passes new, extrapolated to the pool", bald_new * per_image);
    // The head passes alone at pool scale (synthetic features), and the scores.
    const torch::Tensor feats = torch::relu(torch::randn({n_pool, d}));
    t0 = Clock::now();
    torch::manual_seed(5);
    for (auto& m : model->named_modules())
        if (m.key() == "dropout") m.value()->train(true);
    std::vector<torch::Tensor> p;
    for (std::int64_t r0 = 0; r0 < n_pool; r0 += 512) {
        const torch::Tensor f = feats.slice(0, r0, std::min(n_pool, r0 + 512));
        for (std::int64_t s = 0; s < mc; ++s) p.push_back(torch::softmax(model->head(f), 1));
    }
    model->eval();
    report("bald head passes alone, whole pool", since(t0));
    torch::manual_seed(6);
    const torch::Tensor mcp = torch::softmax(torch::randn({mc, n_pool, k}) * 2.0, 2).contiguous();
    t0 = Clock::now();
    const auto scores = sp::bald_scores(mcp.data_ptr<float>(), mc, n_pool, k);
    sp::top_k(scores, query);
    report("bald_scores + top_k, whole pool", since(t0));

    // --- al.pool_subset: the same on a random subset of the pool. ---
    if (subset > 0 && subset < n_pool) {
        std::vector<std::int64_t> all(static_cast<std::size_t>(n_pool));
        std::iota(all.begin(), all.end(), 0);
        t0 = Clock::now();
        const auto cand = sp::select_pool_subset(all, subset, 9);
        report("select_pool_subset " + std::to_string(subset), since(t0));
        const std::vector<float> sub = rows(pool, d, cand);
        const torch::Tensor sub_probs = probs_t.index_select(
            0, torch::tensor(std::vector<std::int64_t>(cand.begin(), cand.end())));
        const std::int64_t q = std::min(query, subset);
        t0 = Clock::now();
        sp::coreset_greedy(sub.data(), subset, lab.data(), n_lab, d, q);
        report("coreset new, subset " + std::to_string(subset), since(t0));
        t0 = Clock::now();
        sp::badge_select(sub_probs.contiguous().data_ptr<float>(), sub.data(), subset, k, d, q, 7);
        report("badge, subset " + std::to_string(subset), since(t0));
        report("bald passes new, extrapolated to the subset",
               bald_new * static_cast<double>(subset) / static_cast<double>(bald_batch));
    }
    return 0;
}
