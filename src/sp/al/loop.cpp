#include "sp/al/loop.hpp"

#include "sp/al/query.hpp"
#include "sp/al/strategies.hpp"
#include "sp/data/subset.hpp"
#include "sp/data/transforms.hpp"
#include "sp/train/checkpoint.hpp"
#include "sp/train/extract.hpp"
#include "sp/train/model_init.hpp"
#include "sp/train/trainer.hpp"
#include "sp/util/clock.hpp"
#include "sp/util/error.hpp"
#include "sp/util/log.hpp"
#include "sp/util/rng.hpp"
#include "sp/util/signals.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <utility>

namespace sp {
namespace {

/// 0, 1, ..., n - 1.
std::vector<std::int64_t> all_indices(std::int64_t n) {
    std::vector<std::int64_t> v(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
    return v;
}

LoaderOptions eval_loader_options(LoaderOptions train, std::int64_t batch_size,
                                  std::uint64_t seed) {
    train.batch_size = batch_size;
    train.shuffle = false;
    train.mode = LoaderMode::eval;
    train.seed = seed;
    return train;
}

LoaderOptions train_loader_options(const TrainConfig& t, int threads) {
    LoaderOptions o;
    o.batch_size = t.batch_size;
    o.shuffle = t.shuffle;
    o.mode = LoaderMode::train;
    o.threads = threads;
    return o;
}

/// Seed of round `round`'s stream derived from `stream` (round 0 uses the stream itself, so a
/// baseline replicate's data order is that of the data stream).
std::uint64_t round_seed(std::uint64_t stream, std::int64_t round) {
    return round == 0 ? stream : mix_seed(stream, static_cast<std::uint64_t>(round));
}

/// The first labelled pool of an active-learning replicate.
std::vector<std::int64_t> initial_pool(const AlConfig& al, const ImageSet& train,
                                       std::int64_t classes, std::uint64_t pool_seed) {
    // Not a stream of its own: mix_seed(pool, 1) is also the seed load_dataset draws the
    // dataset.train_subset from (and mix_seed(pool, 2), its eval_subset seed, is round 0's
    // query seed). Both come from the pool stream; changing either would change every result.
    const std::uint64_t seed = mix_seed(pool_seed, 1);
    const std::int64_t initial = std::min(al.initial, train.count);
    switch (al.initial_sampling) {
    case InitialSampling::stratified:
        return select_stratified(train.labels, classes, initial, seed, "al.initial");
    case InitialSampling::uniform:
        break;
    }
    return random_select(train.count, initial, seed);
}

/// One replicate's rounds: the state that goes on from round to round and into checkpoints.
class RoundLoop {
  public:
    RoundLoop(const Replicate& r, const TrainingContext& ctx, ResNet18& model, TrainingData& data)
        : r_(r), cfg_(r.config), al_(r.config.al), ctx_(ctx), model_(model), data_(data),
          eval_source_(data.eval), active_(is_active(r.config.al.strategy)),
          sizes_(labelled_sizes(r.config)),
          epochs_(active_ && al_.epochs > 0 ? al_.epochs : cfg_.train.epochs) {}

    RoundsOutcome run() {
        start();
        while (true) {
            const auto round_t0 = std::chrono::steady_clock::now();
            const std::int64_t round = st_.round;
            train_round(round);
            if (stopped_) break;
            // The round's training is checkpointed: its metrics and query are abandoned at once
            // on a stop signal (StopRequested from their safe points) and redone on resume.
            RoundRecord rec;
            try {
                rec = record_round(round);
            } catch (const StopRequested&) {
                stopped_ = true;
                abandoned_ = true;
                break;
            }
            rec.seconds = seconds_since(round_t0);
            st_.rounds.push_back(std::move(rec));
            if (!active_ || last_round(round)) break;
            next_round(round);
            if (stopped_) break;
        }
        return outcome();
    }

  private:
    /// A new optimizer, then the checkpoint if there is one, else the initial labelled pool.
    void start() {
        // Refused when the sweep is parsed (validate_experiment, config/fields.cpp).
        SP_CHECK(!active_ || al_.pool_subset == 0 || al_.pool_subset >= al_.query,
                 "al.pool_subset below al.query passed config validation");
        optimizer_ = make_optimizer(cfg_.train, model_->parameters());
        bool resumed = false;
        if (auto loaded = load_checkpoint(ctx_.checkpoint, r_.id, *model_, *optimizer_,
                                          [this](const h5::File& f) {
                                              if (f.exists("/al")) st_ = read_rounds(f, "/al");
                                          })) {
            state_ = std::move(*loaded);
            resumed = true;
            // Checkpoints hold no round records (each was written once, beside them); one of an
            // older sp holds them all, and they are written out at the next save.
            const std::size_t embedded = st_.rounds.size();
            for (auto i = static_cast<std::int64_t>(embedded); i < st_.round; ++i) {
                st_.rounds.push_back(
                    load_round_record(round_record_path(ctx_.checkpoint, i), r_.id, i));
            }
            records_saved_ = embedded > 0 ? 0 : st_.rounds.size();
            log::info("replicate " + r_.id + ": resuming at round " + std::to_string(st_.round) +
                      ", epoch " + std::to_string(state_.epoch) +
                      (state_.partial.batches > 0
                           ? ", batch " + std::to_string(state_.partial.batches)
                           : std::string()) +
                      " from " + ctx_.checkpoint);
        } else {
            remove_round_records(ctx_.checkpoint); // of an earlier, abandoned run
        }
        if (!active_) {
            // Baseline: one round on the whole training set (a checkpoint holds no pool).
            st_.labelled = all_indices(data_.train.count);
        } else if (!resumed) {
            st_.labelled = initial_pool(al_, data_.train, data_.classes, r_.seeds.pool);
        }
        if (st_.labelled.empty())
            throw DataError(ctx_.checkpoint +
                            ": the checkpoint holds no labelled pool for this active-learning "
                            "replicate; delete it to start over");
    }

    /// Trains on the labelled pool until the round's last epoch or a stop request.
    void train_round(std::int64_t round) {
        if (active_ && al_.start == StartMode::cold && round > 0 && state_.epoch == 0 &&
            state_.partial.batches == 0) {
            // Back to where round 0 started: the built model, or the baseline's final weights.
            reinitialise(model_, cfg_.model, r_.seeds.init);
            if (!ctx_.start_weights.empty()) load_model_state(*model_, ctx_.start_weights);
            optimizer_ = make_optimizer(cfg_.train, model_->parameters());
        }
        LoaderOptions options = data_.train_options;
        options.seed = round_seed(r_.seeds.data, round);
        BatchLoader loader(data_.train, st_.labelled, data_.train_spec, options);
        LoaderSource source(loader);
        Trainer trainer(
            *model_, [this](const torch::Tensor& x) { return model_->forward(x); }, *optimizer_,
            cfg_.train, ctx_.device);
        first_epoch_ = static_cast<std::int64_t>(state_.history.size()) - state_.epoch;
        const std::int64_t steps_before = state_.step;
        state_ = trainer.run(
            source, eval_source_, epochs_, state_,
            [this, round](const TrainState& s) { return after_epoch(s, round); },
            [this] { return stop_requested(); });
        if (state_.partial.batches > 0) {
            // Stopped at a batch boundary: the epoch so far, data position and generators saved.
            save(state_);
            stopped_ = true;
            return;
        }
        if (stopped_ || state_.step == steps_before) return; // nothing trained since the load
        // The end of the round's training, always checkpointed: what follows (the round's
        // metrics and query, or the final embedding and metrics) can be abandoned on a signal.
        save(state_);
        if (stop_requested()) stopped_ = true;
    }

    /// Logs the epoch with an ETA, checkpoints when due or asked to stop; false stops training.
    bool after_epoch(const TrainState& s, std::int64_t round) {
        const auto& last = s.history.back();
        // Images still to train on, at the last epoch's rate (scoring and metrics aside).
        double remaining = static_cast<double>((epochs_ - s.epoch) *
                                               static_cast<std::int64_t>(st_.labelled.size()));
        for (std::size_t k = static_cast<std::size_t>(round) + 1; active_ && k < sizes_.size(); ++k)
            remaining += static_cast<double>(sizes_[k] * epochs_);
        const std::string where = active_ ? "round " + std::to_string(round) + " (" +
                                                std::to_string(st_.labelled.size()) + " labelled), "
                                          : "";
        log::info(
            "replicate " + r_.id + ": " + where + "epoch " + std::to_string(s.epoch) + "/" +
            std::to_string(epochs_) + " loss " + std::to_string(last.loss) + " train accuracy " +
            std::to_string(last.train_accuracy) +
            (std::isnan(last.eval_accuracy)
                 ? std::string(" (not evaluated: train.eval_every)")
                 : " eval accuracy " + std::to_string(last.eval_accuracy)) +
            " eta " +
            format_duration(last.images_per_second > 0 ? remaining / last.images_per_second : 0.0));
        const bool stop = stop_requested();
        const bool due =
            cfg_.train.checkpoint_every > 0 && s.epoch % cfg_.train.checkpoint_every == 0;
        if ((due || stop) && s.epoch < epochs_) save(s);
        stopped_ = stop && s.epoch < epochs_;
        return !stop;
    }

    bool last_round(std::int64_t round) const {
        return static_cast<std::size_t>(round + 1) >= sizes_.size() ||
               static_cast<std::int64_t>(st_.labelled.size()) >= data_.train.count;
    }

    /// The finished round: its accuracy and, before a next round, its metrics and query.
    RoundRecord record_round(std::int64_t round) {
        RoundRecord rec;
        rec.labelled_size = static_cast<std::int64_t>(st_.labelled.size());
        rec.epochs = epochs_;
        rec.first_epoch = first_epoch_;
        rec.accuracy = state_.history.empty() ? 0.0 : state_.history.back().eval_accuracy;
        rec.class_histogram.assign(static_cast<std::size_t>(data_.classes), 0);
        if (active_ && al_.round_metrics && !last_round(round)) {
            log::info("replicate " + r_.id + ": round " + std::to_string(round) +
                      " computing metrics");
            const EvalOutputs e = embed(model_, data_.eval, ctx_.device, {});
            rec.metrics = analyze(analysis_input(e), cfg_.metrics, round_seed(r_.seeds.tsne, round),
                                  ctx_.threads);
        }
        if (active_ && !last_round(round)) query(round, rec);
        return rec;
    }

    /// Scores the unlabelled pool (or al.pool_subset of it) and picks the next batch to label
    /// into `rec`.
    void query(std::int64_t round, RoundRecord& rec) {
        std::vector<char> is_labelled(static_cast<std::size_t>(data_.train.count), 0);
        for (std::int64_t i : st_.labelled) is_labelled[static_cast<std::size_t>(i)] = 1;
        std::vector<std::int64_t> pool;
        for (std::int64_t i = 0; i < data_.train.count; ++i) {
            if (is_labelled[static_cast<std::size_t>(i)] == 0) pool.push_back(i);
        }
        if (al_.pool_subset > 0) {
            // This round's candidates, for every strategy alike (random included, so the
            // equal-budget control draws from candidates made the same way).
            pool = select_pool_subset(pool, al_.pool_subset,
                                      round_seed(mix_seed(r_.seeds.pool, 3), round));
            rec.pool_subset = pool;
        }
        log::info("replicate " + r_.id + ": round " + std::to_string(round) + " scoring " +
                  std::to_string(pool.size()) + " unlabelled images (" +
                  std::string(enum_name(al_.strategy)) + ")");
        const std::int64_t count =
            std::min<std::int64_t>(sizes_[static_cast<std::size_t>(round + 1)] -
                                       static_cast<std::int64_t>(st_.labelled.size()),
                                   static_cast<std::int64_t>(pool.size()));
        const bool mc = needs_mc_dropout(al_.strategy);
        const PoolScoring scoring{al_.score_batch_size, mc ? al_.mc_samples : 0,
                                  round_seed(mix_seed(r_.seeds.dropout, 2), round)};
        const PoolOutputs outputs = pool_outputs(model_, data_.train, pool, data_.train_spec,
                                                 data_.train_options, scoring, ctx_.device);
        std::optional<PoolOutputs> lab;
        if (needs_labelled_embeddings(al_.strategy) || al_.save_pool_outputs) {
            lab = pool_outputs(model_, data_.train, st_.labelled, data_.train_spec,
                               data_.train_options, PoolScoring{al_.score_batch_size, 0, 0},
                               ctx_.device);
        }
        Query q = query_pool(al_.strategy, outputs, lab ? &*lab : nullptr, count,
                             round_seed(mix_seed(r_.seeds.pool, 2), round));
        rec.scores = std::move(q.scores);
        for (std::int64_t p : q.picks) {
            const std::int64_t index = pool[static_cast<std::size_t>(p)];
            rec.queried.push_back(index);
            ++rec.class_histogram[static_cast<std::size_t>(
                data_.train.labels[static_cast<std::size_t>(index)])];
        }
        if (al_.save_pool_outputs) {
            rec.pool = pool;
            rec.pool_logits = tensor_values<float>(outputs.logits);
            rec.pool_embeddings = tensor_values<float>(outputs.embeddings);
            rec.labelled_embeddings = tensor_values<float>(lab->embeddings);
            if (mc) {
                rec.mc_probs = tensor_values<float>(outputs.mc_probs);
                rec.mc_samples = outputs.mc_probs.size(0);
            }
        }
    }

    /// Labels the last round's picks and checkpoints the round boundary, so the query is never
    /// redone; a stop request is honoured here too.
    void next_round(std::int64_t round) {
        st_.labelled.insert(st_.labelled.end(), st_.rounds.back().queried.begin(),
                            st_.rounds.back().queried.end());
        st_.round = round + 1;
        state_.epoch = 0;
        save(state_);
        log::info("replicate " + r_.id + ": round " + std::to_string(round) + " accuracy " +
                  std::to_string(st_.rounds.back().accuracy) + ", labelled " +
                  std::to_string(st_.labelled.size()));
        if (stop_requested()) stopped_ = true;
    }

    bool stop_requested() const { return ctx_.stop_requested && ctx_.stop_requested(); }

    /// The checkpoint, after the records of rounds finished since the last one (each round's
    /// record is written once, to its own file; the checkpoint's /al holds the pool, not them).
    void save(const TrainState& s) {
        const auto t0 = std::chrono::steady_clock::now();
        for (; active_ && records_saved_ < st_.rounds.size(); ++records_saved_) {
            const auto i = static_cast<std::int64_t>(records_saved_);
            save_round_record(round_record_path(ctx_.checkpoint, i), r_.id, i,
                              st_.rounds[records_saved_], data_.classes);
        }
        save_checkpoint(ctx_.checkpoint, r_.id, ctx_.origin, *model_, *optimizer_, s,
                        [this](h5::File& f) {
                            if (active_)
                                write_rounds(f, "/al", st_, al_, data_.classes, 0,
                                             /*records=*/false);
                        });
        std::error_code ec;
        const auto bytes = std::filesystem::file_size(ctx_.checkpoint, ec);
        log::debug("replicate " + r_.id + ": checkpoint at round " + std::to_string(st_.round) +
                   " epoch " + std::to_string(s.epoch) + " batch " +
                   std::to_string(s.partial.batches) + ": " + std::to_string(ec ? 0 : bytes) +
                   " bytes in " + std::to_string(seconds_since(t0)) + " s");
    }

    RoundsOutcome outcome() {
        RoundsOutcome o;
        o.history = state_.history;
        o.skipped_steps = state_.skipped_steps;
        o.loss_scale = state_.loss_scale;
        o.stopped = stopped_;
        if (stopped_) {
            const std::string batch = state_.partial.batches > 0
                                          ? ", batch " + std::to_string(state_.partial.batches)
                                          : std::string();
            o.message = active_ ? "checkpointed in round " + std::to_string(st_.round) +
                                      " at epoch " + std::to_string(state_.epoch) + batch
                                : "checkpointed at epoch " + std::to_string(state_.epoch) + batch;
            if (abandoned_) o.message += " (its metrics and query are redone on resume)";
        }
        if (active_) o.al = std::move(st_);
        return o;
    }

    const Replicate& r_;
    const Experiment& cfg_;
    const AlConfig& al_;
    const TrainingContext& ctx_;
    ResNet18& model_;
    TrainingData& data_;
    LoaderSource eval_source_;
    const bool active_;
    const std::vector<std::int64_t> sizes_; ///< labelled-set size per round
    const std::int64_t epochs_;             ///< per round
    std::unique_ptr<torch::optim::Optimizer> optimizer_;
    TrainState state_;
    AlState st_;
    std::int64_t first_epoch_ = 0;  ///< the current round's first entry in the history
    std::size_t records_saved_ = 0; ///< rounds whose record file is written
    bool stopped_ = false;
    bool abandoned_ = false; ///< stopped in a round's metrics or query
};

} // namespace

TrainingData::TrainingData(const Experiment& cfg, const DatasetFacts& facts,
                           const DataSplits& splits, int threads, std::uint64_t data_seed)
    : train(splits.train),
      train_spec(make_transform_spec(cfg.dataset, facts, splits.train, /*model_channels=*/3)),
      train_options(train_loader_options(cfg.train, threads)), classes(facts.classes),
      eval(splits.eval, all_indices(splits.eval.count),
           make_transform_spec(cfg.dataset, facts, splits.eval, /*model_channels=*/3),
           eval_loader_options(train_options, cfg.train.eval_batch_size, data_seed)) {}

RoundsOutcome run_rounds(const Replicate& r, const TrainingContext& ctx, ResNet18& model,
                         TrainingData& data) {
    return RoundLoop(r, ctx, model, data).run();
}

} // namespace sp
