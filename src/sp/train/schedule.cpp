#include "sp/train/schedule.hpp"

#include "sp/util/error.hpp"

#include <cmath>

namespace sp {

double learning_rate(const TrainConfig& cfg, std::int64_t epochs, std::int64_t epoch,
                     std::int64_t step, std::int64_t steps_per_epoch) {
    SP_CHECK(steps_per_epoch >= 1 && epochs >= 1, "schedule needs steps and epochs");
    const double t = static_cast<double>(epoch) +
                     static_cast<double>(step) / static_cast<double>(steps_per_epoch);
    const auto warmup = static_cast<double>(cfg.warmup_epochs);
    if (t < warmup) {
        // Linear warmup counted in steps, so the first step already trains (rate > 0).
        return cfg.lr * (t + 1.0 / static_cast<double>(steps_per_epoch)) / warmup;
    }
    switch (cfg.schedule) {
    case Schedule::step: {
        const auto decays = static_cast<double>((epoch - cfg.warmup_epochs) /
                                                std::max<std::int64_t>(1, cfg.step_size));
        return cfg.lr * std::pow(cfg.gamma, decays);
    }
    case Schedule::cosine: {
        const double span = static_cast<double>(epochs) - warmup;
        if (span <= 0) return cfg.lr;
        const double pi = std::acos(-1.0);
        return cfg.lr * 0.5 * (1.0 + std::cos(pi * (t - warmup) / span));
    }
    case Schedule::constant:
        break;
    }
    return cfg.lr;
}

} // namespace sp
