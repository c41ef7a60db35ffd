#pragma once
/// What a trained model says about a set of images, without gradients: the evaluation set's
/// embeddings, logits and predictions (the replicate's result), and the unlabelled pool's
/// logits, embeddings and MC-dropout probabilities (what an active-learning query scores).
///
///     sp::EvalOutputs e = sp::embed(model, eval_loader, device, cfg.model.extra_layers);
///     sp::Analysis a = sp::analyze(sp::analysis_input(e), cfg.metrics, seed, threads);
///     sp::PoolOutputs p = sp::pool_outputs(model, train, pool, spec, loader_options,
///                                          {/*batch_size=*/512, /*mc_samples=*/20, seed}, device);

#include "sp/data/batches.hpp"
#include "sp/metrics/analyze.hpp"
#include "sp/model/resnet.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sp {

/// The evaluation set as the model sees it, in loader order; float32 and int64 copies on the CPU.
struct EvalOutputs {
    std::int64_t samples = 0;              ///< N images
    std::int64_t dim = 0;                  ///< D penultimate (avgpool) width
    std::int64_t classes = 0;              ///< K
    std::vector<float> embeddings;         ///< N x D, row-major
    std::vector<float> logits;             ///< N x K
    std::vector<std::int64_t> labels;      ///< N
    std::vector<std::int64_t> predictions; ///< N, argmax of the logits (first on ties)
    /// Requested extra features (model.extra_layers entries as written) -> (C, rows N x C
    /// row-major): C channels when pooled, C * H * W when flattened (model/resnet.hpp).
    std::map<std::string, std::pair<std::int64_t, std::vector<float>>> extra;
    std::vector<float> class_vectors; ///< rows of the final linear layer's weight, K x D
};

/// Runs `model` in eval mode without gradients over epoch 0 of `loader` (which should not
/// shuffle) and returns its outputs, with the features `extra_layers` name (model.extra_layers
/// entries, parse_feature_spec()) and the class vectors (fc.weight). Leaves the model in eval
/// mode. Throws ConfigError for an entry that names no module.
EvalOutputs embed(ResNet18& model, BatchLoader& loader, torch::Device device,
                  const std::vector<std::string>& extra_layers);

/// The metrics' view of `e`, its extra features as feature sets (pointers into it: `e` must
/// outlive the result).
AnalysisInput analysis_input(const EvalOutputs& e);

/// How pool_outputs() batches and samples.
struct PoolScoring {
    std::int64_t batch_size = 512;
    std::int64_t mc_samples = 0;    ///< stochastic (dropout) passes per batch; 0: none
    std::uint64_t dropout_seed = 0; ///< seeds the MC-dropout passes (unused without them)
};

/// Model outputs over a list of training images, unaugmented, in list order.
struct PoolOutputs {
    torch::Tensor logits;     ///< n x K float32
    torch::Tensor embeddings; ///< n x D float32
    torch::Tensor mc_probs;   ///< T x n x K float32 softmax probabilities (with mc_samples only)
};

/// Outputs of `model` for `images[indices]` (eval-mode loader built from `base`, unshuffled,
/// batch size `scoring.batch_size`). With mc_samples > 0, each batch also gets that many
/// softmax passes with only the "dropout" module in training mode (BatchNorm stays in eval):
/// the trunk runs once per batch and each pass runs only model->head() on its features, which
/// gives the probabilities of a full model->forward() per pass bit for bit (the same dropout
/// masks, drawn in the same order); see the .cpp for what happens to LibTorch's generators.
/// Calls throw_if_stop_requested() (util/signals.hpp) before each batch: a stop signal ends
/// the scoring with StopRequested within one batch. Leaves the model in eval mode, and the CPU
/// generator restored, also when it throws.
PoolOutputs pool_outputs(ResNet18& model, const ImageSet& images,
                         const std::vector<std::int64_t>& indices, const TransformSpec& spec,
                         const LoaderOptions& base, const PoolScoring& scoring,
                         torch::Device device);

/// The values of `t` (any layout) as a flat vector in row-major order; T must be its dtype.
template <class T> std::vector<T> tensor_values(const torch::Tensor& t) {
    const torch::Tensor c = t.contiguous();
    return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

} // namespace sp
