#pragma once
/// A replicate's model as it starts training: initialised from the init seed stream, with the
/// pretrained trunk of model.pretrained when one is named (and a new classifier).
///
///     sp::ResNet18 model = sp::build_model(cfg.model, facts.classes, seeds.init, device);
///     sp::reinitialise(model, cfg.model, seeds.init);   // a cold-start round: as built again

#include "sp/config/experiment.hpp"
#include "sp/model/resnet.hpp"

#include <torch/torch.h>

#include <cstdint>

namespace sp {

/// A ResNet-18 for `classes` classes initialised from `init_seed`, model.pretrained's weights
/// loaded (fc skipped, the paper's protocol), moved to `device`. Throws ConfigError on bad
/// options or a bad weight file.
ResNet18 build_model(const ModelConfig& cfg, std::int64_t classes, std::uint64_t init_seed,
                     torch::Device device);

/// Puts `model` back to its built state: parameters re-initialised from `init_seed`, then the
/// pretrained trunk again. Throws as build_model does.
void reinitialise(ResNet18& model, const ModelConfig& cfg, std::uint64_t init_seed);

} // namespace sp
