#pragma once
/// Checkpoints: everything a replicate needs to continue bit-identically, in one HDF5 file
/// written atomically (name.tmp, fsync, rename): parameters and buffers by name (readable with
/// h5py), the optimizer's state, the LibTorch CPU (and CUDA) generator states, the position in
/// training and the history so far.
///
///     sp::TrainState s{.epoch = 3, ...};
///     sp::save_checkpoint(path, replicate_id, *model, *optimizer, s);
///     if (auto s = sp::load_checkpoint(path, replicate_id, *model, *optimizer)) { ... }

#include "sp/io/h5.hpp"
#include "sp/train/history.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sp {

/// Writes a checkpoint of `model`, `optimizer`, the generator states and `state` to `path`
/// atomically; `extra`, if set, adds the caller's own state (the active-learning pool) before
/// the file is published. Throws IoError.
void save_checkpoint(const std::string& path, const std::string& replicate_id,
                     torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                     const TrainState& state, const std::function<void(h5::File&)>& extra = {});

/// If `path` holds a complete checkpoint of `replicate_id`, restores model, optimizer and
/// generator states from it and returns the training state; returns nothing when there is no
/// file. Throws DataError when the file belongs to another replicate or does not match the model.
std::optional<TrainState> load_checkpoint(const std::string& path, const std::string& replicate_id,
                                          torch::nn::Module& model,
                                          torch::optim::Optimizer& optimizer,
                                          const std::function<void(const h5::File&)>& extra = {});

} // namespace sp
