#pragma once
/// A replicate's model as it starts training: initialised from the init seed stream, with the
/// pretrained trunk of model.pretrained when one is named (and a new classifier); or, for an
/// active-learning replicate with al.init = "baseline", the final weights of its paired baseline
/// as that baseline's result file stores them (/model/state).
///
///     sp::ResNet18 model = sp::build_model(cfg.model, facts.classes, seeds.init, device);
///     sp::reinitialise(model, cfg.model, seeds.init);   // a cold-start round: as built again
///     sp::write_model_state(file, *model);              // a baseline's final weights
///     std::string sha = sp::load_model_state(*model, "results/3f2a.h5");  // start from them

#include "sp/config/experiment.hpp"
#include "sp/io/h5.hpp"
#include "sp/model/resnet.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace sp {

/// Where a result file keeps a model's final weights: parameters and buffers by name under
/// `<kModelState>/parameters` and `<kModelState>/buffers` (float32 / int64, exact bits, readable
/// with h5py), with attribute `weights_sha256` (model_state_sha256).
inline constexpr const char* kModelState = "/model/state";

/// A ResNet-18 for `classes` classes initialised from `init_seed`, model.pretrained's weights
/// loaded (fc skipped, the paper's protocol), moved to `device`. Throws ConfigError on bad
/// options or a bad weight file.
ResNet18 build_model(const ModelConfig& cfg, std::int64_t classes, std::uint64_t init_seed,
                     torch::Device device);

/// Puts `model` back to its built state: parameters re-initialised from `init_seed`, then the
/// pretrained trunk again. Throws as build_model does.
void reinitialise(ResNet18& model, const ModelConfig& cfg, std::uint64_t init_seed);

/// SHA-256 (64 hex digits) of a model's weights as kModelState stores them: for every tensor,
/// ordered by `parameters/<name>` then `buffers/<name>` (names in byte order), the line
/// `<kind>/<name> <d0>,<d1>,...\n` (its shape; empty for a scalar) followed by its values'
/// bytes (float32 for floating tensors, int64 otherwise; little-endian, row-major).
std::string model_state_sha256(torch::nn::Module& model);

/// Writes `model`'s parameters and buffers to kModelState in `file` with their
/// model_state_sha256 as attribute `weights_sha256`, which it returns. Throws IoError.
std::string write_model_state(h5::File& file, torch::nn::Module& model);

/// Loads every parameter and buffer of `model` from kModelState of the result file at `path`,
/// bit for bit, and returns model_state_sha256 of what was loaded. Throws DataError naming the
/// file when the group, a tensor or the digest attribute is missing, a shape differs, or the
/// loaded weights do not hash to the recorded digest; IoError when it cannot be read.
std::string load_model_state(torch::nn::Module& model, const std::string& path);

} // namespace sp
