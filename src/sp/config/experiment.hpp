#pragma once
/// The configuration of one experiment (one replicate once seeded), as plain structs with the
/// defaults sp uses when a sweep file says nothing. Every field has a key in the registry
/// (config/fields.hpp) that documents it, type-checks it and gives its range.
///
///     sp::Experiment e;                 // all defaults
///     e.train.epochs = 2;
///     std::string text = sp::to_toml(e);

#include "sp/config/enums.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace sp {

/// Shapes of the synthetic dataset (tests and benchmarks).
struct SyntheticConfig {
    std::int64_t classes = 10;
    std::int64_t train_size = 1000;
    std::int64_t eval_size = 200;
    std::int64_t image_size = 32; ///< side in pixels
    std::int64_t channels = 3;
};

/// Which data, where it lives, and how it is transformed.
struct DatasetConfig {
    /// fashion-mnist | mnist | cifar10 | tiny-imagenet | synthetic
    std::string name = "fashion-mnist";
    std::string root;              ///< directory of the on-disk format; "" = dataset default
    std::string cache;             ///< HDF5 cache made by sp_prepare; "" = none
    std::int64_t train_subset = 0; ///< training images used; 0 = all
    std::int64_t eval_subset = 0;  ///< evaluation images used; 0 = all
    std::string subset = "first";  ///< first | stratified (random, from the pool stream)
    std::int64_t resize = 0;       ///< bilinear resize to this side; 0 = native size
    std::vector<double> mean;      ///< per-channel normalisation; empty = dataset standard
    std::vector<double> std;       ///< per-channel normalisation; empty = dataset standard
    bool augment = false;          ///< random crop with padding + horizontal flip
    std::int64_t crop_padding = 4; ///< pixels of zero padding before the random crop
    bool hflip = true;             ///< horizontal flip with p = 0.5 when augmenting
    bool channels_last = false;    ///< batches in channels_last memory format
    SyntheticConfig synthetic;
};

/// The network.
struct ModelConfig {
    std::string arch = "resnet18"; ///< resnet18
    std::string stem = "imagenet"; ///< imagenet (7x7/2 + max pool) | cifar (3x3/1, no pool)
    double width = 1.0;            ///< channel multiplier (1.0 = torchvision's 64..512)
    std::string pretrained;        ///< torchvision state_dict saved as a plain dict; "" = none
    double dropout = 0.0;          ///< dropout before fc (MC dropout for BALD)
    std::int64_t num_classes = 0;  ///< 0 = the dataset's class count
    /// More features saved (and their cosine statistics computed): "<module>[:pool|:flatten]"
    /// or "notebook:layer4.1.conv2" (model/resnet.hpp parse_feature_spec)
    std::vector<std::string> extra_layers;
};

/// Optimisation.
struct TrainConfig {
    Optimizer optimizer = Optimizer::adam;
    double lr = 1e-3;
    double momentum = 0.9; ///< sgd only
    bool nesterov = false; ///< sgd only
    double weight_decay = 0.0;
    Schedule schedule = Schedule::constant;
    std::int64_t warmup_epochs = 0; ///< linear warmup before the schedule
    std::int64_t step_size = 10;    ///< epochs between decays (step schedule)
    double gamma = 0.1;             ///< decay factor (step schedule)
    std::int64_t epochs = 20;
    std::int64_t batch_size = 128;
    std::int64_t eval_batch_size = 512;
    double label_smoothing = 0.0;
    Precision precision = Precision::fp32; ///< autocast (bf16: CUDA and CPU; fp16: CUDA only)
    bool deterministic = true;             ///< deterministic algorithms, cuDNN benchmark off
    bool shuffle = true;                   ///< shuffle the training order each epoch
    DeviceChoice device = DeviceChoice::automatic;
    std::int64_t checkpoint_every = 1; ///< epochs between checkpoints; 0 = only at the end
    /// Epochs between evaluations of the evaluation set (the /history eval_accuracy); a round's
    /// last epoch is always evaluated; the others record NaN. Not in the ID (no final number
    /// depends on it).
    std::int64_t eval_every = 1;
};

/// Active learning. strategy = "baseline" trains once on all data.
struct AlConfig {
    Strategy strategy = Strategy::baseline;
    std::int64_t initial = 5000; ///< size of the initial labelled pool
    InitialSampling initial_sampling = InitialSampling::uniform;
    std::int64_t query = 5000;         ///< images labelled per round
    std::int64_t rounds = 0;           ///< query rounds; 0 = until the pool is empty
    StartMode start = StartMode::warm; ///< warm: model and optimizer go on; cold: re-initialise
    /// Where the first round starts: the built weights, or the paired baseline's final weights.
    AlInit init = AlInit::pretrained;
    std::int64_t epochs = 0;      ///< epochs per round; 0 = train.epochs
    std::int64_t mc_samples = 20; ///< stochastic passes for BALD
    std::int64_t score_batch_size = 512;
    /// Unlabelled images scored per round: a seeded random subset of this many (the rest are
    /// not candidates that round); 0 scores the whole unlabelled pool.
    std::int64_t pool_subset = 0;
    bool round_metrics = false;     ///< full metrics of every round's embeddings
    bool save_pool_outputs = false; ///< store each query's pool logits, embeddings, MC samples
};

/// t-SNE settings (scikit-learn's defaults).
struct TsneConfig {
    bool enabled = true;
    double perplexity = 30.0;
    std::int64_t iterations = 1000;
    TsneMethod method = TsneMethod::barnes_hut;
    double theta = 0.5;
    std::int64_t seed = -1; ///< -1 = the replicate's t-SNE seed stream; >= 0 fixes it
    /// sp | sklearn: t-SNE as scikit-learn 1.2.1 runs it (metrics/tsne.hpp)
    std::string compat = "sp";
    /// pca | random: the starting map (random: N(0, 1e-4^2) from the t-SNE seed)
    std::string init = "pca";
};

/// The analysis stage.
struct MetricsConfig {
    std::int64_t cosine_bins = 50;
    bool cosine_full_matrix = false; ///< the paper's variant: N x N, diagonal included
    std::vector<std::string> spaces = {"raw", "tsne"}; ///< where silhouette and DB are computed
    bool silhouette_per_sample = false;
    TsneConfig tsne;
};

/// Where results go. Not part of a replicate's identity.
struct OutputConfig {
    std::string dir = "results";
    std::int64_t compression = 4; ///< deflate level 0-9 for large datasets
    bool save_embeddings = true;
};

/// One experiment: everything a replicate needs except its seeds.
struct Experiment {
    DatasetConfig dataset;
    ModelConfig model;
    TrainConfig train;
    AlConfig al;
    MetricsConfig metrics;
    OutputConfig output;
};

} // namespace sp
