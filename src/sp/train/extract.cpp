#include "sp/train/extract.hpp"

#include "sp/util/signals.hpp"

#include <mutex>
#include <optional>

namespace sp {

EvalOutputs embed(ResNet18& model, BatchLoader& loader, torch::Device device,
                  const std::vector<std::string>& extra_layers) {
    torch::NoGradGuard no_grad;
    model->eval();
    loader.start_epoch(0);
    std::vector<torch::Tensor> features, logits, labels;
    std::map<std::string, std::vector<torch::Tensor>> extra;
    while (std::optional<Batch> b = loader.next()) {
        throw_if_stop_requested(); // safe point: nothing here is kept, a resume embeds again
        ResNetOutputs o = model->forward_with_features(b->images.to(device), extra_layers);
        features.push_back(o.features.to(torch::kCPU, torch::kFloat32));
        logits.push_back(o.logits.to(torch::kCPU, torch::kFloat32));
        labels.push_back(b->labels);
        for (auto& [name, t] : o.layers) extra[name].push_back(t.to(torch::kCPU, torch::kFloat32));
    }
    EvalOutputs out;
    for (auto& [name, parts] : extra) {
        const torch::Tensor e = torch::cat(parts).contiguous();
        out.extra[name] = {e.size(1), tensor_values<float>(e)};
    }
    const torch::Tensor f = torch::cat(features).contiguous();
    const torch::Tensor l = torch::cat(logits).contiguous();
    const torch::Tensor y = torch::cat(labels).to(torch::kInt64).contiguous();
    const torch::Tensor p = l.argmax(1).to(torch::kInt64).contiguous();
    out.samples = f.size(0);
    out.dim = f.size(1);
    out.classes = l.size(1);
    out.embeddings = tensor_values<float>(f);
    out.logits = tensor_values<float>(l);
    out.labels = tensor_values<std::int64_t>(y);
    out.predictions = tensor_values<std::int64_t>(p);
    out.class_vectors = tensor_values<float>(
        model->named_parameters()["fc.weight"].detach().to(torch::kCPU, torch::kFloat32));
    return out;
}

AnalysisInput analysis_input(const EvalOutputs& e) {
    AnalysisInput in =
        analysis_input(e.samples, e.dim, e.classes, e.embeddings, e.labels, e.class_vectors, e.dim);
    for (const auto& [name, layer] : e.extra)
        in.feature_sets.push_back({name, layer.first, layer.second.data()});
    return in;
}

PoolOutputs pool_outputs(ResNet18& model, const ImageSet& images,
                         const std::vector<std::int64_t>& indices, const TransformSpec& spec,
                         const LoaderOptions& base, const PoolScoring& scoring,
                         torch::Device device) {
    torch::NoGradGuard no_grad;
    const bool mc = scoring.mc_samples > 0;
    LoaderOptions opt = base;
    opt.batch_size = scoring.batch_size;
    opt.shuffle = false;
    opt.mode = LoaderMode::eval;
    BatchLoader loader(images, indices, spec, opt);
    std::vector<torch::Tensor> logits, features;
    std::vector<std::vector<torch::Tensor>> passes(static_cast<std::size_t>(scoring.mc_samples));
    // The MC passes' dropout masks start from dropout_seed: torch::manual_seed reseeds LibTorch's
    // default CPU generator and every CUDA generator. Only the CPU generator's state is saved
    // here and put back afterwards, so on the CPU training's dropout stream continues where it
    // left off; a CUDA generator is not restored and stays where the passes left it (a function
    // of dropout_seed and the passes, so still reproducible, and checkpoints record it).
    // Puts the CPU generator's state back and the model in eval mode on every exit, a
    // StopRequested or an error included.
    struct Restore {
        ResNet18& model;
        torch::Tensor saved;
        ~Restore() {
            model->eval();
            if (!saved.defined()) return;
            auto gen = at::detail::getDefaultCPUGenerator();
            std::lock_guard<std::mutex> lock(gen.mutex());
            gen.set_state(saved);
        }
    } restore{model, {}};
    if (mc) {
        auto gen = at::detail::getDefaultCPUGenerator();
        {
            std::lock_guard<std::mutex> lock(gen.mutex());
            restore.saved = gen.get_state();
        }
        torch::manual_seed(scoring.dropout_seed);
    }
    loader.start_epoch(0);
    while (std::optional<Batch> b = loader.next()) {
        // A stop signal abandons the scoring within one batch (it is redone on resume).
        throw_if_stop_requested();
        const torch::Tensor x = b->images.to(device);
        model->eval();
        ResNetOutputs o = model->forward_with_features(x, {});
        logits.push_back(o.logits.to(torch::kCPU, torch::kFloat32));
        features.push_back(o.features.to(torch::kCPU, torch::kFloat32));
        if (mc) {
            // BatchNorm stays in eval mode; only the dropout layer samples. Dropout sits only
            // between the pooled features and fc, so the trunk's eval-mode features are those
            // of every pass: each pass runs the head alone (ResNet18Impl::head), drawing the
            // same masks from the generator in the same order as model->forward(x) per pass.
            for (auto& m : model->named_modules()) {
                if (m.key() == "dropout") m.value()->train(true);
            }
            for (auto& pass : passes)
                pass.push_back(
                    torch::softmax(model->head(o.features), 1).to(torch::kCPU, torch::kFloat32));
            model->eval();
        }
    }
    PoolOutputs out;
    out.logits = torch::cat(logits).contiguous();
    out.embeddings = torch::cat(features).contiguous();
    if (mc) {
        std::vector<torch::Tensor> stacked;
        for (auto& pass : passes) stacked.push_back(torch::cat(pass));
        out.mc_probs = torch::stack(stacked).contiguous();
    }
    return out;
}

} // namespace sp
