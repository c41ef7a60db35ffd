#pragma once
/// What sp knows about each dataset before reading it: sizes, classes, image shape, default
/// location and the standard normalisation. Configuration knowledge: the loaders (data/) validate
/// files against these, and the planner (plan/) sizes work with them without reading data.
///
///     const sp::DatasetFacts& f = sp::dataset_facts("cifar10");   // 50000 / 10000, 10 classes

#include "sp/config/experiment.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace sp {

/// The fixed facts of one dataset (sizes in images, shape in pixels); see dataset_facts().
struct DatasetFacts {
    std::string name;
    std::int64_t train_size = 0;
    std::int64_t eval_size = 0;
    std::int64_t classes = 0;
    std::int64_t image_size = 0; ///< native side in pixels
    std::int64_t channels = 0;
    std::string default_root; ///< "" when there is no standard location
    std::vector<double> mean; ///< per channel, the usual published constants
    std::vector<double> std;
};

/// Facts for a dataset name accepted by `dataset.name`; throws ConfigError for another name.
/// For "synthetic" the sizes come from `synthetic`.
DatasetFacts dataset_facts(const std::string& name, const SyntheticConfig& synthetic = {});

/// Training and evaluation set sizes after dataset.train_subset / eval_subset.
std::int64_t effective_train_size(const DatasetConfig& d);
std::int64_t effective_eval_size(const DatasetConfig& d);

} // namespace sp
