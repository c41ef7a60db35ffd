#include "sp/sweep/replicate.hpp"

#include "sp/al/loop.hpp"
#include "sp/config/dataset_facts.hpp"
#include "sp/data/load.hpp"
#include "sp/io/schema.hpp"
#include "sp/metrics/analyze.hpp"
#include "sp/model/device.hpp"
#include "sp/plan/identity.hpp"
#include "sp/sweep/result_file.hpp"
#include "sp/train/checkpoint.hpp"
#include "sp/train/extract.hpp"
#include "sp/train/model_init.hpp"
#include "sp/train/trainer.hpp"
#include "sp/util/clock.hpp"
#include "sp/util/error.hpp"
#include "sp/util/hash.hpp"
#include "sp/util/log.hpp"
#include "sp/util/signals.hpp"

#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <thread>
#include <utility>

namespace sp {
namespace {

/// A resume refused: the checkpoint was written with another thread count or sp build. Bad input
/// (exit 2), unlike the replicate's other failures (ReplicateOutcome::exit_code).
class ResumeRefused : public ConfigError {
  public:
    using ConfigError::ConfigError;
};

constexpr int kRefused = static_cast<int>(ExitCode::bad_input);
constexpr int kFailed = static_cast<int>(ExitCode::replicates_failed);

/// The machine and libraries in provenance (model/device.hpp), for a run on `device`.
void record_runtime(Provenance& p, const std::string& device) {
    const RuntimeFacts f = runtime_facts(device);
    p.cpu_model = f.cpu_model;
    p.gpu_model = f.gpu_model;
    p.cuda_version = f.cuda_version;
    p.cudnn_version = f.cudnn_version;
    p.cuda_driver = f.cuda_driver;
    p.blas = f.blas;
    p.cpu_capability = f.cpu_capability;
    p.environment = relevant_environment();
}

/// LibTorch's threads and determinism, and the device, recorded in the provenance. Throws
/// ConfigError when CUDA is asked for and there is none, and when this node would run another
/// device type than the replicate's ID names (plan_effective: `auto` is cpu at plan time), rather
/// than run under an ID that says otherwise.
torch::Device resolve_runtime(const Replicate& r, const RunContext& ctx, Provenance& p) {
    const TrainConfig& t = r.config.train;
    set_torch_threads(ctx.threads);
    if (t.deterministic && std::getenv("CUBLAS_WORKSPACE_CONFIG") == nullptr) {
        // cuBLAS is only deterministic with a fixed workspace (CUDA docs); harmless on the CPU.
        setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
    }
    p.deterministic = configure_determinism(t.deterministic);
    const DeviceInfo dev = select_device(ctx.local_rank, ctx.ranks_per_gpu,
                                         /*prefer_cpu=*/t.device == DeviceChoice::cpu);
    if (t.device == DeviceChoice::cuda && !dev.cuda_available) {
        throw ConfigError("train.device: \"cuda\" asked for, but LibTorch sees no CUDA device");
    }
    const EffectiveSettings here = resolve_effective(r.config, dev.cuda_available);
    if (here.device != r.effective.device) {
        throw ConfigError("train.device: \"auto\" resolves to " + here.device +
                          " on this node, but replicate " + r.id + " was planned for " +
                          r.effective.device +
                          " (IDs are made at plan time, where auto means cpu); set train.device "
                          "= \"cuda\" for a GPU sweep or \"cpu\" to train on the CPU here");
    }
    p.device = dev.device;
    p.device_name = dev.name;
    p.libtorch_version = dev.libtorch_version;
    record_runtime(p, dev.device); // after CUBLAS_WORKSPACE_CONFIG is set
    return torch::Device(dev.device);
}

void append_change(std::string& changes, const std::string& change) {
    changes += (changes.empty() ? "" : "; ") + change;
}

/// The origin this run stamps on its checkpoints: this build with ctx.threads, carrying the
/// changes the checkpoint at `checkpoint` (if any) had accepted. Throws ResumeRefused when that
/// checkpoint was written with another thread count or sp build and `ctx` does not allow it.
CheckpointOrigin resume_origin(const std::string& checkpoint, const RunContext& ctx) {
    CheckpointOrigin now = this_build(ctx.threads);
    const std::optional<CheckpointOrigin> was = read_checkpoint_origin(checkpoint);
    if (!was) return now;
    now.thread_changes = was->thread_changes;
    now.version_changes = was->version_changes;
    if (was->threads != now.threads) {
        // Results depend on the thread count (LibTorch splits its CPU reductions by thread).
        const std::string from = was->threads > 0 ? std::to_string(was->threads) : "unknown";
        const std::string to = std::to_string(now.threads);
        if (!ctx.allow_thread_change) {
            throw ResumeRefused(
                checkpoint + ": checkpoint written with " + from +
                " LibTorch thread(s), this run has " + to +
                "; a different thread count changes the results. Resume with " +
                (was->threads > 0 ? "--threads " + from : "the thread count it ran with") +
                ", or pass --allow-thread-change to resume anyway (recorded in the result file)");
        }
        append_change(now.thread_changes, from + "->" + to);
    }
    const std::string built = was->sp_version + " (" + was->git_revision + ")";
    const std::string current = now.sp_version + " (" + now.git_revision + ")";
    if (built != current) {
        if (!ctx.allow_version_change) {
            throw ResumeRefused(checkpoint + ": checkpoint written by sp " + built +
                                ", this is sp " + current +
                                "; pass --allow-version-change to resume anyway (recorded in the "
                                "result file), or --force to start over");
        }
        append_change(now.version_changes, built + "->" + current);
    }
    return now;
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

/// Removes replicate `r`'s checkpoint and the round records beside it, if any.
void remove_checkpoint(const Replicate& r) {
    std::error_code ec;
    std::filesystem::remove(checkpoint_path(r), ec);
    remove_round_records(checkpoint_path(r));
}

/// The result file with /metrics (and /al for active learning), and what `more` adds; the
/// checkpoint goes after it.
void write_replicate(const Replicate& r, const ReplicateResult& result, const Analysis& analysis,
                     const std::optional<AlState>& al, std::int64_t classes,
                     const std::function<void(h5::File&)>& more) {
    const int compression = static_cast<int>(r.config.output.compression);
    write_result_file(result_path(r), result, compression, [&](h5::File& f) {
        write_analysis(f, analysis, compression);
        if (al) write_rounds(f, "/al", *al, r.config.al, classes, compression);
        more(f);
    });
    remove_checkpoint(r); // the result supersedes it
}

/// A replicate's stages: resolve, load data, build the model, train (one round on the whole
/// training set for a baseline, active-learning rounds otherwise), evaluate, analyse, write.
ReplicateOutcome train_replicate(const Plan& plan, const Replicate& r, const RunContext& ctx,
                                 ReplicateResult& result) {
    const Experiment& cfg = r.config;
    const auto t0 = std::chrono::steady_clock::now();
    const CheckpointOrigin origin = resume_origin(checkpoint_path(r), ctx);
    result.provenance.thread_changes = origin.thread_changes;
    result.provenance.version_changes = origin.version_changes;
    const torch::Device device = resolve_runtime(r, ctx, result.provenance);

    if (!cfg.model.pretrained.empty()) {
        // The ID names the weights by the contents the plan hashed; a file replaced since (a
        // requeue days later) would train another replicate under this ID.
        const std::string now = file_sha256_hex(cfg.model.pretrained);
        if (now != r.effective.pretrained_sha256) {
            throw ConfigError("model.pretrained: " + cfg.model.pretrained +
                              " changed since the plan: SHA-256 " + now + ", the ID " + r.id +
                              " names " + r.effective.pretrained_sha256 + " (re-plan the sweep)");
        }
        result.provenance.pretrained_sha256 = now;
    }
    // al.init = "baseline": the baseline's final weights, once its result file is complete.
    const Replicate* baseline = baseline_of(plan, r);
    std::string start_weights;
    if (baseline) {
        const auto ready = await_baseline(*baseline, r, ctx);
        if (!ready) {
            return {r.id,
                    "stopped",
                    0,
                    seconds_since(t0),
                    "stopped while waiting for baseline replicate " + baseline->id,
                    0};
        }
        start_weights = *ready;
    }
    const DataSplits data = load_dataset(cfg.dataset, r.seeds.pool, ctx.threads);
    result.provenance.dataset_sha256 = data.checksum;
    result.provenance.cache_sha256 = data.cache_sha256;
    result.provenance.dataset_verification = data.verification;
    const DatasetFacts facts = dataset_facts(cfg.dataset.name, cfg.dataset.synthetic);
    result.class_names = data.class_names;

    ResNet18 model = build_model(cfg.model, facts.classes, r.seeds.init, device);
    std::string start_sha256;
    if (baseline) {
        start_sha256 = load_model_state(*model, start_weights);
        log::info("replicate " + r.id + ": starts from the final weights of baseline replicate " +
                  baseline->id + " (SHA-256 " + start_sha256 + ")");
    }
    // Dropout masks come from LibTorch's global generator: seed it from the dropout stream.
    torch::manual_seed(r.seeds.dropout);
    TrainingData batches(cfg, facts, data, ctx.threads, r.seeds.data);

    const TrainingContext training{checkpoint_path(r), device, ctx.threads,
                                   ctx.stop_requested, origin, start_weights};
    const RoundsOutcome trained = run_rounds(r, training, model, batches);
    result.history = trained.history;
    // Loss scaling runs where the Trainer turns it on: fp16 on a CUDA device.
    result.provenance.loss_scaling = device.is_cuda() && cfg.train.precision == Precision::fp16;
    result.provenance.skipped_steps = trained.skipped_steps;
    result.provenance.final_loss_scale = trained.loss_scale;
    if (trained.stopped) return {r.id, "stopped", 0, seconds_since(t0), trained.message, 0};

    // The trained model is checkpointed (run_rounds): a stop signal abandons the embedding and
    // the metrics at their next safe point, and a resume redoes them from that checkpoint.
    EvalOutputs eval;
    Analysis analysis;
    try {
        eval = embed(model, batches.eval, device, cfg.model.extra_layers);
        log::info("replicate " + r.id + ": computing metrics");
        analysis = analyze(analysis_input(eval), cfg.metrics, r.seeds.tsne, ctx.threads);
    } catch (const StopRequested&) {
        return {r.id,
                "stopped",
                0,
                seconds_since(t0),
                "checkpointed after training (its embedding and metrics are redone on resume)",
                0};
    }
    store_outputs(std::move(eval), result);

    result.provenance.end_time = utc_now_iso8601();
    result.provenance.blas = blas_libraries(); // now with the lazily loaded ones (cuBLAS)
    write_replicate(r, result, analysis, trained.al, facts.classes, [&](h5::File& f) {
        // A baseline keeps its final weights for the replicates that start from them.
        if (cfg.al.strategy == Strategy::baseline) write_model_state(f, *model);
        if (baseline) {
            h5::Group p = f.open_group("/provenance");
            p.write_attribute("baseline_id", baseline->id);
            p.write_attribute("baseline_weights_sha256", start_sha256);
        }
    });
    const double accuracy = accuracy_of(result.labels, result.predictions, result.classes).overall;
    return {r.id, "complete", accuracy, seconds_since(t0), "", 0};
}

} // namespace

std::string result_path(const Replicate& r) { return r.config.output.dir + "/" + r.id + ".h5"; }

std::string checkpoint_path(const Replicate& r) {
    return r.config.output.dir + "/checkpoints/" + r.id + ".h5";
}

bool result_is_complete(const std::string& path, const std::string& id) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return false;
    std::string found;
    std::string status;
    try {
        io::SchemaSet schemas;
        if (!io::validate(path, schemas).valid()) return false;
        const h5::File f = h5::File::open(path);
        found = f.read_attribute<std::string>("replicate_id");
        status = f.read_attribute<std::string>("status");
    } catch (const Error&) {
        return false;
    }
    if (found != id) {
        throw DataError(path + ": holds the result of replicate " + found + ", not " + id +
                        "; it is neither skipped nor overwritten: move it away (or use --force "
                        "to delete it)");
    }
    return status == "complete";
}

namespace {

/// The error a failed result file at `path` records; nothing when there is no file, it cannot
/// be read, or it is not a failure.
std::optional<std::string> recorded_failure(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return std::nullopt;
    try {
        const h5::File f = h5::File::open(path);
        if (f.read_attribute<std::string>("status") != "failed") return std::nullopt;
        return f.has_attribute("error") ? f.read_attribute<std::string>("error") : "no message";
    } catch (const Error&) {
        return std::nullopt;
    }
}

} // namespace

std::optional<std::string> await_baseline(const Replicate& baseline, const Replicate& r,
                                          const RunContext& ctx) {
    const std::string path = result_path(baseline);
    const std::string which = "baseline replicate " + baseline.id + " (seed " +
                              std::to_string(baseline.seed) + ", " + path + ")";
    const auto t0 = std::chrono::steady_clock::now();
    double interval = 1.0;
    double next_log = 0.0;
    for (;;) {
        try {
            if (result_is_complete(path, baseline.id)) return path;
        } catch (const DataError& e) {
            throw DataError("replicate " + r.id + " starts from the final weights of " + which +
                            ", but: " + e.what());
        }
        if (const auto error = recorded_failure(path)) {
            throw DataError("replicate " + r.id + " starts from the final weights of " + which +
                            ", which failed: " + *error);
        }
        const double waited = seconds_since(t0);
        if (waited >= next_log) {
            log::info("replicate " + r.id + ": waiting for " + which + " to complete (waited " +
                      format_duration(waited) + ")");
            next_log += 600.0;
        }
        // Sleep in slices, so that a stop request is seen within a quarter second.
        const auto until = std::chrono::steady_clock::now() +
                           std::chrono::milliseconds(static_cast<long>(interval * 1000));
        while (std::chrono::steady_clock::now() < until) {
            if (ctx.stop_requested && ctx.stop_requested()) return std::nullopt;
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
        interval = std::min(2 * interval, kBaselinePollMaxSeconds);
    }
}

std::size_t clear_failed_baselines(const Plan& plan, bool force) {
    std::set<std::string> done;
    std::size_t removed = 0;
    for (const Replicate& r : plan.replicates) {
        const Replicate* b = baseline_of(plan, r);
        if (b == nullptr || !done.insert(b->id).second) continue;
        const std::string path = result_path(*b);
        if (!force && !recorded_failure(path)) continue;
        std::error_code exists_ec;
        if (!std::filesystem::exists(path, exists_ec)) continue;
        try {
            const h5::File f = h5::File::open(path);
            if (f.read_attribute<std::string>("replicate_id") != b->id) continue; // not ours
        } catch (const Error&) {
            continue;
        }
        std::error_code ec;
        if (std::filesystem::remove(path, ec)) {
            ++removed;
            log::info("baseline replicate " + b->id + ": removed its " +
                      (force ? "result " : "failed result ") + path +
                      " of an earlier run (it runs again before the replicates that start from "
                      "it)");
        }
    }
    return removed;
}

ReplicateOutcome run_replicate(const Plan& plan, const Replicate& r, const RunContext& ctx) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string path = result_path(r);
    if (ctx.force) {
        std::error_code ec;
        std::filesystem::remove(path, ec);
        remove_checkpoint(r);
    }
    try {
        if (result_is_complete(path, r.id)) {
            return {r.id, "skipped", 0, 0, "complete result exists: " + path, 0};
        }
    } catch (const DataError& e) {
        return {r.id, "failed", 0, seconds_since(t0), e.what(), kRefused}; // skip refused
    }
    ReplicateResult result;
    result.id = r.id;
    Provenance& p = result.provenance;
    p.config_toml = resolved_toml(plan, r);
    p.sweep_name = plan.name;
    p.hostname = host_name();
    p.device = "cpu";
    p.libtorch_version = libtorch_version();
    record_runtime(p, "cpu"); // a failure before the device is chosen still says where it ran
    p.device_name = p.cpu_model;
    p.deterministic = r.config.train.deterministic;
    p.threads = ctx.threads;
    p.ranks = ctx.ranks;
    p.start_time = utc_now_iso8601();
    p.sweep_seed = plan.sweep_seed;
    p.replicate_seed = r.seed;
    p.seeds = r.seeds;
    int code = kFailed;
    try {
        return train_replicate(plan, r, ctx, result);
    } catch (const StopRequested&) {
        // Work abandoned at a safe point on a stop signal (redone from the last checkpoint on
        // resume): not a failure, and no result file.
        return {r.id, "stopped", 0, seconds_since(t0), "stopped by a signal", 0};
    } catch (const ResumeRefused& e) {
        code = kRefused;
        result.status = "failed";
        result.error = e.what();
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
    return {r.id, "failed", 0, seconds_since(t0), result.error, code};
}

} // namespace sp
