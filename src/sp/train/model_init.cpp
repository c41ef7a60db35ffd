#include "sp/train/model_init.hpp"

#include "sp/model/weights.hpp"

namespace sp {
namespace {

void load_pretrained(ResNet18& model, const ModelConfig& cfg) {
    if (cfg.pretrained.empty()) return;
    LoadOptions lo;
    lo.skip_fc = true; // the paper's protocol: pretrained trunk, a new classifier
    load_state_dict_file(*model, cfg.pretrained, lo);
}

} // namespace

ResNet18 build_model(const ModelConfig& cfg, std::int64_t classes, std::uint64_t init_seed,
                     torch::Device device) {
    ResNet18 model(resnet18_options(cfg, classes), init_seed);
    load_pretrained(model, cfg);
    model->to(device);
    return model;
}

void reinitialise(ResNet18& model, const ModelConfig& cfg, std::uint64_t init_seed) {
    model->reset_parameters(init_seed);
    load_pretrained(model, cfg);
}

} // namespace sp
