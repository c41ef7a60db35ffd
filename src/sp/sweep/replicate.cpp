#include "sp/sweep/replicate.hpp"

#include "sp/al/strategies.hpp"
#include "sp/data/batches.hpp"
#include "sp/data/facts.hpp"
#include "sp/data/load.hpp"
#include "sp/data/subset.hpp"
#include "sp/io/schema.hpp"
#include "sp/metrics/analyze.hpp"
#include "sp/model/device.hpp"
#include "sp/model/resnet.hpp"
#include "sp/model/weights.hpp"
#include "sp/sweep/result_file.hpp"
#include "sp/train/checkpoint.hpp"
#include "sp/train/trainer.hpp"
#include "sp/util/error.hpp"
#include "sp/util/log.hpp"
#include "sp/util/rng.hpp"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace sp {
namespace {

/// "1h02m", "3m05s", "12s".
std::string format_duration(double seconds) {
    const auto total = static_cast<long long>(seconds + 0.5);
    char buf[32];
    if (total >= 3600)
        std::snprintf(buf, sizeof buf, "%lldh%02lldm", total / 3600, (total % 3600) / 60);
    else if (total >= 60)
        std::snprintf(buf, sizeof buf, "%lldm%02llds", total / 60, total % 60);
    else
        std::snprintf(buf, sizeof buf, "%llds", total);
    return buf;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

torch::Device pick_device(const TrainConfig& t, int local_rank, DeviceInfo& info) {
    info = select_device(local_rank, /*prefer_cpu=*/t.device == "cpu");
    if (t.device == "cuda" && !info.cuda_available) {
        throw ConfigError("train.device: \"cuda\" asked for, but LibTorch sees no CUDA device");
    }
    return torch::Device(info.device);
}

/// Penultimate features, logits and predictions of the evaluation set, in eval mode.
void embed(ResNet18& model, BatchLoader& loader, torch::Device device,
           const std::vector<std::string>& extra_layers, ReplicateResult& out) {
    torch::NoGradGuard no_grad;
    model->eval();
    loader.start_epoch(0);
    std::vector<torch::Tensor> features, logits, labels;
    std::map<std::string, std::vector<torch::Tensor>> extra;
    while (std::optional<Batch> b = loader.next()) {
        ResNetOutputs o = model->forward_with_features(b->images.to(device), extra_layers);
        features.push_back(o.features.to(torch::kCPU, torch::kFloat32));
        logits.push_back(o.logits.to(torch::kCPU, torch::kFloat32));
        labels.push_back(b->labels);
        for (auto& [name, t] : o.layers) extra[name].push_back(t.to(torch::kCPU, torch::kFloat32));
    }
    for (auto& [name, parts] : extra) {
        const torch::Tensor e = torch::cat(parts).contiguous();
        out.extra[name] = {
            e.size(1), std::vector<float>(e.data_ptr<float>(), e.data_ptr<float>() + e.numel())};
    }
    const torch::Tensor f = torch::cat(features).contiguous();
    const torch::Tensor l = torch::cat(logits).contiguous();
    const torch::Tensor y = torch::cat(labels).to(torch::kInt64).contiguous();
    const torch::Tensor p = l.argmax(1).to(torch::kInt64).contiguous();
    out.samples = f.size(0);
    out.dim = f.size(1);
    out.classes = l.size(1);
    out.embeddings.assign(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
    out.logits.assign(l.data_ptr<float>(), l.data_ptr<float>() + l.numel());
    out.labels.assign(y.data_ptr<std::int64_t>(), y.data_ptr<std::int64_t>() + y.numel());
    out.predictions.assign(p.data_ptr<std::int64_t>(), p.data_ptr<std::int64_t>() + p.numel());
}

/// Seed of round `round`'s stream derived from `stream` (round 0 uses the stream itself, so a
/// baseline replicate's data order is that of the data stream).
std::uint64_t round_seed(std::uint64_t stream, std::int64_t round) {
    return round == 0 ? stream : mix_seed(stream, static_cast<std::uint64_t>(round));
}

/// Model outputs over a list of training images, unaugmented, in list order.
struct PoolOutputs {
    torch::Tensor logits;     ///< n x K float32
    torch::Tensor embeddings; ///< n x D float32
    torch::Tensor mc_probs;   ///< T x n x K float32 (BALD only)
};

PoolOutputs pool_outputs(ResNet18& model, const ImageSet& images,
                         const std::vector<std::int64_t>& indices, const TransformSpec& spec,
                         const LoaderOptions& base, const AlConfig& al, torch::Device device,
                         bool mc, std::uint64_t dropout_seed) {
    torch::NoGradGuard no_grad;
    LoaderOptions opt = base;
    opt.batch_size = al.score_batch_size;
    opt.shuffle = false;
    opt.mode = LoaderMode::eval;
    BatchLoader loader(images, indices, spec, opt);
    std::vector<torch::Tensor> logits, features;
    std::vector<std::vector<torch::Tensor>> passes(mc ? static_cast<std::size_t>(al.mc_samples)
                                                      : 0);
    // MC dropout draws from its own generator state (seeded per round), then the global
    // generator goes back to where training left it.
    torch::Tensor saved;
    if (mc) {
        auto gen = at::detail::getDefaultCPUGenerator();
        {
            std::lock_guard<std::mutex> lock(gen.mutex());
            saved = gen.get_state();
        }
        torch::manual_seed(dropout_seed);
    }
    loader.start_epoch(0);
    while (std::optional<Batch> b = loader.next()) {
        const torch::Tensor x = b->images.to(device);
        model->eval();
        ResNetOutputs o = model->forward_with_features(x, {});
        logits.push_back(o.logits.to(torch::kCPU, torch::kFloat32));
        features.push_back(o.features.to(torch::kCPU, torch::kFloat32));
        if (mc) {
            // BatchNorm stays in eval mode; only the dropout layer samples.
            for (auto& m : model->named_modules()) {
                if (m.key() == "dropout") m.value()->train(true);
            }
            for (auto& pass : passes)
                pass.push_back(
                    torch::softmax(model->forward(x), 1).to(torch::kCPU, torch::kFloat32));
            model->eval();
        }
    }
    if (mc) {
        auto gen = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(saved);
    }
    PoolOutputs out;
    out.logits = torch::cat(logits).contiguous();
    out.embeddings = torch::cat(features).contiguous();
    if (mc) {
        std::vector<torch::Tensor> stacked;
        for (auto& pass : passes) stacked.push_back(torch::cat(pass));
        out.mc_probs = torch::stack(stacked).contiguous();
    }
    return out;
}

template <class T> std::vector<T> to_vector(const torch::Tensor& t) {
    const torch::Tensor c = t.contiguous();
    return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

/// Picks the next query from the unlabelled pool: pool positions in pick order, and their scores
/// (empty for strategies without one: random, BADGE).
void query_pool(const std::string& strategy, const PoolOutputs& pool, const PoolOutputs* labelled,
                std::int64_t count, std::uint64_t seed, std::vector<std::int64_t>& picks,
                std::vector<double>& scores) {
    const std::int64_t n = pool.logits.size(0);
    const std::int64_t k = pool.logits.size(1);
    const torch::Tensor probs = torch::softmax(pool.logits, 1).contiguous();
    const float* p = probs.data_ptr<float>();
    std::vector<double> all;
    if (strategy == "random") {
        picks = random_select(n, count, seed);
        return;
    }
    if (strategy == "least_confidence") all = least_confidence_scores(p, n, k);
    if (strategy == "margin") all = margin_scores(p, n, k);
    if (strategy == "entropy") all = entropy_scores(p, n, k);
    if (strategy == "bald")
        all = bald_scores(pool.mc_probs.data_ptr<float>(), pool.mc_probs.size(0), n, k);
    if (!all.empty() || n == 0) {
        picks = top_k(all, count);
        for (std::int64_t i : picks) scores.push_back(all[static_cast<std::size_t>(i)]);
        return;
    }
    const std::int64_t d = pool.embeddings.size(1);
    if (strategy == "coreset") {
        picks = coreset_greedy(pool.embeddings.data_ptr<float>(), n,
                               labelled->embeddings.data_ptr<float>(), labelled->embeddings.size(0),
                               d, count, &scores);
        return;
    }
    if (strategy == "badge") {
        picks = badge_select(p, pool.embeddings.data_ptr<float>(), n, k, d, count, seed);
        return;
    }
    throw ConfigError("al.strategy: unknown strategy \"" + strategy + "\"");
}

/// What one round of a replicate did (the /al/round_NNN group of the result file).
struct RoundRecord {
    std::int64_t labelled_size = 0;
    std::int64_t epochs = 0;                   ///< epochs trained this round
    std::int64_t first_epoch = 0;              ///< index of its first entry in the history
    double accuracy = 0.0;                     ///< evaluation accuracy after the round
    double seconds = 0.0;                      ///< wall time of the round's training and query
    std::vector<std::int64_t> queried;         ///< training-set indices picked after the round
    std::vector<double> scores;                ///< their scores (empty: random, BADGE)
    std::vector<std::int64_t> class_histogram; ///< classes of the picks (K)
    // With al.save_pool_outputs: what the query saw.
    std::vector<std::int64_t> pool;         ///< unlabelled training indices, in pool order
    std::vector<float> pool_logits;         ///< pool x K
    std::vector<float> pool_embeddings;     ///< pool x D
    std::vector<float> labelled_embeddings; ///< labelled x D (core-set)
    std::vector<float> mc_probs;            ///< T x pool x K (BALD)
    std::int64_t mc_samples = 0;
    std::optional<Analysis> metrics; ///< with al.round_metrics
};

/// The active-learning state carried across rounds and through checkpoints.
struct AlState {
    std::int64_t round = 0;
    std::vector<std::int64_t> labelled; ///< training indices, in the order they were labelled
    std::vector<RoundRecord> rounds;    ///< finished rounds
};

std::string round_name(std::size_t round) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "round_%03zu", round);
    return buf;
}

void write_rounds(h5::File& f, const std::string& path, const AlState& st, const AlConfig& al,
                  std::int64_t classes, int compression) {
    h5::Group g = f.create_group(path);
    g.write_attribute("strategy", al.strategy);
    g.write_attribute("start", al.start);
    g.write_attribute("initial_sampling", al.initial_sampling);
    g.write_attribute("round", st.round);
    g.write<std::int64_t>("labelled", st.labelled);
    std::vector<std::int64_t> sizes;
    std::vector<double> accuracy;
    for (const RoundRecord& r : st.rounds) {
        sizes.push_back(r.labelled_size);
        accuracy.push_back(r.accuracy);
    }
    g.write<std::int64_t>("labelled_size", sizes);
    g.write<double>("accuracy", accuracy);
    const auto k = static_cast<std::uint64_t>(classes);
    for (std::size_t i = 0; i < st.rounds.size(); ++i) {
        const RoundRecord& r = st.rounds[i];
        h5::Group rg = g.create_group(round_name(i));
        rg.write_attribute("labelled_size", r.labelled_size);
        rg.write_attribute("epochs", r.epochs);
        rg.write_attribute("first_epoch", r.first_epoch);
        rg.write_attribute("accuracy", r.accuracy);
        rg.write_attribute("seconds", r.seconds);
        rg.write<std::int64_t>("queried_indices", r.queried);
        if (!r.scores.empty() || r.queried.empty()) rg.write<double>("queried_scores", r.scores);
        rg.write<std::int64_t>("queried_class_histogram", r.class_histogram);
        if (!r.pool.empty()) {
            const auto n = static_cast<std::uint64_t>(r.pool.size());
            rg.write<std::int64_t>("pool_indices", r.pool);
            rg.write<float>("pool_logits", r.pool_logits, {n, k});
            const std::uint64_t d = r.pool_embeddings.size() / n;
            rg.write<float>("pool_embeddings", r.pool_embeddings, {n, d});
            if (!r.labelled_embeddings.empty()) {
                rg.write<float>("labelled_embeddings", r.labelled_embeddings,
                                {r.labelled_embeddings.size() / d, d});
            }
            if (r.mc_samples > 0) {
                rg.write<float>("mc_probs", r.mc_probs,
                                {static_cast<std::uint64_t>(r.mc_samples), n, k});
            }
        }
        if (r.metrics)
            write_analysis(f, *r.metrics, compression, path + "/" + round_name(i) + "/metrics");
    }
}

AlState read_rounds(const h5::File& f, const std::string& path) {
    const h5::Group g = f.open_group(path);
    AlState st;
    st.round = g.read_attribute<std::int64_t>("round");
    st.labelled = g.read<std::int64_t>("labelled");
    for (std::size_t i = 0; g.exists(round_name(i)); ++i) {
        const h5::Group rg = g.open_group(round_name(i));
        RoundRecord r;
        r.labelled_size = rg.read_attribute<std::int64_t>("labelled_size");
        r.epochs = rg.read_attribute<std::int64_t>("epochs");
        r.first_epoch = rg.read_attribute<std::int64_t>("first_epoch");
        r.accuracy = rg.read_attribute<double>("accuracy");
        r.seconds = rg.read_attribute<double>("seconds");
        r.queried = rg.read<std::int64_t>("queried_indices");
        if (rg.exists("queried_scores")) r.scores = rg.read<double>("queried_scores");
        r.class_histogram = rg.read<std::int64_t>("queried_class_histogram");
        if (rg.exists("pool_indices")) {
            r.pool = rg.read<std::int64_t>("pool_indices");
            r.pool_logits = rg.read<float>("pool_logits", {h5::kAnyDim, h5::kAnyDim});
            r.pool_embeddings = rg.read<float>("pool_embeddings", {h5::kAnyDim, h5::kAnyDim});
            if (rg.exists("labelled_embeddings"))
                r.labelled_embeddings =
                    rg.read<float>("labelled_embeddings", {h5::kAnyDim, h5::kAnyDim});
            if (rg.exists("mc_probs")) {
                r.mc_probs = rg.read<float>("mc_probs", {h5::kAnyDim, h5::kAnyDim, h5::kAnyDim});
                r.mc_samples = static_cast<std::int64_t>(rg.shape("mc_probs")[0]);
            }
        }
        if (rg.exists("metrics"))
            r.metrics = read_analysis(f, path + "/" + round_name(i) + "/metrics");
        st.rounds.push_back(std::move(r));
    }
    return st;
}

/// The replicate's analysis input from its evaluation outputs.
AnalysisInput analysis_input(const ReplicateResult& result) {
    AnalysisInput ai;
    ai.n = result.samples;
    ai.d = result.dim;
    ai.classes = result.classes;
    ai.embeddings = result.embeddings.data();
    ai.labels = result.labels.data();
    if (!result.class_vectors.empty()) {
        ai.class_vectors = result.class_vectors.data();
        ai.class_vector_dim = result.dim;
    }
    return ai;
}

void take_class_vectors(ResNet18& model, ReplicateResult& result) {
    const torch::Tensor w =
        model->named_parameters()["fc.weight"].detach().to(torch::kCPU, torch::kFloat32);
    result.class_vectors = to_vector<float>(w);
}

/// A replicate: one round on the whole training set (baseline), or active-learning rounds.
ReplicateOutcome train_replicate(const Replicate& r, const RunContext& ctx,
                                 ReplicateResult& result) {
    const Experiment& cfg = r.config;
    const AlConfig& al = cfg.al;
    const bool active = al.strategy != "baseline";
    const auto t0 = std::chrono::steady_clock::now();
    set_torch_threads(ctx.threads);
    if (cfg.train.deterministic && std::getenv("CUBLAS_WORKSPACE_CONFIG") == nullptr) {
        // cuBLAS is only deterministic with a fixed workspace (CUDA docs); harmless on the CPU.
        setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
    }
    result.provenance.deterministic = configure_determinism(cfg.train.deterministic);
    DeviceInfo dev;
    const torch::Device device = pick_device(cfg.train, ctx.local_rank, dev);
    result.provenance.device = dev.device;
    result.provenance.device_name = dev.name;
    result.provenance.libtorch_version = dev.libtorch_version;

    DataSplits data = load_dataset(cfg.dataset, r.seeds.pool, ctx.threads);
    const DatasetFacts facts = dataset_facts(cfg.dataset.name, cfg.dataset.synthetic);
    result.class_names = data.class_names;

    ResNet18 model(resnet18_options(cfg.model, facts.classes), r.seeds.init);
    auto load_pretrained = [&] {
        if (cfg.model.pretrained.empty()) return;
        LoadOptions lo;
        lo.skip_fc = true; // the paper's protocol: pretrained trunk, a new classifier
        load_state_dict_file(*model, cfg.model.pretrained, lo);
    };
    auto initialise = [&] { // a cold-start round: as constructed
        model->reset_parameters(r.seeds.init);
        load_pretrained();
    };
    load_pretrained();
    model->to(device);
    // Dropout masks come from LibTorch's global generator: seed it from the dropout stream.
    torch::manual_seed(r.seeds.dropout);

    const TransformSpec train_spec =
        make_transform_spec(cfg.dataset, facts, data.train, /*model_channels=*/3);
    TransformSpec eval_spec =
        make_transform_spec(cfg.dataset, facts, data.eval, /*model_channels=*/3);
    LoaderOptions train_opt;
    train_opt.batch_size = cfg.train.batch_size;
    train_opt.shuffle = cfg.train.shuffle;
    train_opt.mode = LoaderMode::train;
    train_opt.threads = ctx.threads;
    LoaderOptions eval_opt = train_opt;
    eval_opt.batch_size = cfg.train.eval_batch_size;
    eval_opt.shuffle = false;
    eval_opt.mode = LoaderMode::eval;
    eval_opt.seed = r.seeds.data;
    std::vector<std::int64_t> all_eval(static_cast<std::size_t>(data.eval.count));
    for (std::int64_t i = 0; i < data.eval.count; ++i) all_eval[static_cast<std::size_t>(i)] = i;
    BatchLoader eval_loader(data.eval, all_eval, eval_spec, eval_opt);
    LoaderSource eval_source(eval_loader);

    const std::vector<std::int64_t> sizes = labelled_sizes(cfg);
    const std::int64_t n_train = data.train.count;
    const std::int64_t epochs = active && al.epochs > 0 ? al.epochs : cfg.train.epochs;

    auto optimizer = make_optimizer(cfg.train, model->parameters());
    const std::string ckpt = checkpoint_path(r);
    TrainState state;
    AlState st;
    bool resumed = false;
    if (auto loaded = load_checkpoint(ckpt, r.id, *model, *optimizer, [&](const h5::File& f) {
            if (f.exists("/al")) st = read_rounds(f, "/al");
        })) {
        state = std::move(*loaded);
        resumed = true;
        log::info("replicate " + r.id + ": resuming at round " + std::to_string(st.round) +
                  ", epoch " + std::to_string(state.epoch) + " from " + ckpt);
    }
    if (!active) {
        // Baseline: one round on the whole training set (a checkpoint holds no pool).
        st.labelled.resize(static_cast<std::size_t>(n_train));
        for (std::int64_t i = 0; i < n_train; ++i) st.labelled[static_cast<std::size_t>(i)] = i;
    } else if (!resumed) {
        // The initial pool: its own stream derived from the pool seed.
        const std::uint64_t seed = mix_seed(r.seeds.pool, 1);
        const std::int64_t initial = std::min(al.initial, n_train);
        st.labelled =
            al.initial_sampling == "stratified"
                ? select_stratified(data.train.labels, facts.classes, initial, seed, "al.initial")
                : random_select(n_train, initial, seed);
    }
    if (st.labelled.empty())
        throw DataError(ckpt + ": the checkpoint holds no labelled pool for this active-learning "
                               "replicate; delete it to start over");
    auto save = [&](const TrainState& s) {
        save_checkpoint(ckpt, r.id, *model, *optimizer, s, [&](h5::File& f) {
            if (active) write_rounds(f, "/al", st, al, facts.classes, 0);
        });
    };

    bool stopped = false;
    while (true) {
        const auto round_t0 = std::chrono::steady_clock::now();
        const std::int64_t round = st.round;
        if (active && al.start == "cold" && round > 0 && state.epoch == 0) {
            initialise();
            optimizer = make_optimizer(cfg.train, model->parameters());
        }
        LoaderOptions round_opt = train_opt;
        round_opt.seed = round_seed(r.seeds.data, round);
        BatchLoader train_loader(data.train, st.labelled, train_spec, round_opt);
        LoaderSource train_source(train_loader);
        Trainer trainer(
            *model, [&model](const torch::Tensor& x) { return model->forward(x); }, *optimizer,
            cfg.train, device);
        const std::string where = active ? "round " + std::to_string(round) + " (" +
                                               std::to_string(st.labelled.size()) + " labelled), "
                                         : "";
        const std::int64_t first_epoch =
            static_cast<std::int64_t>(state.history.size()) - state.epoch;
        state = trainer.run(train_source, eval_source, epochs, state, [&](const TrainState& s) {
            const auto& last = s.history.back();
            // Images still to train on, at the last epoch's rate (scoring and metrics aside).
            double remaining = static_cast<double>((epochs - s.epoch) *
                                                   static_cast<std::int64_t>(st.labelled.size()));
            for (std::size_t k = static_cast<std::size_t>(round) + 1; active && k < sizes.size();
                 ++k)
                remaining += static_cast<double>(sizes[k] * epochs);
            log::info("replicate " + r.id + ": " + where + "epoch " + std::to_string(s.epoch) +
                      "/" + std::to_string(epochs) + " loss " + std::to_string(last.loss) +
                      " eval accuracy " + std::to_string(last.eval_accuracy) + " eta " +
                      format_duration(
                          last.images_per_second > 0 ? remaining / last.images_per_second : 0.0));
            const bool stop = ctx.stop_requested && ctx.stop_requested();
            const bool due =
                cfg.train.checkpoint_every > 0 && s.epoch % cfg.train.checkpoint_every == 0;
            if ((due || stop) && s.epoch < epochs) save(s);
            stopped = stop && s.epoch < epochs;
            return !stop;
        });
        if (stopped) break;

        RoundRecord rec;
        rec.labelled_size = static_cast<std::int64_t>(st.labelled.size());
        rec.epochs = epochs;
        rec.first_epoch = first_epoch;
        rec.accuracy = state.history.empty() ? 0.0 : state.history.back().eval_accuracy;
        rec.class_histogram.assign(static_cast<std::size_t>(facts.classes), 0);
        const bool last_round = static_cast<std::size_t>(round + 1) >= sizes.size() ||
                                static_cast<std::int64_t>(st.labelled.size()) >= n_train;
        if (active && al.round_metrics && !last_round) {
            ReplicateResult round_result;
            embed(model, eval_loader, device, {}, round_result);
            take_class_vectors(model, round_result);
            rec.metrics = analyze(analysis_input(round_result), cfg.metrics,
                                  round_seed(r.seeds.tsne, round), ctx.threads);
        }
        if (active && !last_round) {
            // Score the unlabelled pool and label the next batch.
            std::vector<char> is_labelled(static_cast<std::size_t>(n_train), 0);
            for (std::int64_t i : st.labelled) is_labelled[static_cast<std::size_t>(i)] = 1;
            std::vector<std::int64_t> pool;
            for (std::int64_t i = 0; i < n_train; ++i) {
                if (is_labelled[static_cast<std::size_t>(i)] == 0) pool.push_back(i);
            }
            const std::int64_t count =
                std::min<std::int64_t>(sizes[static_cast<std::size_t>(round + 1)] -
                                           static_cast<std::int64_t>(st.labelled.size()),
                                       static_cast<std::int64_t>(pool.size()));
            const bool mc = al.strategy == "bald";
            const PoolOutputs outputs =
                pool_outputs(model, data.train, pool, train_spec, train_opt, al, device, mc,
                             round_seed(mix_seed(r.seeds.dropout, 2), round));
            std::optional<PoolOutputs> lab;
            if (al.strategy == "coreset" || al.save_pool_outputs) {
                lab = pool_outputs(model, data.train, st.labelled, train_spec, train_opt, al,
                                   device, false, 0);
            }
            std::vector<std::int64_t> picks;
            query_pool(al.strategy, outputs, lab ? &*lab : nullptr, count,
                       round_seed(mix_seed(r.seeds.pool, 2), round), picks, rec.scores);
            for (std::int64_t p : picks) {
                const std::int64_t index = pool[static_cast<std::size_t>(p)];
                rec.queried.push_back(index);
                ++rec.class_histogram[static_cast<std::size_t>(
                    data.train.labels[static_cast<std::size_t>(index)])];
            }
            if (al.save_pool_outputs) {
                rec.pool = pool;
                rec.pool_logits = to_vector<float>(outputs.logits);
                rec.pool_embeddings = to_vector<float>(outputs.embeddings);
                rec.labelled_embeddings = to_vector<float>(lab->embeddings);
                if (mc) {
                    rec.mc_probs = to_vector<float>(outputs.mc_probs);
                    rec.mc_samples = outputs.mc_probs.size(0);
                }
            }
        }
        rec.seconds = seconds_since(round_t0);
        st.rounds.push_back(std::move(rec));
        if (!active || last_round) break;
        st.labelled.insert(st.labelled.end(), st.rounds.back().queried.begin(),
                           st.rounds.back().queried.end());
        st.round = round + 1;
        state.epoch = 0;
        save(state); // a round boundary: the query is never redone
        log::info("replicate " + r.id + ": round " + std::to_string(round) + " accuracy " +
                  std::to_string(st.rounds.back().accuracy) + ", labelled " +
                  std::to_string(st.labelled.size()));
        if (ctx.stop_requested && ctx.stop_requested()) {
            stopped = true;
            break;
        }
    }
    result.history = state.history;
    ReplicateOutcome outcome{r.id, "stopped", 0, seconds_since(t0), ""};
    if (stopped) {
        outcome.message = active ? "checkpointed in round " + std::to_string(st.round) +
                                       " at epoch " + std::to_string(state.epoch)
                                 : "checkpointed at epoch " + std::to_string(state.epoch);
        return outcome;
    }
    embed(model, eval_loader, device, cfg.model.extra_layers, result);
    take_class_vectors(model, result);
    log::info("replicate " + r.id + ": computing metrics");
    const Analysis analysis =
        analyze(analysis_input(result), cfg.metrics, r.seeds.tsne, ctx.threads);
    result.provenance.end_time = utc_now_iso8601();
    const int compression = static_cast<int>(cfg.output.compression);
    write_result_file(result_path(r), result, compression, [&](h5::File& f) {
        write_analysis(f, analysis, compression);
        if (active) write_rounds(f, "/al", st, al, facts.classes, compression);
    });
    std::error_code ec;
    std::filesystem::remove(ckpt, ec); // the result supersedes it
    outcome.status = "complete";
    outcome.accuracy = accuracy_of(result.labels, result.predictions, result.classes).overall;
    outcome.seconds = seconds_since(t0);
    return outcome;
}

} // namespace

std::string result_path(const Replicate& r) { return r.config.output.dir + "/" + r.id + ".h5"; }

std::string checkpoint_path(const Replicate& r) {
    return r.config.output.dir + "/checkpoints/" + r.id + ".h5";
}

bool result_is_complete(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return false;
    try {
        io::SchemaSet schemas;
        if (!io::validate(path, schemas).valid()) return false;
        return h5::File::open(path).read_attribute<std::string>("status") == "complete";
    } catch (const Error&) {
        return false;
    }
}

ReplicateOutcome run_replicate(const Plan& plan, const Replicate& r, const RunContext& ctx) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string path = result_path(r);
    if (ctx.force) {
        std::error_code ec;
        std::filesystem::remove(path, ec);
        std::filesystem::remove(checkpoint_path(r), ec);
    }
    if (result_is_complete(path)) {
        return {r.id, "skipped", 0, 0, "complete result exists: " + path};
    }
    ReplicateResult result;
    result.id = r.id;
    Provenance& p = result.provenance;
    p.config_toml = resolved_toml(plan, r);
    p.sweep_name = plan.name;
    p.hostname = host_name();
    p.device = "cpu";
    p.device_name = "cpu";
    p.libtorch_version = libtorch_version();
    p.deterministic = r.config.train.deterministic;
    p.start_time = utc_now_iso8601();
    p.sweep_seed = plan.sweep_seed;
    p.replicate_seed = r.seed;
    p.seeds = r.seeds;
    try {
        return train_replicate(r, ctx, result);
    } catch (const Error& e) {
        result.status = "failed";
        result.error = e.what();
    } catch (const std::exception& e) {
        result.status = "failed";
        result.error = std::string("internal error: ") + e.what();
    }
    p.end_time = utc_now_iso8601();
    try {
        write_result_file(path, result, 0);
    } catch (const Error& e) {
        result.error +=
            " (and its result file could not be written: " + std::string(e.what()) + ")";
    }
    return {r.id, "failed", 0, seconds_since(t0), result.error};
}

} // namespace sp
