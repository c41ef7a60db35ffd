// Training throughput of sp, in images per second, for bench/train_bench.sh:
//   compute: Adam steps of ResNet18 on a fixed random batch (the compute-bound train step);
//   epoch:   one training epoch over Fashion-MNIST through sp's data pipeline (random crop,
//            flip, normalise, 1 -> 3 channels) and the same train step, end to end.
//   score:   scoring the same images as an active-learning pool (eval mode, no grad, softmax,
//            least confidence), batches of al.score_batch_size.
// Prints "sp compute <images/s>", "sp epoch <images/s>" and "sp score <images/s>" (medians).
#include "sp/al/strategies.hpp"
#include "sp/config/dataset_facts.hpp"
#include "sp/data/batches.hpp"
#include "sp/data/readers.hpp"
#include "sp/data/subset.hpp"
#include "sp/model/resnet.hpp"
#include "sp/train/trainer.hpp"
#include "sp/util/memory.hpp"

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

void train_step(sp::ResNet18& model, torch::optim::Optimizer& opt, const torch::Tensor& x,
                const torch::Tensor& y) {
    opt.zero_grad();
    const torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
    loss.backward();
    opt.step();
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"sp training throughput (see bench/train_bench.sh)"};
    int threads = 2;
    int batch = 128;
    int steps = 20;
    int reps = 3;
    int image = 32;
    std::int64_t subset = 4096;
    std::string data = "/usr/share/datasets/fashion-mnist";
    app.add_option("--threads", threads, "LibTorch threads");
    app.add_option("--batch", batch, "batch size");
    app.add_option("--steps", steps, "train steps per timed repetition (compute)");
    app.add_option("--reps", reps, "timed repetitions");
    app.add_option("--image", image, "input side for the compute benchmark");
    app.add_option("--subset", subset, "Fashion-MNIST training images per epoch (epoch)");
    app.add_option("--data", data, "Fashion-MNIST IDX directory");
    bool default_malloc = false;
    app.add_flag("--default-malloc", default_malloc, "keep glibc's allocator defaults");
    CLI11_PARSE(app, argc, argv);
    if (!default_malloc) sp::tune_allocator();

    torch::set_num_threads(threads);
    sp::ModelConfig mc; // torchvision's resnet18 (width 1, ImageNet stem), 10 classes
    sp::ResNet18 model(sp::resnet18_options(mc, 10), /*init_seed=*/0);
    model->train();
    sp::TrainConfig tc; // Adam, lr 1e-3
    auto opt = sp::make_optimizer(tc, model->parameters());

    // Compute-bound step on a fixed batch.
    torch::manual_seed(0);
    const torch::Tensor x = torch::randn({batch, 3, image, image});
    const torch::Tensor y = torch::randint(10, {batch}, torch::kInt64);
    train_step(model, *opt, x, y); // warm-up: allocations, oneDNN primitives
    std::vector<double> compute;
    for (int r = 0; r < reps; ++r) {
        const double t0 = now();
        for (int s = 0; s < steps; ++s) train_step(model, *opt, x, y);
        compute.push_back(static_cast<double>(steps) * batch / (now() - t0));
    }
    std::printf("sp compute %.1f\n", median(compute));

    // End to end: Fashion-MNIST through the data pipeline into the same step.
    sp::DataSplits fm = sp::read_idx_dataset(data, "fashion-mnist");
    const auto indices = sp::select_first(fm.train.count, subset, "--subset");
    sp::DatasetConfig dc;
    dc.augment = true;
    const sp::TransformSpec spec = sp::make_transform_spec(dc, sp::dataset_facts("fashion-mnist"),
                                                           fm.train, /*model_channels=*/3);
    sp::LoaderOptions lo;
    lo.batch_size = batch;
    lo.threads = threads;
    lo.seed = 1;
    sp::BatchLoader loader(fm.train, indices, spec, lo);
    std::vector<double> epoch;
    for (int r = 0; r < reps; ++r) {
        loader.start_epoch(r);
        const double t0 = now();
        std::int64_t seen = 0;
        while (std::optional<sp::Batch> b = loader.next()) {
            train_step(model, *opt, b->images, b->labels);
            seen += b->labels.size(0);
        }
        epoch.push_back(static_cast<double>(seen) / (now() - t0));
    }
    std::printf("sp epoch %.1f\n", median(epoch));

    // Scoring an unlabelled pool, as an active-learning round does: the same images unaugmented
    // in eval mode, batches of al.score_batch_size, under NoGradGuard, softmax and
    // least-confidence scores.
    sp::LoaderOptions so;
    so.batch_size = sp::AlConfig{}.score_batch_size;
    so.threads = threads;
    so.shuffle = false;
    so.mode = sp::LoaderMode::eval;
    sp::DatasetConfig plain;
    const sp::TransformSpec score_spec = sp::make_transform_spec(
        plain, sp::dataset_facts("fashion-mnist"), fm.train, /*model_channels=*/3);
    sp::BatchLoader scorer(fm.train, indices, score_spec, so);
    std::vector<double> score;
    for (int r = 0; r < reps; ++r) {
        scorer.start_epoch(0);
        const double t0 = now();
        std::int64_t seen = 0;
        torch::NoGradGuard no_grad;
        model->eval();
        while (std::optional<sp::Batch> b = scorer.next()) {
            const torch::Tensor p = torch::softmax(model->forward(b->images), 1).contiguous();
            const auto s = sp::least_confidence_scores(p.data_ptr<float>(), p.size(0), p.size(1));
            seen += static_cast<std::int64_t>(s.size());
        }
        model->train();
        score.push_back(static_cast<double>(seen) / (now() - t0));
    }
    std::printf("sp score %.1f\n", median(score));
    return 0;
}
