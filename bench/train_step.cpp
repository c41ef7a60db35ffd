// Training throughput of sp, in images per second, for bench/train_bench.sh:
//   compute: Adam steps of ResNet18 on a fixed random batch (the compute-bound train step);
//   epoch:   one training epoch over Fashion-MNIST through sp's data pipeline (random crop,
//            flip, normalise, 1 -> 3 channels) and the same train step, end to end.
//   score:   scoring the same images as an active-learning pool (eval mode, no grad, softmax,
//            least confidence), batches of al.score_batch_size.
// Prints "sp compute <images/s>", "sp epoch <images/s>" and "sp score <images/s>" (medians).
//
// --compare-precision: the compute step alone through sp::Trainer (train.precision's autocast),
// for four variants of one model in one process, their repetitions interleaved round-robin so
// that load from other processes falls on all alike: fp32, bf16 (CPU autocast), and both with
// the model and the input in channels-last memory format. Prints "sp compute-<variant>
// <images/s>" (medians), each variant's ratio to fp32, and how far each variant's numbers are
// from fp32's: the loss and the gradients at the same initial weights on the same batch,
// |loss - loss_fp32| and max |g - g_fp32| / max |g_fp32| (float noise is ~1e-6 in fp32).
//   sp_bench_train --compare-precision --width 0.5 --image 28 --steps 10 --reps 5
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
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
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
    // As sp::Trainer::step: gradients dropped, not zeroed.
    for (auto& p : model->parameters()) p.mutable_grad().reset();
    const torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
    loss.backward();
    opt.step();
}

/// `steps` copies of one batch.
class FixedSource : public sp::BatchSource {
  public:
    FixedSource(torch::Tensor x, torch::Tensor y, std::int64_t steps)
        : x_(std::move(x)), y_(std::move(y)), steps_(steps) {}
    std::int64_t batches() const override { return steps_; }
    std::int64_t images() const override { return steps_ * x_.size(0); }
    sp::Batch batch(std::int64_t /*epoch*/, std::int64_t b) override {
        sp::Batch out;
        out.images = x_;
        out.labels = y_;
        out.number = b;
        return out;
    }

  private:
    torch::Tensor x_, y_;
    std::int64_t steps_;
};

/// Every 4-D parameter (the convolutions' weights) in channels-last memory format.
void to_channels_last(torch::nn::Module& m) {
    torch::NoGradGuard no_grad;
    for (auto& p : m.parameters()) {
        if (p.dim() == 4) p.set_data(p.data().contiguous(torch::MemoryFormat::ChannelsLast));
    }
}

struct Variant {
    std::string name;
    sp::Precision precision;
    bool channels_last;
};

int compare_precision(const sp::ModelConfig& mc, int batch, int image, int steps, int reps) {
    const std::vector<Variant> variants = {{"fp32", sp::Precision::fp32, false},
                                           {"bf16", sp::Precision::bf16, false},
                                           {"fp32-cl", sp::Precision::fp32, true},
                                           {"bf16-cl", sp::Precision::bf16, true}};
    torch::manual_seed(0);
    const torch::Tensor x = torch::randn({batch, 3, image, image});
    const torch::Tensor y = torch::randint(10, {batch}, torch::kInt64);
    struct Run {
        sp::ResNet18 model;
        std::unique_ptr<torch::optim::Optimizer> opt;
        std::unique_ptr<sp::Trainer> trainer;
        FixedSource source;
        std::vector<double> rates;
        double loss0 = 0;                 // loss on the batch at the initial weights
        std::vector<torch::Tensor> grads; // gradients there
    };
    sp::TrainConfig tc; // Adam, lr 1e-3
    FixedSource none(x, y, 0);
    std::vector<std::unique_ptr<Run>> runs;
    for (const Variant& v : variants) {
        tc.precision = v.precision;
        const torch::Tensor input =
            v.channels_last ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
        sp::ResNet18 model(sp::resnet18_options(mc, 10), /*init_seed=*/0);
        if (v.channels_last) to_channels_last(*model);
        auto opt = sp::make_optimizer(tc, model->parameters());
        auto run = std::make_unique<Run>(
            Run{model, std::move(opt), nullptr, FixedSource(input, y, steps), {}, 0.0, {}});
        run->trainer = std::make_unique<sp::Trainer>(
            *run->model, [m = run->model](const torch::Tensor& t) mutable { return m->forward(t); },
            *run->opt, tc, torch::kCPU);
        // Warm-up (allocations, oneDNN primitives): one step at learning rate 0, which leaves
        // the weights as initialised and their gradients on the batch in .grad().
        FixedSource warm(input, y, 1);
        sp::TrainConfig probe = tc;
        probe.lr = 0;
        sp::Trainer prober(
            *run->model, [m = run->model](const torch::Tensor& t) mutable { return m->forward(t); },
            *run->opt, probe, torch::kCPU);
        run->loss0 = prober.run(warm, none, 1, {}).history.at(0).loss;
        for (const auto& p : run->model->parameters())
            run->grads.push_back(p.grad().detach().contiguous().clone());
        runs.push_back(std::move(run));
    }
    for (int r = 0; r < reps; ++r) {
        for (auto& run : runs) {
            const double t0 = now();
            run->trainer->run(run->source, none, 1, {});
            run->rates.push_back(static_cast<double>(steps) * batch / (now() - t0));
        }
    }
    // Float noise: each variant's loss and gradients at the same initial weights against fp32's.
    double gmax = 0;
    for (const auto& g : runs[0]->grads) gmax = std::max(gmax, g.abs().max().item<double>());
    const double base = median(runs[0]->rates);
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const double rate = median(runs[i]->rates);
        double dmax = 0;
        for (std::size_t k = 0; k < runs[i]->grads.size(); ++k)
            dmax =
                std::max(dmax, (runs[i]->grads[k] - runs[0]->grads[k]).abs().max().item<double>());
        std::printf(
            "sp compute-%s %.1f ratio-to-fp32 %.3f loss0-diff %.3g grad-max-dg/max-g %.3g (",
            variants[i].name.c_str(), rate, rate / base, std::fabs(runs[i]->loss0 - runs[0]->loss0),
            dmax / gmax);
        for (double v : runs[i]->rates) std::printf(" %.0f", v);
        std::printf(" )\n");
    }
    return 0;
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
    sp::ModelConfig mc; // torchvision's resnet18 (width 1, ImageNet stem), 10 classes
    app.add_option("--width", mc.width, "model.width");
    app.add_option("--stem", mc.stem, "model.stem: imagenet | cifar");
    bool compare = false;
    app.add_flag("--compare-precision", compare,
                 "only the compute step, fp32 vs bf16, contiguous vs channels-last");
    CLI11_PARSE(app, argc, argv);
    if (!default_malloc) sp::tune_allocator();

    torch::set_num_threads(threads);
    if (compare) return compare_precision(mc, batch, image, steps, reps);
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
