#include "sp/train/model_init.hpp"

#include "sp/model/weights.hpp"
#include "sp/util/error.hpp"
#include "sp/util/hash.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace sp {
namespace {

void load_pretrained(ResNet18& model, const ModelConfig& cfg) {
    if (cfg.pretrained.empty()) return;
    LoadOptions lo;
    lo.skip_fc = true; // the paper's protocol: pretrained trunk, a new classifier
    load_state_dict_file(*model, cfg.pretrained, lo);
}

/// One stored tensor: "parameters/<name>" or "buffers/<name>", and the model's tensor.
using StateEntry = std::pair<std::string, torch::Tensor>;

/// The model's tensors in the order model_state_sha256 hashes them.
std::vector<StateEntry> state_entries(torch::nn::Module& model) {
    std::vector<StateEntry> params;
    std::vector<StateEntry> buffers;
    for (const auto& p : model.named_parameters()) params.emplace_back(p.key(), p.value());
    for (const auto& b : model.named_buffers()) buffers.emplace_back(b.key(), b.value());
    auto by_name = [](const StateEntry& a, const StateEntry& b) { return a.first < b.first; };
    std::sort(params.begin(), params.end(), by_name);
    std::sort(buffers.begin(), buffers.end(), by_name);
    std::vector<StateEntry> out;
    for (auto& [name, t] : params) out.emplace_back("parameters/" + name, t);
    for (auto& [name, t] : buffers) out.emplace_back("buffers/" + name, t);
    return out;
}

/// The tensor as stored: on the CPU, contiguous, float32 or int64.
torch::Tensor stored_form(const torch::Tensor& t) {
    const torch::Tensor cpu = t.detach().to(torch::kCPU).contiguous();
    return cpu.is_floating_point() ? cpu.to(torch::kFloat32) : cpu.to(torch::kInt64);
}

h5::Shape shape_of(const torch::Tensor& t) {
    h5::Shape s;
    for (auto d : t.sizes()) s.push_back(static_cast<std::uint64_t>(d));
    return s;
}

std::string digest_of(const std::vector<StateEntry>& entries) {
    Sha256 h;
    for (const auto& [path, t] : entries) {
        const torch::Tensor s = stored_form(t);
        std::string head = path + " ";
        for (std::int64_t i = 0; i < s.dim(); ++i)
            head += (i ? "," : "") + std::to_string(s.size(i));
        h.update(head + "\n");
        h.update(std::string_view(static_cast<const char*>(s.data_ptr()),
                                  static_cast<std::size_t>(s.numel()) * s.element_size()));
    }
    return h.finish_hex();
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

std::string model_state_sha256(torch::nn::Module& model) { return digest_of(state_entries(model)); }

std::string write_model_state(h5::File& file, torch::nn::Module& model) {
    const std::vector<StateEntry> entries = state_entries(model);
    h5::Group g = file.require_group(kModelState);
    for (const auto& [path, t] : entries) {
        const torch::Tensor s = stored_form(t);
        if (s.scalar_type() == torch::kFloat32) {
            const float* p = s.data_ptr<float>();
            g.write(path, std::vector<float>(p, p + s.numel()), shape_of(s));
        } else {
            const std::int64_t* p = s.data_ptr<std::int64_t>();
            g.write(path, std::vector<std::int64_t>(p, p + s.numel()), shape_of(s));
        }
    }
    const std::string digest = digest_of(entries);
    g.write_attribute("weights_sha256", digest);
    return digest;
}

std::string load_model_state(torch::nn::Module& model, const std::string& path) {
    const h5::File f = h5::File::open(path);
    const std::string where = path + ": " + kModelState;
    if (!f.exists(kModelState))
        throw DataError(where + ": missing (the file holds no final weights)");
    const h5::Group g = f.open_group(kModelState);
    if (!g.has_attribute("weights_sha256")) throw DataError(where + "@weights_sha256: missing");
    const auto recorded = g.read_attribute<std::string>("weights_sha256");
    torch::NoGradGuard no_grad;
    for (auto& [name, target] : state_entries(model)) {
        if (!g.exists(name)) throw DataError(where + "/" + name + ": missing");
        const h5::Shape want = shape_of(target);
        if (g.shape(name) != want) {
            throw DataError(where + "/" + name + ": shape " + h5::to_string(g.shape(name)) +
                            " in the file, " + h5::to_string(want) + " in the model");
        }
        if (target.is_floating_point()) {
            auto v = g.read<float>(name, want);
            target.copy_(torch::from_blob(v.data(), target.sizes(), torch::kFloat32));
        } else {
            auto v = g.read<std::int64_t>(name, want);
            target.copy_(torch::from_blob(v.data(), target.sizes(), torch::kInt64));
        }
    }
    const std::string loaded = model_state_sha256(model);
    if (loaded != recorded) {
        throw DataError(where + ": the loaded weights hash to " + loaded + ", the file records " +
                        recorded);
    }
    return loaded;
}

} // namespace sp
