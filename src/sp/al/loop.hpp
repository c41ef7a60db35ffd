#pragma once
/// Training a replicate in rounds. An active-learning replicate starts from an initial labelled
/// pool and repeats: train (warm: model and optimizer go on; cold: re-initialised), record the
/// round, score the unlabelled pool, query, label. A baseline is the degenerate case: one round
/// on the whole training set. Checkpoints are written every train.checkpoint_every epochs, at the
/// batch boundary after a stop request, at the end of every round's training and at each round
/// boundary (a finished query is never redone), and resumed from. A stop signal during a round's
/// metrics or query (sp::StopRequested from their safe points) abandons them: they are redone,
/// bit-identically, from the end-of-training checkpoint. Each finished round's record is written
/// once, to its own file beside the checkpoint (al/rounds.hpp), not into every checkpoint.
///
///     sp::TrainingData data(cfg, facts, splits, threads, replicate.seeds.data);
///     const sp::TrainingContext ctx{checkpoint_path, device, threads, stop_requested,
///                                   sp::this_build(threads)};
///     sp::RoundsOutcome o = sp::run_rounds(replicate, ctx, model, data);
///     if (!o.stopped) { ... evaluate on data.eval ... }

#include "sp/al/rounds.hpp"
#include "sp/config/dataset_facts.hpp"
#include "sp/data/batches.hpp"
#include "sp/data/image_set.hpp"
#include "sp/model/resnet.hpp"
#include "sp/plan/plan.hpp"
#include "sp/train/checkpoint.hpp"
#include "sp/train/history.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sp {

/// The images a replicate trains and evaluates on, batched as its configuration says. Holds a
/// reference to `splits`, which must outlive it.
struct TrainingData {
    /// Transforms of both splits for a 3-channel model; the training loaders' options
    /// (train.batch_size, train.shuffle, `threads`); the evaluation loader over the whole
    /// evaluation set in order (train.eval_batch_size, `data_seed`). Throws ConfigError on
    /// inconsistent dataset options.
    TrainingData(const Experiment& cfg, const DatasetFacts& facts, const DataSplits& splits,
                 int threads, std::uint64_t data_seed);

    const ImageSet& train;       ///< what training and queries draw from
    TransformSpec train_spec;    ///< training-set transform (augmented in train mode)
    LoaderOptions train_options; ///< a round's loader: these with the round's data seed
    std::int64_t classes;        ///< K
    BatchLoader eval;            ///< the evaluation set, unshuffled, unaugmented
};

/// Where the rounds run and how they are told to stop. References must outlive run_rounds.
struct TrainingContext {
    std::string checkpoint; ///< the replicate's checkpoint file: resumed from, saved to
    torch::Device device;   ///< where the model lives
    int threads = 1;        ///< LibTorch threads of the rounds' metrics
    const std::function<bool()>&
        stop_requested;      ///< polled after every batch, epoch and round; may be empty
    CheckpointOrigin origin; ///< stamped on every checkpoint saved (threads, build, changes)
    /// al.init = "baseline": the baseline's result file whose final weights (/model/state) the
    /// model was loaded with, and which a cold-start round loads again; "" = the built weights.
    std::string start_weights = {};
};

/// How the rounds ended.
struct RoundsOutcome {
    std::vector<EpochRecord> history; ///< every epoch of every round
    std::optional<AlState> al;        ///< the rounds of an active-learning replicate (not baseline)
    bool stopped = false;             ///< a stop request ended them early, after a checkpoint
    std::string message;              ///< where it stopped ("checkpointed in round 1 at epoch 2")
    std::int64_t skipped_steps = 0;   ///< fp16 steps skipped on non-finite gradients, in all
    double loss_scale = 0;            ///< the fp16 loss scale at the end
};

/// Trains replicate `r`'s `model` (already built and on ctx.device, the global generator seeded
/// for dropout) round by round as its `al` configuration says, resuming from ctx.checkpoint when
/// it holds one. On return the model is trained (unless stopped) and the checkpoint, saved at the
/// end of the last round's training, holds it: the caller's embedding and metrics may be
/// abandoned on a stop signal. Throws DataError on a checkpoint of another replicate or without a
/// labelled pool, or a missing round record; TrainError on a diverged loss, IoError.
RoundsOutcome run_rounds(const Replicate& r, const TrainingContext& ctx, ResNet18& model,
                         TrainingData& data);

} // namespace sp
