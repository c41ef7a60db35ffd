#pragma once
/// Checkpoints: everything a replicate needs to continue bit-identically, in one HDF5 file
/// written atomically (name.tmp, fsync, rename): parameters and buffers by name (readable with
/// h5py), the optimizer's state, the LibTorch CPU (and CUDA) generator states, the position in
/// training (an epoch stopped part-way included: TrainState::partial) and the history so far.
/// Checkpoints written before partial epochs and skipped steps were recorded read them as zeros.
///
///     sp::TrainState s{.epoch = 3, ...};
///     sp::save_checkpoint(path, replicate_id, sp::this_build(threads), *model, *optimizer, s);
///     if (auto o = sp::read_checkpoint_origin(path)) { ... compare o->threads ... }
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

/// What made a checkpoint: the run's LibTorch thread count and the sp build, plus the changes a
/// resume was allowed to make so far. Root attributes of every checkpoint; a resume compares them
/// with its own run (sweep/replicate.cpp) and the result file records the changes.
struct CheckpointOrigin {
    int threads = 0;             ///< LibTorch intra-op threads; 0 when the checkpoint has none
    std::string sp_version;      ///< sp release (MAJOR.MINOR.PATCH); "unknown" when absent
    std::string git_revision;    ///< build revision; "unknown" when absent
    std::string thread_changes;  ///< accepted changes so far, "1->2; 2->4"; "" when none
    std::string version_changes; ///< "0.1.0 (abc)->0.1.0 (def)"; "" when none
};

/// This process's origin: `threads` with sp::version() and sp::git_revision(), no changes.
CheckpointOrigin this_build(int threads);

/// The origin recorded in the checkpoint at `path`; nothing when there is no file. Throws
/// DataError when the file is not a checkpoint, IoError when it cannot be read.
std::optional<CheckpointOrigin> read_checkpoint_origin(const std::string& path);

/// Writes a checkpoint of `model`, `optimizer`, the generator states and `state` to `path`
/// atomically, stamped with `origin` as given; `extra`, if set, adds the caller's own state (the
/// active-learning pool) before the file is published. Throws IoError.
void save_checkpoint(const std::string& path, const std::string& replicate_id,
                     const CheckpointOrigin& origin, torch::nn::Module& model,
                     torch::optim::Optimizer& optimizer, const TrainState& state,
                     const std::function<void(h5::File&)>& extra = {});

/// If `path` holds a complete checkpoint of `replicate_id`, restores model, optimizer and
/// generator states from it and returns the training state; returns nothing when there is no
/// file. Throws DataError when the file belongs to another replicate or does not match the model.
std::optional<TrainState> load_checkpoint(const std::string& path, const std::string& replicate_id,
                                          torch::nn::Module& model,
                                          torch::optim::Optimizer& optimizer,
                                          const std::function<void(const h5::File&)>& extra = {});

} // namespace sp
