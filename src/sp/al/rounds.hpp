#pragma once
/// The record of an active-learning replicate's rounds: what each round trained, scored and
/// queried, and the labelled pool so far. Written as the /al group of the result file
/// (results-schema/replicate.toml, README.md) and read back to resume. A checkpoint holds the /al
/// group without the rounds' records; each finished round's record is written once, at its round
/// boundary, to a file of its own beside the checkpoint (round_record_path), so that a
/// checkpoint's size and cost do not grow with the number of rounds behind it.
///
///     sp::write_rounds(file, "/al", state, cfg.al, /*classes=*/10, /*compression=*/4);
///     sp::save_round_record(sp::round_record_path(checkpoint, 0), id, 0, state.rounds[0], 10);
///     sp::AlState resumed = sp::read_rounds(checkpoint, "/al");   // round_NNN groups: none

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
    /// With al.pool_subset > 0: the unlabelled training indices scored this round (the query's
    /// candidates), ascending; empty otherwise.
    std::vector<std::int64_t> pool_subset;
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
/// datasets labelled, labelled_size, accuracy; with `records`, one round_NNN subgroup per finished
/// round); `classes` shapes the pool logits, `compression` (0-9) applies to the rounds' metrics.
/// Throws IoError.
void write_rounds(h5::File& f, const std::string& path, const AlState& st, const AlConfig& al,
                  std::int64_t classes, int compression, bool records = true);

/// Reads back what write_rounds wrote at `path`, with the round_NNN subgroups present (none when
/// written without records: AlState::rounds is then empty). Throws IoError on a missing or
/// malformed group.
AlState read_rounds(const h5::File& f, const std::string& path);

/// Writes one round's record as the group `path` of `f` (a round_NNN group of /al). Throws
/// IoError.
void write_round(h5::File& f, const std::string& path, const RoundRecord& r, std::int64_t classes,
                 int compression);

/// Reads what write_round wrote at `path`. Throws IoError.
RoundRecord read_round(const h5::File& f, const std::string& path);

/// Where the record of round `round` of the replicate checkpointed at `checkpoint`
/// ("<dir>/<id>.h5") is kept until the result file supersedes it: "<dir>/<id>.al/round_NNN.h5".
std::string round_record_path(const std::string& checkpoint, std::int64_t round);

/// Writes round `round`'s record `r` of replicate `replicate_id` to `path` atomically (HDF5,
/// file_kind "al_round", the record as the group /round, uncompressed). Throws IoError.
void save_round_record(const std::string& path, const std::string& replicate_id, std::int64_t round,
                       const RoundRecord& r, std::int64_t classes);

/// Reads a record save_round_record wrote. Throws DataError when the file is missing, is not a
/// round record, or belongs to another replicate or round; IoError when it cannot be read.
RoundRecord load_round_record(const std::string& path, const std::string& replicate_id,
                              std::int64_t round);

/// Removes every round record kept beside `checkpoint` (its "<id>.al" folder); nothing to do
/// when there is none. Never throws.
void remove_round_records(const std::string& checkpoint) noexcept;

} // namespace sp
