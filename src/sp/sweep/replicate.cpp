#include "sp/sweep/replicate.hpp"

#include "sp/al/loop.hpp"
#include "sp/config/dataset_facts.hpp"
#include "sp/data/load.hpp"
#include "sp/io/schema.hpp"
#include "sp/metrics/analyze.hpp"
#include "sp/model/device.hpp"
#include "sp/sweep/result_file.hpp"
#include "sp/train/extract.hpp"
#include "sp/train/model_init.hpp"
#include "sp/train/trainer.hpp"
#include "sp/util/clock.hpp"
#include "sp/util/error.hpp"
#include "sp/util/log.hpp"

#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <utility>

namespace sp {
namespace {

/// LibTorch's threads and determinism, and the device, recorded in the provenance. Throws
/// ConfigError when CUDA is asked for and there is none.
torch::Device resolve_runtime(const TrainConfig& t, const RunContext& ctx, Provenance& p) {
    set_torch_threads(ctx.threads);
    if (t.deterministic && std::getenv("CUBLAS_WORKSPACE_CONFIG") == nullptr) {
        // cuBLAS is only deterministic with a fixed workspace (CUDA docs); harmless on the CPU.
        setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
    }
    p.deterministic = configure_determinism(t.deterministic);
    const DeviceInfo dev =
        select_device(ctx.local_rank, /*prefer_cpu=*/t.device == DeviceChoice::cpu);
    if (t.device == DeviceChoice::cuda && !dev.cuda_available) {
        throw ConfigError("train.device: \"cuda\" asked for, but LibTorch sees no CUDA device");
    }
    p.device = dev.device;
    p.device_name = dev.name;
    p.libtorch_version = dev.libtorch_version;
    return torch::Device(dev.device);
}

/// Moves the evaluation outputs into the result file's fields.
void store_outputs(EvalOutputs&& e, ReplicateResult& result) {
    result.samples = e.samples;
    result.dim = e.dim;
    result.classes = e.classes;
    result.embeddings = std::move(e.embeddings);
    result.logits = std::move(e.logits);
    result.labels = std::move(e.labels);
    result.predictions = std::move(e.predictions);
    result.extra = std::move(e.extra);
    result.class_vectors = std::move(e.class_vectors);
}

/// The result file with /metrics (and /al for active learning); the checkpoint goes after it.
void write_replicate(const Replicate& r, const ReplicateResult& result, const Analysis& analysis,
                     const std::optional<AlState>& al, std::int64_t classes) {
    const int compression = static_cast<int>(r.config.output.compression);
    write_result_file(result_path(r), result, compression, [&](h5::File& f) {
        write_analysis(f, analysis, compression);
        if (al) write_rounds(f, "/al", *al, r.config.al, classes, compression);
    });
    std::error_code ec;
    std::filesystem::remove(checkpoint_path(r), ec); // the result supersedes it
}

/// A replicate's stages: resolve, load data, build the model, train (one round on the whole
/// training set for a baseline, active-learning rounds otherwise), evaluate, analyse, write.
ReplicateOutcome train_replicate(const Replicate& r, const RunContext& ctx,
                                 ReplicateResult& result) {
    const Experiment& cfg = r.config;
    const auto t0 = std::chrono::steady_clock::now();
    const torch::Device device = resolve_runtime(cfg.train, ctx, result.provenance);

    const DataSplits data = load_dataset(cfg.dataset, r.seeds.pool, ctx.threads);
    const DatasetFacts facts = dataset_facts(cfg.dataset.name, cfg.dataset.synthetic);
    result.class_names = data.class_names;

    ResNet18 model = build_model(cfg.model, facts.classes, r.seeds.init, device);
    // Dropout masks come from LibTorch's global generator: seed it from the dropout stream.
    torch::manual_seed(r.seeds.dropout);
    TrainingData batches(cfg, facts, data, ctx.threads, r.seeds.data);

    const TrainingContext training{checkpoint_path(r), device, ctx.threads, ctx.stop_requested};
    const RoundsOutcome trained = run_rounds(r, training, model, batches);
    result.history = trained.history;
    if (trained.stopped) return {r.id, "stopped", 0, seconds_since(t0), trained.message};

    EvalOutputs eval = embed(model, batches.eval, device, cfg.model.extra_layers);
    log::info("replicate " + r.id + ": computing metrics");
    const Analysis analysis = analyze(analysis_input(eval), cfg.metrics, r.seeds.tsne, ctx.threads);
    store_outputs(std::move(eval), result);

    result.provenance.end_time = utc_now_iso8601();
    write_replicate(r, result, analysis, trained.al, facts.classes);
    const double accuracy = accuracy_of(result.labels, result.predictions, result.classes).overall;
    return {r.id, "complete", accuracy, seconds_since(t0), ""};
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
