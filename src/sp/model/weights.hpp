#pragma once
/// Weight files in the format Python writes with `torch.save(dict(model.state_dict()), path)`:
/// a plain dict of name -> tensor, pickled in PyTorch's zip format. sp reads and writes them with
/// torch::pickle_load / torch::pickle_save, the LibTorch route that reads Python's torch.save
/// output (1.13 and 2.x alike) without TorchScript. A state_dict saved as it is (an OrderedDict)
/// does not load: scripts/convert_weights.py turns torchvision's published files into plain dicts.
///
///     sp::LoadOptions load;
///     load.skip_fc = true;   // ImageNet trunk, this dataset's classifier
///     sp::load_state_dict_file(*net, "weights/resnet18-imagenet.pt", load);
///     sp::save_state_dict_file(*net, "results/model.pt");   // torch.load(...) in Python
///
/// Names are PyTorch's state_dict keys: parameters and buffers of every submodule, joined by
/// dots ("layer1.0.bn1.running_mean").

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace sp {

/// How load_state_dict_file matches a file to a model.
struct LoadOptions {
    /// Ignore "fc.*" in the file and keep the model's fc as initialised (the paper's protocol
    /// when the class count differs from the file's).
    bool skip_fc = false;
    /// The configuration key that named the file, the first word of every error message.
    std::string config_key = "model.pretrained";
};

/// The model's state_dict entries in PyTorch's order: each module's parameters, then its buffers,
/// then its children's, depth first. Tensors share storage with the model.
std::vector<std::pair<std::string, torch::Tensor>> state_dict(const torch::nn::Module& model);

/// Copies the tensors of the file at `path` into `model`'s parameters and buffers (converting
/// dtype and device as needed). All or nothing: every missing key, unexpected key and shape
/// mismatch is collected, and if there is any the model is left unchanged and one ConfigError
/// lists them all ("model.pretrained: <path>: 3 mismatches with the model: ..."). A missing
/// file is a ConfigError "<config_key>: <path>: no such file"; an unreadable file, or one that
/// does not hold a plain dict of tensors (an OrderedDict included), is a ConfigError too.
void load_state_dict_file(torch::nn::Module& model, const std::string& path,
                          const LoadOptions& options = {});

/// Writes `model`'s state_dict to `path` as a plain dict of contiguous CPU tensors (no grad),
/// atomically (path.tmp, fsync, rename); Python reads it with torch.load(path). Throws IoError.
void save_state_dict_file(const torch::nn::Module& model, const std::string& path);

/// Reads a file written by torch.save / pickle_save holding a dict of str -> tensor, in the
/// file's order. Throws ConfigError as load_state_dict_file does (with LoadOptions' key).
std::vector<std::pair<std::string, torch::Tensor>>
read_tensor_dict(const std::string& path, const std::string& config_key = "model.pretrained");

} // namespace sp
