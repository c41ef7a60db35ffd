#include "sp/plan/identity.hpp"

#include "sp/config/fields.hpp"
#include "sp/config/value.hpp"
#include "sp/util/hash.hpp"

#include <filesystem>

namespace sp {
namespace {

std::string line(const std::string& key, const std::string& value) {
    return key + " = " + value + "\n";
}

std::string lines(const std::vector<std::pair<std::string, std::string>>& settings) {
    std::string out;
    for (const auto& [key, value] : settings) out += line(key, value);
    return out;
}

} // namespace

EffectiveSettings resolve_effective(const Experiment& e, bool cuda_available) {
    EffectiveSettings out;
    const bool cuda = e.train.device == DeviceChoice::cuda ||
                      (e.train.device == DeviceChoice::automatic && cuda_available);
    out.device = cuda ? "cuda" : "cpu";
    // The trainer autocasts only on CUDA; a CPU run computes in fp32 whatever the config says.
    out.precision = cuda ? e.train.precision : Precision::fp32;
    return out;
}

EffectiveSettings plan_effective(const Experiment& e) {
    return resolve_effective(e, /*cuda_available=*/false);
}

std::vector<std::pair<std::string, std::string>>
condition_settings(const Experiment& e, const EffectiveSettings& run, std::uint64_t sweep_seed) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const Field& f : fields()) {
        if (f.key == "train.device") {
            out.emplace_back(f.key, value_to_toml(Value{run.device}));
        } else if (f.key == "train.precision") {
            out.emplace_back(f.key, value_to_toml(Value{std::string(enum_name(run.precision))}));
        } else if (f.identity) {
            out.emplace_back(f.key, value_to_toml(f.get(e)));
        } else if (f.key == "model.pretrained") {
            const std::string base = std::filesystem::path(e.model.pretrained).filename().string();
            out.emplace_back(f.key, value_to_toml(Value{base}));
        }
    }
    out.emplace_back("sweep.seed", std::to_string(sweep_seed));
    return out;
}

std::string condition_key(const Experiment& e, const EffectiveSettings& run,
                          std::uint64_t sweep_seed) {
    return lines(condition_settings(e, run, sweep_seed));
}

std::string replicate_identity_text(const Experiment& e, const EffectiveSettings& run,
                                    std::uint64_t sweep_seed, std::uint64_t replicate_seed) {
    return condition_key(e, run, sweep_seed) +
           line("replicate.seed", std::to_string(replicate_seed));
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
