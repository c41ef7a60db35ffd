#include "sp/data/load.hpp"

#include "sp/config/dataset_facts.hpp"
#include "sp/data/cache.hpp"
#include "sp/data/readers.hpp"
#include "sp/data/subset.hpp"
#include "sp/data/verify.hpp"
#include "sp/util/clock.hpp"
#include "sp/util/error.hpp"
#include "sp/util/hash.hpp"
#include "sp/util/log.hpp"
#include "sp/util/rng.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <system_error>

namespace sp {
namespace {

bool is_directory(const std::string& path) {
    std::error_code ec;
    return !path.empty() && std::filesystem::is_directory(path, ec);
}

/// The time since `start` as "1.23 s", for log lines.
std::string seconds_text(std::chrono::steady_clock::time_point start) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f s", seconds_since(start));
    return buf;
}

std::string image_counts(const DataSplits& d) {
    return std::to_string(d.train.count) + " training + " + std::to_string(d.eval.count) +
           " evaluation images";
}

// Why the cache cannot stand for the source, or "" when it can. `checked` says whether the
// fingerprint was compared (it is not when the source directory is absent).
std::string stale_reason(const CacheInfo& info, const DatasetConfig& cfg, const std::string& root,
                         bool& checked) {
    checked = false;
    if (info.dataset != cfg.name) return "it holds dataset '" + info.dataset + "'";
    if (cfg.name != "synthetic" && !is_directory(root)) return "";
    if (info.source_fingerprint.empty()) return "it records no source fingerprint";
    checked = true;
    if (info.source_fingerprint != current_fingerprint(cfg.name, root, cfg.synthetic, cfg.cache)) {
        if (cfg.name == "synthetic") return "it was made with other dataset.synthetic settings";
        return "the files in " + root + " changed since it was made (" + info.created + ")";
    }
    return "";
}

ImageSet cut(const ImageSet& set, std::int64_t n, const DatasetConfig& cfg, std::int64_t classes,
             std::uint64_t seed, const std::string& what) {
    if (n == 0) return set;
    const std::vector<std::int64_t> idx =
        cfg.subset == "first" ? select_first(set.count, n, what)
                              : select_stratified(set.labels, classes, n, seed, what);
    return apply_subset(set, idx);
}

} // namespace

std::string dataset_root(const DatasetConfig& cfg) {
    if (!cfg.root.empty()) return cfg.root;
    return dataset_facts(cfg.name, cfg.synthetic).default_root;
}

std::string current_fingerprint(const std::string& name, const std::string& root,
                                const SyntheticConfig& synthetic, const std::string& exclude) {
    if (name == "synthetic") return synthetic_checksum(synthetic);
    return source_fingerprint(root, exclude);
}

DataSplits read_source(const std::string& name, const std::string& root,
                       const SyntheticConfig& synthetic, int threads, bool allow_unverified) {
    dataset_facts(name, synthetic); // ConfigError for an unknown name, before touching files
    DataSplits d;
    if (name == "synthetic") {
        d = make_synthetic(synthetic);
    } else {
        if (root.empty()) {
            throw DataError("dataset " + name + ": no dataset.root given and " + name +
                            " has no default location (set dataset.root)");
        }
        if (!is_directory(root)) {
            throw DataError("dataset " + name + ": " + root +
                            ": no such directory (set dataset.root)");
        }
        // Before decoding: a file that differs from the manifest is reported as such, not as
        // whatever the decoder makes of it.
        const std::string verification = verify_manifest(root, allow_unverified);
        if (name == "fashion-mnist" || name == "mnist") {
            d = read_idx_dataset(root, name);
        } else if (name == "cifar10") {
            d = read_cifar10(root);
        } else if (name == "tiny-imagenet") {
            d = read_tiny_imagenet(root, threads);
        } else {
            throw ConfigError("dataset.name: no reader for dataset \"" + name + "\"");
        }
        d.verification = verification;
    }
    check_against_facts(d, name, synthetic);
    return d;
}

void check_against_facts(const DataSplits& d, const std::string& name,
                         const SyntheticConfig& synthetic) {
    const DatasetFacts f = dataset_facts(name, synthetic);
    const std::string where = "dataset " + name + ": " + d.source + ": ";
    const auto shape = [](const ImageSet& s) {
        return std::to_string(s.channels) + " x " + std::to_string(s.height) + " x " +
               std::to_string(s.width);
    };
    const std::string expected = std::to_string(f.channels) + " x " + std::to_string(f.image_size) +
                                 " x " + std::to_string(f.image_size);
    if (static_cast<std::int64_t>(d.class_names.size()) != f.classes) {
        throw DataError(where + std::to_string(d.class_names.size()) + " classes, " + name +
                        " has " + std::to_string(f.classes));
    }
    for (const auto& [split, s] :
         {std::pair<const char*, const ImageSet*>{"training", &d.train},
          std::pair<const char*, const ImageSet*>{"evaluation", &d.eval}}) {
        if (s->channels != f.channels || s->height != f.image_size || s->width != f.image_size) {
            throw DataError(where + split + " images are " + shape(*s) + ", " + name +
                            " images are " + expected);
        }
        if (s->pixels.size() != static_cast<std::size_t>(s->count * s->image_bytes()) ||
            s->labels.size() != static_cast<std::size_t>(s->count)) {
            throw DataError(where + split + " split: " + std::to_string(s->count) + " images but " +
                            std::to_string(s->pixels.size()) + " pixel bytes and " +
                            std::to_string(s->labels.size()) + " labels");
        }
        for (std::size_t i = 0; i < s->labels.size(); ++i) {
            if (s->labels[i] < 0 || s->labels[i] >= f.classes) {
                throw DataError(where + split + " image " + std::to_string(i) + ": label " +
                                std::to_string(s->labels[i]) + " is outside [0, " +
                                std::to_string(f.classes) + ")");
            }
        }
    }
}

DataSplits load_dataset(const DatasetConfig& cfg, std::uint64_t pool_seed, int threads) {
    const DatasetFacts facts = dataset_facts(cfg.name, cfg.synthetic);
    if (cfg.subset != "first" && cfg.subset != "stratified") {
        throw ConfigError("dataset.subset: \"" + cfg.subset + "\" is not first or stratified");
    }
    const std::string root = dataset_root(cfg);
    const bool synthetic = cfg.name == "synthetic";
    const std::string fallback = synthetic ? std::string("generating it") : "reading " + root;
    const std::string prefix = "dataset " + cfg.name + ": ";
    const auto start = std::chrono::steady_clock::now();

    DataSplits d;
    bool from_cache = false;
    if (!cfg.cache.empty()) {
        std::error_code ec;
        if (!std::filesystem::exists(cfg.cache, ec)) {
            log::warn(prefix + "cache " + cfg.cache + " not found; " + fallback);
        } else {
            const CacheInfo info = read_cache_info(cfg.cache);
            bool checked = false;
            const std::string why = stale_reason(info, cfg, root, checked);
            if (why.empty()) {
                d = read_cache(cfg.cache, cfg.name);
                d.cache_sha256 = file_sha256_hex(cfg.cache); // which cache, for provenance
                from_cache = true;
                log::info(prefix + "using cache " + cfg.cache + " (" + image_counts(d) + ", made " +
                          info.created + " from " + info.source + "; " +
                          (checked ? "source fingerprint matches"
                                   : "source " + root + " not found, not checked") +
                          "; read in " + seconds_text(start) + ")");
            } else {
                log::warn(prefix + "cache " + cfg.cache + " is stale: " + why + "; " + fallback);
            }
        }
    }
    if (from_cache) {
        check_against_facts(d, cfg.name, cfg.synthetic);
    } else {
        d = read_source(cfg.name, root, cfg.synthetic, threads);
        log::info(prefix + (synthetic ? "generated" : "read " + root) + " (" + image_counts(d) +
                  ") in " + seconds_text(start));
    }

    // Training and evaluation subsets get their own seeds from the pool stream, so a different
    // training subset size never changes which evaluation images are drawn.
    d.train = cut(d.train, cfg.train_subset, cfg, facts.classes, mix_seed(pool_seed, 1),
                  "dataset.train_subset (" + cfg.name + " training split)");
    d.eval = cut(d.eval, cfg.eval_subset, cfg, facts.classes, mix_seed(pool_seed, 2),
                 "dataset.eval_subset (" + cfg.name + " evaluation split)");
    return d;
}

} // namespace sp
