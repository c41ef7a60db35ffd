#pragma once
/// Training: optimizers, the per-step learning rate, cross-entropy with label smoothing, mixed
/// precision (bf16 on CUDA and the CPU, fp16 with dynamic loss scaling on CUDA), NaN/Inf
/// detection, per-epoch history, a hook after every epoch for checkpoints, and a stop check after
/// every batch for stop requests that resume mid-epoch.
///
///     auto opt = sp::make_optimizer(cfg.train, model->parameters());
///     sp::Trainer trainer(*model, forward, *opt, cfg.train, device);
///     sp::TrainState s = trainer.run(train_batches, eval_batches, cfg.train.epochs, {}, hook,
///                                    [] { return sp::stop_requested(); });
///     if (s.partial.batches > 0) { /* stopped mid-epoch: checkpoint s, run(..., s, ...) later */ }

#include "sp/config/experiment.hpp"
#include "sp/data/batches.hpp"
#include "sp/train/grad_scaler.hpp"
#include "sp/train/history.hpp"

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>

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
///
/// Precision (train.precision) applies to the training forward pass:
///   fp32: no autocast anywhere;
///   bf16: autocast to bfloat16 on CUDA and on the CPU (LibTorch's CPU autocast: convolutions and
///         matrix products in bf16, fast on CPUs with AVX512-BF16 or AMX);
///   fp16: autocast to float16 with dynamic loss scaling (GradScaler, its state in TrainState) on
///         CUDA; on the CPU fp16 trains in fp32, as before (no fp16 autocast there).
/// Evaluation (evaluate(), the per-epoch eval_accuracy) always runs in fp32 without autocast,
/// the precision of the final evaluation and embeddings (extract.hpp embed()), so that the last
/// epoch's eval_accuracy and the final accuracy come from the same arithmetic.
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

    /// Trains from `start` (epoch start.epoch, batch start.partial.batches) until `epochs`
    /// epochs are done, `hook` returns false, or `stop` returns true.
    ///
    /// Evaluation: after epoch e when (e + 1) % train.eval_every == 0, and always after the last
    /// epoch (e + 1 == epochs); the other epochs record eval_accuracy = NaN.
    ///
    /// Stop: `stop` is polled after every training batch. True before the epoch's last batch
    /// returns at once with state.partial holding the batches done and their sums; a run() from
    /// that state (same model and optimizer state) trains the next batch, and the finished
    /// epoch's record equals the uninterrupted one's (seconds and images_per_second aside; the
    /// learning rate is a function of (epoch, batch), the data of the BatchSource's). True after
    /// the epoch's last batch finishes the epoch (evaluation, history, hook) and returns then.
    ///
    /// Non-finite values: without loss scaling, a NaN or infinite loss throws TrainError naming
    /// the epoch and step. With loss scaling (fp16 on CUDA, or enable_loss_scaling()) a
    /// non-finite loss or gradient is an overflow: the optimizer step is skipped
    /// (state.skipped_steps counts it), the scale backs off, and the epoch's summed loss takes
    /// the batch's loss as it is (the epoch's mean loss then reads inf or NaN, as a PyTorch loop's
    /// running loss would). A scale that falls below GradScalerOptions::min_scale (2^-24 by
    /// default: at least 41 consecutive skipped steps from 2^16) throws TrainError: every step
    /// overflows whatever the scale, i.e. training diverged.
    TrainState run(BatchSource& train, BatchSource& eval, std::int64_t epochs, TrainState start,
                   const EpochHook& hook = {}, const StopCheck& stop = {});

    /// Accuracy of the model in eval mode over every batch of `eval` (epoch 0 of that source),
    /// in fp32 without autocast whatever train.precision says (see the class comment).
    double evaluate(BatchSource& eval);

    /// Turns on dynamic loss scaling with `options` whatever the device and precision: for the
    /// tests, which inject non-finite gradients on the CPU, and the GPU check. (The constructor
    /// turns it on with the default options for fp16 on CUDA.) A run() from a TrainState that
    /// has taken no step (step == 0) starts from options.init_scale; otherwise from
    /// state.loss_scale and state.scale_good_steps.
    void enable_loss_scaling(GradScalerOptions options = {});

  private:
    /// Trains epoch state.epoch from batch state.partial.batches on, adding to state.partial's
    /// sums. Returns false when `stop` stopped it before its last batch; sets `stop_after` when
    /// `stop` said true after the last batch.
    bool train_epoch(BatchSource& train, std::int64_t epochs, TrainState& state,
                     const StopCheck& stop, bool& stop_after);
    /// One optimizer step (or a skipped one) on one batch; returns the summed loss and the
    /// correct count.
    std::pair<double, std::int64_t> step(const Batch& batch, TrainState& state, std::int64_t epoch,
                                         std::int64_t index);

    torch::nn::Module& module_;
    Forward forward_;
    torch::optim::Optimizer& optimizer_;
    TrainConfig cfg_;
    torch::Device device_;
    bool autocast_ = false;
    torch::ScalarType autocast_dtype_ = torch::kFloat32;
    std::optional<GradScaler> scaler_; ///< set when loss scaling is on; its state is TrainState's
};

} // namespace sp
