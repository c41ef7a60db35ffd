#pragma once
/// Training: optimizers, the per-step learning rate, cross-entropy with label smoothing, mixed
/// precision on CUDA with dynamic loss scaling for fp16, NaN/Inf detection, per-epoch history,
/// and a hook after every epoch for checkpoints and stop requests.
///
///     auto opt = sp::make_optimizer(cfg.train, model->parameters());
///     sp::Trainer trainer(*model, forward, *opt, cfg.train, device);
///     sp::TrainState s = trainer.run(train_batches, eval_batches, cfg.train.epochs, {}, hook);

#include "sp/config/experiment.hpp"
#include "sp/data/batches.hpp"
#include "sp/train/history.hpp"

#include <torch/torch.h>

#include <functional>
#include <memory>

namespace sp {

/// What training needs from a data loader: a fixed number of batches per epoch, each a pure
/// function of (epoch, batch index) so that a resumed run sees the same data in the same order.
class BatchSource {
  public:
    virtual ~BatchSource() = default;
    /// Batches per epoch.
    virtual std::int64_t batches() const = 0;
    /// Images per epoch.
    virtual std::int64_t images() const = 0;
    /// Batch `b` (0 <= b < batches()) of epoch `epoch`.
    virtual Batch batch(std::int64_t epoch, std::int64_t b) = 0;
};

/// A BatchSource over a BatchLoader (data/batches.hpp), which must outlive it.
class LoaderSource : public BatchSource {
  public:
    explicit LoaderSource(BatchLoader& loader) : loader_(loader) {}
    std::int64_t batches() const override { return loader_.batches_per_epoch(); }
    std::int64_t images() const override { return loader_.size(); }
    Batch batch(std::int64_t epoch, std::int64_t b) override {
        if (loader_.position().epoch != epoch || !started_) {
            loader_.start_epoch(epoch);
            started_ = true;
        }
        return loader_.batch(b);
    }

  private:
    BatchLoader& loader_;
    bool started_ = false;
};

/// The optimizer `cfg.optimizer` (adam, adamw, sgd with momentum/nesterov/weight decay)
/// over `params`, at learning rate cfg.lr.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& cfg,
                                                        std::vector<torch::Tensor> params);

/// Sets every parameter group's learning rate.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

/// Turns on deterministic algorithms (and cuDNN determinism, benchmark off) when asked;
/// returns what was set, for provenance.
bool configure_determinism(bool deterministic);

/// Runs epochs of training and evaluation on one model.
class Trainer {
  public:
    using Forward = std::function<torch::Tensor(const torch::Tensor&)>;
    /// Called after each epoch with the state so far; return false to stop after it.
    using EpochHook = std::function<bool(const TrainState&)>;
    /// Polled after every training batch; true stops training at that batch boundary: run()
    /// returns with state.partial.batches > 0 (the epoch unfinished, its sums so far kept), and
    /// a run() from that state continues with the next batch, bit-identically.
    using StopCheck = std::function<bool()>;

    /// `module` owns the parameters `forward` uses; both must outlive the Trainer.
    Trainer(torch::nn::Module& module, Forward forward, torch::optim::Optimizer& optimizer,
            const TrainConfig& cfg, torch::Device device);

    /// Trains from `start` (epoch start.epoch) until `epochs` epochs are done or `hook` returns
    /// false; each epoch ends with an evaluation pass. Throws TrainError naming the epoch and
    /// step when the loss is NaN or infinite.
    TrainState run(BatchSource& train, BatchSource& eval, std::int64_t epochs, TrainState start,
                   const EpochHook& hook = {}, const StopCheck& stop = {});

    /// Accuracy of the model in eval mode over every batch of `eval` (epoch 0 of that source).
    double evaluate(BatchSource& eval);

  private:
    EpochRecord train_epoch(BatchSource& train, std::int64_t epochs, std::int64_t epoch,
                            TrainState& state);
    /// One optimizer step on one batch; returns the summed loss and the correct count.
    std::pair<double, std::int64_t> step(const Batch& batch, TrainState& state, std::int64_t epoch,
                                         std::int64_t index);

    torch::nn::Module& module_;
    Forward forward_;
    torch::optim::Optimizer& optimizer_;
    TrainConfig cfg_;
    torch::Device device_;
    bool autocast_ = false;
    torch::ScalarType autocast_dtype_ = torch::kFloat32;
    bool loss_scaling_ = false;
};

} // namespace sp
