#pragma once
/// The record of an active-learning replicate's rounds: what each round trained, scored and
/// queried, and the labelled pool so far. Written as the /al group of the result file and of
/// every checkpoint (results-schema/replicate.toml), and read back from a checkpoint to resume.
///
///     sp::write_rounds(file, "/al", state, cfg.al, /*classes=*/10, /*compression=*/4);
///     sp::AlState resumed = sp::read_rounds(checkpoint, "/al");

#include "sp/config/experiment.hpp"
#include "sp/io/h5.hpp"
#include "sp/metrics/analyze.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sp {

/// What one round of a replicate did (the /al/round_NNN group of the result file).
struct RoundRecord {
    std::int64_t labelled_size = 0;
    std::int64_t epochs = 0;                   ///< epochs trained this round
    std::int64_t first_epoch = 0;              ///< index of its first entry in the history
    double accuracy = 0.0;                     ///< evaluation accuracy after the round
    double seconds = 0.0;                      ///< wall time of the round's training and query
    std::vector<std::int64_t> queried;         ///< training-set indices picked after the round
    std::vector<double> scores;                ///< their scores (empty: random, BADGE)
    std::vector<std::int64_t> class_histogram; ///< classes of the picks (K)
    // With al.save_pool_outputs: what the query saw.
    std::vector<std::int64_t> pool;         ///< unlabelled training indices, in pool order
    std::vector<float> pool_logits;         ///< pool x K
    std::vector<float> pool_embeddings;     ///< pool x D
    std::vector<float> labelled_embeddings; ///< labelled x D (core-set)
    std::vector<float> mc_probs;            ///< T x pool x K (BALD)
    std::int64_t mc_samples = 0;
    std::optional<Analysis> metrics; ///< with al.round_metrics
};

/// The active-learning state carried across rounds and through checkpoints.
struct AlState {
    std::int64_t round = 0;
    std::vector<std::int64_t> labelled; ///< training indices, in the order they were labelled
    std::vector<RoundRecord> rounds;    ///< finished rounds
};

/// Writes `st` as the group `path` of `f` (attributes strategy, start, initial_sampling, round;
/// one round_NNN subgroup per finished round); `classes` shapes the pool logits, `compression`
/// (0-9) applies to the rounds' metrics. Throws IoError.
void write_rounds(h5::File& f, const std::string& path, const AlState& st, const AlConfig& al,
                  std::int64_t classes, int compression);

/// Reads back what write_rounds wrote at `path`. Throws IoError on a missing or malformed group.
AlState read_rounds(const h5::File& f, const std::string& path);

} // namespace sp
