#include "sp/config/dataset_facts.hpp"

#include "sp/util/error.hpp"

#include <algorithm>

namespace sp {

DatasetFacts dataset_facts(const std::string& name, const SyntheticConfig& synthetic) {
    // Normalisation constants: Fashion-MNIST and MNIST are the usual single-channel statistics of
    // their training sets; CIFAR-10's are the ones the paper's notebooks use (std 0.2023, ... is
    // the widespread variant, not the exact training-set std); Tiny ImageNet uses ImageNet's.
    if (name == "fashion-mnist") {
        return {name,     60000,   10000, 10, 28, 1, "/usr/share/datasets/fashion-mnist",
                {0.2860}, {0.3530}};
    }
    if (name == "mnist") return {name, 60000, 10000, 10, 28, 1, "", {0.1307}, {0.3081}};
    if (name == "cifar10") {
        return {
            name, 50000, 10000, 10, 32, 3, "", {0.4914, 0.4822, 0.4465}, {0.2023, 0.1994, 0.2010}};
    }
    if (name == "tiny-imagenet") {
        return {name, 100000, 10000, 200, 64, 3, "", {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}};
    }
    if (name == "synthetic") {
        return {name,
                synthetic.train_size,
                synthetic.eval_size,
                synthetic.classes,
                synthetic.image_size,
                synthetic.channels,
                "",
                std::vector<double>(static_cast<std::size_t>(synthetic.channels), 0.5),
                std::vector<double>(static_cast<std::size_t>(synthetic.channels), 0.25)};
    }
    throw ConfigError("dataset.name: unknown dataset \"" + name + "\"");
}

std::int64_t effective_train_size(const DatasetConfig& d) {
    const std::int64_t n = dataset_facts(d.name, d.synthetic).train_size;
    return d.train_subset > 0 ? std::min(n, d.train_subset) : n;
}

std::int64_t effective_eval_size(const DatasetConfig& d) {
    const std::int64_t n = dataset_facts(d.name, d.synthetic).eval_size;
    return d.eval_subset > 0 ? std::min(n, d.eval_subset) : n;
}

} // namespace sp
