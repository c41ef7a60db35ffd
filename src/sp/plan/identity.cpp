#include "sp/plan/identity.hpp"

#include "sp/config/fields.hpp"
#include "sp/config/value.hpp"
#include "sp/util/error.hpp"
#include "sp/util/hash.hpp"

#include <filesystem>

namespace sp {
namespace {

std::string line(const std::string& key, const std::string& value) {
    return key + " = " + value + "\n";
}

} // namespace

EffectiveSettings resolve_effective(const Experiment& e, bool cuda_available) {
    EffectiveSettings out;
    const bool cuda = e.train.device == DeviceChoice::cuda ||
                      (e.train.device == DeviceChoice::automatic && cuda_available);
    out.device = cuda ? "cuda" : "cpu";
    // The trainer autocasts bf16 on CUDA and the CPU, fp16 only on CUDA: a CPU run of an fp16
    // config computes in fp32.
    out.precision =
        cuda || e.train.precision == Precision::bf16 ? e.train.precision : Precision::fp32;
    return out;
}

std::string WeightsDigests::of(const std::string& path) {
    if (auto it = by_path_.find(path); it != by_path_.end()) return it->second;
    std::string digest;
    try {
        digest = file_sha256_hex(path);
    } catch (const IoError& err) {
        errors_[path] = std::string(err.what()) +
                        " (the replicate ID hashes the weights' contents: make the file with "
                        "scripts/convert_weights.py, or set model.pretrained = \"\" for random "
                        "initialisation)";
        if (!allow_missing_) throw ConfigError("model.pretrained: " + errors_[path]);
        missing_.push_back(path);
    }
    by_path_.emplace(path, digest);
    return digest;
}

std::string WeightsDigests::why_missing(const std::string& path) const {
    const auto it = errors_.find(path);
    return it == errors_.end() ? std::string() : it->second;
}

EffectiveSettings plan_effective(const Experiment& e, WeightsDigests& digests) {
    EffectiveSettings out = resolve_effective(e, /*cuda_available=*/false);
    if (!e.model.pretrained.empty()) out.pretrained_sha256 = digests.of(e.model.pretrained);
    return out;
}

EffectiveSettings plan_effective(const Experiment& e) {
    WeightsDigests digests;
    return plan_effective(e, digests);
}

std::vector<std::pair<std::string, std::string>>
condition_settings(const Experiment& e, const EffectiveSettings& run, std::uint64_t sweep_seed) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const Field& f : fields()) {
        if (f.key == "train.device") {
            out.emplace_back(f.key, value_to_toml(Value{run.device}));
        } else if (f.key == "train.precision") {
            out.emplace_back(f.key, value_to_toml(Value{std::string(enum_name(run.precision))}));
        } else if (f.key == "al.init") {
            const AlInit init = starts_from_baseline(e) ? AlInit::baseline : AlInit::pretrained;
            out.emplace_back(f.key, value_to_toml(Value{std::string(enum_name(init))}));
        } else if (f.identity) {
            out.emplace_back(f.key, value_to_toml(f.get(e)));
        } else if (f.key == "model.pretrained") {
            // By content; the file name stands in only where the contents are unknown (a dry
            // run without the file), and the "sha256:" prefix keeps the two forms apart.
            std::string weights;
            if (!run.pretrained_sha256.empty()) {
                weights = "sha256:" + run.pretrained_sha256;
            } else if (!e.model.pretrained.empty()) {
                weights = std::filesystem::path(e.model.pretrained).filename().string();
            }
            out.emplace_back(f.key, value_to_toml(Value{weights}));
        }
    }
    out.emplace_back("sweep.seed", std::to_string(sweep_seed));
    return out;
}

bool starts_from_baseline(const Experiment& e) {
    return e.al.init == AlInit::baseline && e.al.strategy != Strategy::baseline;
}

bool omitted_from_identity(const std::string& key, const std::string& value) {
    // Keys added after IDs were published enter only when they change what runs: at the value
    // that does what every replicate did before the key existed they add no line, so earlier
    // IDs (and results) stay valid.
    return (key == "al.init" && value == "\"pretrained\"") ||
           (key == "metrics.tsne.compat" && value == "\"sp\"") ||
           (key == "metrics.tsne.init" && value == "\"pca\"") ||
           (key == "al.pool_subset" && value == "0");
}

std::string condition_key(const Experiment& e, const EffectiveSettings& run,
                          std::uint64_t sweep_seed) {
    std::string out;
    for (const auto& [key, value] : condition_settings(e, run, sweep_seed)) {
        if (!omitted_from_identity(key, value)) out += line(key, value);
    }
    return out;
}

std::string replicate_identity_text(const Experiment& e, const EffectiveSettings& run,
                                    std::uint64_t sweep_seed, std::uint64_t replicate_seed) {
    std::string text = condition_key(e, run, sweep_seed);
    if (starts_from_baseline(e)) {
        // Per seed, so not in the condition: another baseline is another replicate.
        if (run.baseline_id.empty()) {
            throw ConfigError("al.init: \"baseline\": the replicate ID names the paired "
                              "baseline's ID, which only the plan of a sweep holding that "
                              "baseline knows");
        }
        text += line("al.init_baseline", value_to_toml(Value{run.baseline_id}));
    }
    return text + line("replicate.seed", std::to_string(replicate_seed));
}

std::string replicate_id(const Experiment& e, const EffectiveSettings& run,
                         std::uint64_t sweep_seed, std::uint64_t replicate_seed) {
    return sha256_hex(replicate_identity_text(e, run, sweep_seed, replicate_seed), 8);
}

std::string replicate_id(const Experiment& e, std::uint64_t sweep_seed,
                         std::uint64_t replicate_seed) {
    return replicate_id(e, plan_effective(e), sweep_seed, replicate_seed);
}

bool is_context_key(const std::string& key) {
    return key.rfind("al.", 0) != 0 && key != "train.shuffle";
}

std::string context_key(const Experiment& e, const EffectiveSettings& run,
                        std::uint64_t sweep_seed) {
    std::string out;
    for (const auto& [key, value] : condition_settings(e, run, sweep_seed)) {
        if (is_context_key(key)) out += line(key, value);
    }
    return out;
}

} // namespace sp
