#pragma once
/// Learning-rate schedules as pure functions of training progress, so a resumed run needs no
/// scheduler state beyond (epoch, step): the rate at a step is recomputed, never accumulated.
///
///     double lr = sp::learning_rate(cfg.train, /*epoch=*/3, /*step=*/10, /*steps_per_epoch=*/50);

#include "sp/config/experiment.hpp"

#include <cstdint>

namespace sp {

/// The learning rate for optimizer step `step` (0-based) of epoch `epoch` (0-based), with
/// `steps_per_epoch` >= 1 steps an epoch and `epochs` epochs in all (train.epochs, or al.epochs
/// for a round). Progress t = epoch + step / steps_per_epoch, in epochs:
///   warmup (t < W = warmup_epochs): lr * (t + 1/steps_per_epoch) / W, reaching lr at t = W;
///   constant: lr;  step: lr * gamma^floor((t - W) / step_size) with whole epochs;
///   cosine: lr * (1 + cos(pi * (t - W) / (epochs - W))) / 2.
double learning_rate(const TrainConfig& cfg, std::int64_t epochs, std::int64_t epoch,
                     std::int64_t step, std::int64_t steps_per_epoch);

} // namespace sp
