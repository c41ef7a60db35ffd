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

} // namespace

std::string replicate_identity_text(const Experiment& e, std::uint64_t sweep_seed,
                                    std::uint64_t replicate_seed) {
    std::string out;
    for (const Field& f : fields()) {
        if (f.identity) {
            out += line(f.key, value_to_toml(f.get(e)));
        } else if (f.key == "model.pretrained") {
            const std::string base = std::filesystem::path(e.model.pretrained).filename().string();
            out += line(f.key, value_to_toml(Value{base}));
        }
    }
    out += line("sweep.seed", std::to_string(sweep_seed));
    out += line("replicate.seed", std::to_string(replicate_seed));
    return out;
}

std::string replicate_id(const Experiment& e, std::uint64_t sweep_seed,
                         std::uint64_t replicate_seed) {
    return sha256_hex(replicate_identity_text(e, sweep_seed, replicate_seed), 8);
}

std::vector<std::pair<std::string, std::string>> condition_settings(const Experiment& e) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const Field& f : fields()) {
        if (f.identity) out.emplace_back(f.key, value_to_toml(f.get(e)));
    }
    return out;
}

std::string condition_key(const Experiment& e) {
    std::string out;
    for (const auto& [key, value] : condition_settings(e)) out += line(key, value);
    return out;
}

bool is_context_key(const std::string& key) {
    return key.rfind("al.", 0) != 0 && key != "train.shuffle";
}

std::string context_key(const Experiment& e) {
    std::string out;
    for (const auto& [key, value] : condition_settings(e)) {
        if (is_context_key(key)) out += line(key, value);
    }
    return out;
}

} // namespace sp
