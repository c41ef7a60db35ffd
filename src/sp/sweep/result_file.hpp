#pragma once
/// The per-replicate result file (results-schema/replicate.toml): provenance, training history,
/// the evaluation embeddings with labels, logits and predictions, and accuracy. Written
/// atomically: a final name only ever holds a complete file.
///
///     sp::ReplicateResult r;  ... fill ...
///     sp::write_result_file(dir + "/" + r.id + ".h5", r, /*compression=*/4);

#include "sp/plan/plan.hpp"
#include "sp/train/history.hpp"

#include "sp/io/h5.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace sp {

/// Where and how a replicate ran (the /provenance group).
struct Provenance {
    std::string config_toml; ///< resolved configuration (plan/plan.hpp resolved_toml)
    std::string sweep_name;
    std::string hostname;
    std::string device;      ///< "cpu" or "cuda:N"
    std::string device_name; ///< the model of the device it ran on: GPU name or CPU model
    std::string libtorch_version;
    // What explains a difference between runs (model/device.hpp RuntimeFacts); compiler, flags
    // and versions of HDF5 and MPI are written from util/version.hpp.
    std::string cpu_model = "unknown";
    std::string gpu_model; ///< "" on the CPU
    std::string cuda_version;
    std::string cudnn_version;
    std::string cuda_driver;
    std::string blas = "unknown";
    std::string cpu_capability = "unknown";
    std::string environment; ///< "KEY=value\n" lines, sorted (relevant_environment)
    bool deterministic = true;
    int threads = 1; ///< LibTorch intra-op threads it ran with (the last run, when resumed)
    int ranks = 1;   ///< MPI world size of the sweep's job (of the last run)
    /// Thread-count changes accepted on resume (sp_sweep --allow-thread-change), "1->2; 2->4";
    /// "" when none (and then not written).
    std::string thread_changes;
    /// sp version/revision changes accepted on resume (--allow-version-change), "" when none.
    std::string version_changes;
    /// fp16 dynamic loss scaling (train.precision = "fp16" on CUDA): whether it ran, the steps it
    /// skipped on non-finite gradients and the scale at the end. Written only when it ran.
    bool loss_scaling = false;
    std::int64_t skipped_steps = 0;
    double final_loss_scale = 0;
    /// The data's identity (data/load.hpp): SHA-256 of the source files, as read or as the
    /// cache recorded it; the cache file's SHA-256 when read from one; what the source was
    /// checked against. "" until the data is loaded (then not written).
    std::string dataset_sha256;
    std::string cache_sha256;
    std::string dataset_verification;
    std::string pretrained_sha256; ///< SHA-256 of the model.pretrained file; "" without one
    std::string start_time;        ///< ISO-8601 UTC
    std::string end_time;
    std::uint64_t sweep_seed = 0;
    std::uint64_t replicate_seed = 0;
    SeedStreams seeds;
};

/// Everything a replicate's result file holds.
struct ReplicateResult {
    std::string id;
    std::string status = "complete"; ///< "complete" or "failed"
    std::string error;               ///< the failure's message when status is "failed"
    Provenance provenance;
    std::vector<EpochRecord> history;
    std::int64_t samples = 0;              ///< N evaluation images
    std::int64_t dim = 0;                  ///< D embedding width
    std::int64_t classes = 0;              ///< K
    std::vector<float> embeddings;         ///< N x D, row-major
    std::vector<std::int64_t> labels;      ///< N
    std::vector<float> logits;             ///< N x K
    std::vector<std::int64_t> predictions; ///< N
    std::vector<std::string> class_names;  ///< K
    std::string layer = "avgpool";         ///< where the embeddings were taken
    /// model.extra_layers: entry as written -> (C, features N x C row-major; C * H * W when
    /// flattened): /eval/extra/<entry>. Their cosine statistics go to /metrics/features/<entry>.
    std::map<std::string, std::pair<std::int64_t, std::vector<float>>> extra;
    /// Rows of the final linear layer's weight (K x C, row-major): /model/class_vectors.
    std::vector<float> class_vectors;
};

/// This machine's host name.
std::string host_name();

/// Accuracy, per-class accuracy and the K x K confusion matrix (rows: true class, columns:
/// predicted) of `predictions` against `labels`. Classes with no sample get NaN accuracy.
struct Accuracy {
    double overall = 0;
    std::vector<double> per_class;
    std::vector<std::int64_t> confusion; ///< K x K, row-major
};
Accuracy accuracy_of(const std::vector<std::int64_t>& labels,
                     const std::vector<std::int64_t>& predictions, std::int64_t classes);

/// Writes `r` to `path` atomically following results-schema/replicate.toml; large datasets use
/// deflate level `compression` (0-9). `extra`, if set, adds more to the file before it is
/// published (the replicate's /metrics). Throws IoError.
void write_result_file(const std::string& path, const ReplicateResult& r, int compression,
                       const std::function<void(h5::File&)>& extra = {});

} // namespace sp
