#include "sp/sweep/result_file.hpp"

#include "sp/io/atomic.hpp"
#include "sp/io/h5.hpp"
#include "sp/util/error.hpp"
#include "sp/util/version.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace sp {
namespace {

// 2: /provenance gained the run-time facts (CPU/GPU model, CUDA, BLAS, compiler, environment)
// and device_name became the device's model (results-schema/README.md, "Versions").
constexpr std::int32_t kSchemaVersion = 2;
// Rows of embeddings per chunk: about 1 MiB for D = 512 floats.
constexpr std::uint64_t kRowsPerChunk = 512;

h5::DatasetOptions matrix_options(std::uint64_t rows, std::uint64_t cols, int compression) {
    h5::DatasetOptions o;
    if (rows > 0 && cols > 0) {
        o.chunk = {std::min(rows, kRowsPerChunk), cols};
        o.deflate = compression;
        o.shuffle = compression > 0;
    }
    return o;
}

void write_provenance(h5::File& f, const Provenance& p) {
    h5::Group g = f.create_group("/provenance");
    g.write_attribute("config_toml", p.config_toml);
    g.write_attribute("sweep_name", p.sweep_name);
    g.write_attribute("hostname", p.hostname);
    g.write_attribute("device", p.device);
    g.write_attribute("device_name", p.device_name);
    g.write_attribute("libtorch_version", p.libtorch_version);
    g.write_attribute("cpu_model", p.cpu_model);
    g.write_attribute("gpu_model", p.gpu_model);
    g.write_attribute("cuda_version", p.cuda_version);
    g.write_attribute("cudnn_version", p.cudnn_version);
    g.write_attribute("cuda_driver", p.cuda_driver);
    g.write_attribute("blas", p.blas);
    g.write_attribute("cpu_capability", p.cpu_capability);
    g.write_attribute("compiler", compiler());
    g.write_attribute("compiler_flags", compiler_flags());
    g.write_attribute("build_type", build_type());
    g.write_attribute("environment", p.environment);
    g.write_attribute("hdf5_version", hdf5_version());
    g.write_attribute("mpi_version", mpi_library_version());
    g.write_attribute("deterministic", static_cast<std::uint8_t>(p.deterministic ? 1 : 0));
    g.write_attribute("threads", static_cast<std::int32_t>(p.threads));
    g.write_attribute("ranks", static_cast<std::int32_t>(p.ranks));
    if (!p.thread_changes.empty()) g.write_attribute("thread_changes", p.thread_changes);
    if (!p.version_changes.empty()) g.write_attribute("version_changes", p.version_changes);
    if (p.loss_scaling) {
        g.write_attribute("fp16_skipped_steps", static_cast<std::int64_t>(p.skipped_steps));
        g.write_attribute("fp16_final_loss_scale", p.final_loss_scale);
    }
    if (!p.dataset_sha256.empty()) {
        g.write_attribute("dataset_sha256", p.dataset_sha256);
        g.write_attribute("dataset_verification", p.dataset_verification);
    }
    if (!p.cache_sha256.empty()) g.write_attribute("cache_sha256", p.cache_sha256);
    if (!p.pretrained_sha256.empty()) g.write_attribute("pretrained_sha256", p.pretrained_sha256);
    g.write_attribute("start_time", p.start_time);
    g.write_attribute("end_time", p.end_time);
    g.write_attribute("sweep_seed", p.sweep_seed);
    g.write_attribute("replicate_seed", p.replicate_seed);
    h5::Group s = f.create_group("/provenance/seeds");
    s.write_attribute("seed_pool", p.seeds.pool);
    s.write_attribute("seed_init", p.seeds.init);
    s.write_attribute("seed_data", p.seeds.data);
    s.write_attribute("seed_dropout", p.seeds.dropout);
    s.write_attribute("seed_tsne", p.seeds.tsne);
}

void write_eval(h5::File& f, const ReplicateResult& r, int compression) {
    const auto n = static_cast<std::uint64_t>(r.samples);
    const auto d = static_cast<std::uint64_t>(r.dim);
    const auto k = static_cast<std::uint64_t>(r.classes);
    SP_CHECK(r.embeddings.size() == n * d, "embeddings are N x D");
    SP_CHECK(r.labels.size() == n, "one label per sample");
    h5::Group g = f.create_group("/eval");
    g.write_attribute("layer", r.layer);
    g.write("embeddings", r.embeddings, {n, d}, matrix_options(n, d, compression));
    g.write("labels", r.labels);
    if (!r.logits.empty()) {
        SP_CHECK(r.logits.size() == n * k, "logits are N x K");
        g.write("logits", r.logits, {n, k}, matrix_options(n, k, compression));
    }
    if (!r.predictions.empty()) {
        g.write("predictions", r.predictions);
        const Accuracy a = accuracy_of(r.labels, r.predictions, r.classes);
        g.write_attribute("accuracy", a.overall);
        g.write("per_class_accuracy", a.per_class);
        g.write("confusion", a.confusion, {k, k});
    }
    if (!r.class_names.empty()) g.write("class_names", r.class_names);
    for (const auto& [name, layer] : r.extra) {
        const auto width = static_cast<std::uint64_t>(layer.first);
        SP_CHECK(layer.second.size() == n * width, "extra layer features are N x C");
        g.require_group("extra").write(name, layer.second, {n, width},
                                       matrix_options(n, width, compression));
    }
}

} // namespace

std::string host_name() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
    return buf;
}

Accuracy accuracy_of(const std::vector<std::int64_t>& labels,
                     const std::vector<std::int64_t>& predictions, std::int64_t classes) {
    SP_CHECK(labels.size() == predictions.size(), "one prediction per label");
    const auto k = static_cast<std::size_t>(classes);
    Accuracy a;
    a.confusion.assign(k * k, 0);
    std::vector<std::int64_t> right(k, 0), total(k, 0);
    std::int64_t correct = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const auto y = static_cast<std::size_t>(labels[i]);
        const auto p = static_cast<std::size_t>(predictions[i]);
        SP_CHECK(y < k && p < k, "labels and predictions are class indices");
        ++a.confusion[y * k + p];
        ++total[y];
        if (y == p) {
            ++right[y];
            ++correct;
        }
    }
    a.overall = labels.empty() ? std::numeric_limits<double>::quiet_NaN()
                               : static_cast<double>(correct) / static_cast<double>(labels.size());
    for (std::size_t c = 0; c < k; ++c) {
        a.per_class.push_back(total[c] == 0
                                  ? std::numeric_limits<double>::quiet_NaN()
                                  : static_cast<double>(right[c]) / static_cast<double>(total[c]));
    }
    return a;
}

void write_result_file(const std::string& path, const ReplicateResult& r, int compression,
                       const std::function<void(h5::File&)>& extra) {
    io::AtomicH5File out(path);
    h5::File& f = out.file();
    f.write_attribute("schema_version", kSchemaVersion);
    f.write_attribute("sp_version", version());
    f.write_attribute("git_revision", git_revision());
    f.write_attribute("file_kind", "replicate");
    f.write_attribute("replicate_id", r.id);
    f.write_attribute("status", r.status);
    if (r.status == "failed") f.write_attribute("error", r.error);
    write_provenance(f, r.provenance);
    if (!r.history.empty()) write_history(f, "/history", r.history);
    if (r.status == "complete") write_eval(f, r, compression);
    if (!r.class_vectors.empty()) {
        const auto k = static_cast<std::uint64_t>(r.classes);
        SP_CHECK(k > 0 && r.class_vectors.size() % k == 0, "class vectors are K x C");
        f.write("/model/class_vectors", r.class_vectors, {k, r.class_vectors.size() / k});
    }
    if (extra) extra(f);
    out.commit();
}

} // namespace sp
