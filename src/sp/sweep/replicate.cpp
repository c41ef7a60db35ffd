#include "sp/sweep/replicate.hpp"

#include "sp/data/batches.hpp"
#include "sp/data/facts.hpp"
#include "sp/data/load.hpp"
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

#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

namespace sp {
namespace {

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

ReplicateOutcome train_baseline(const Replicate& r, const RunContext& ctx,
                                ReplicateResult& result) {
    const Experiment& cfg = r.config;
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
    if (!cfg.model.pretrained.empty()) {
        LoadOptions lo;
        lo.skip_fc = true; // the paper's protocol: pretrained trunk, a new classifier
        load_state_dict_file(*model, cfg.model.pretrained, lo);
    }
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
    train_opt.seed = r.seeds.data;
    LoaderOptions eval_opt = train_opt;
    eval_opt.batch_size = cfg.train.eval_batch_size;
    eval_opt.shuffle = false;
    eval_opt.mode = LoaderMode::eval;
    std::vector<std::int64_t> all_train(static_cast<std::size_t>(data.train.count));
    for (std::int64_t i = 0; i < data.train.count; ++i) all_train[static_cast<std::size_t>(i)] = i;
    std::vector<std::int64_t> all_eval(static_cast<std::size_t>(data.eval.count));
    for (std::int64_t i = 0; i < data.eval.count; ++i) all_eval[static_cast<std::size_t>(i)] = i;
    BatchLoader train_loader(data.train, all_train, train_spec, train_opt);
    BatchLoader eval_loader(data.eval, all_eval, eval_spec, eval_opt);
    LoaderSource train_source(train_loader);
    LoaderSource eval_source(eval_loader);

    auto optimizer = make_optimizer(cfg.train, model->parameters());
    const std::string ckpt = checkpoint_path(r);
    TrainState start;
    if (auto resumed = load_checkpoint(ckpt, r.id, *model, *optimizer)) {
        start = std::move(*resumed);
        log::info("replicate " + r.id + ": resuming at epoch " + std::to_string(start.epoch) +
                  " from " + ckpt);
    }
    Trainer trainer(
        *model, [&model](const torch::Tensor& x) { return model->forward(x); }, *optimizer,
        cfg.train, device);
    bool stopped = false;
    const std::int64_t epochs = cfg.train.epochs;
    TrainState state =
        trainer.run(train_source, eval_source, epochs, start, [&](const TrainState& s) {
            const auto& last = s.history.back();
            log::info("replicate " + r.id + ": epoch " + std::to_string(s.epoch) + "/" +
                      std::to_string(epochs) + " loss " + std::to_string(last.loss) +
                      " eval accuracy " + std::to_string(last.eval_accuracy));
            const bool stop = ctx.stop_requested && ctx.stop_requested();
            const bool due =
                cfg.train.checkpoint_every > 0 && s.epoch % cfg.train.checkpoint_every == 0;
            if ((due || stop) && s.epoch < epochs)
                save_checkpoint(ckpt, r.id, *model, *optimizer, s);
            stopped = stop && s.epoch < epochs;
            return !stop;
        });
    result.history = state.history;
    ReplicateOutcome outcome{r.id, "stopped", 0, seconds_since(t0), ""};
    if (stopped) {
        outcome.message = "checkpointed at epoch " + std::to_string(state.epoch);
        return outcome;
    }
    embed(model, eval_loader, device, cfg.model.extra_layers, result);
    {
        const torch::Tensor w = model->named_parameters()["fc.weight"]
                                    .detach()
                                    .to(torch::kCPU, torch::kFloat32)
                                    .contiguous();
        result.class_vectors.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
    }
    log::info("replicate " + r.id + ": computing metrics");
    AnalysisInput ai;
    ai.n = result.samples;
    ai.d = result.dim;
    ai.classes = result.classes;
    ai.embeddings = result.embeddings.data();
    ai.labels = result.labels.data();
    ai.class_vectors = result.class_vectors.data();
    ai.class_vector_dim = result.dim;
    const Analysis analysis = analyze(ai, cfg.metrics, r.seeds.tsne, ctx.threads);
    result.provenance.end_time = utc_now_iso8601();
    const int compression = static_cast<int>(cfg.output.compression);
    write_result_file(result_path(r), result, compression,
                      [&](h5::File& f) { write_analysis(f, analysis, compression); });
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
    if (r.config.al.strategy != "baseline") {
        return {r.id, "skipped", 0, 0,
                "strategy " + r.config.al.strategy + " arrives with the active-learning stage"};
    }
    const std::string path = result_path(r);
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
        return train_baseline(r, ctx, result);
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
