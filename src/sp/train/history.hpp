#pragma once
/// What training records as it goes: one record per epoch, and where training stands.

#include "sp/io/h5.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace sp {

/// One epoch's record (the /history datasets of a result file).
struct EpochRecord {
    std::int32_t epoch = 0;       ///< 0-based within the run
    double loss = 0;              ///< mean training loss over the epoch's images
    double train_accuracy = 0;    ///< fraction of training images classified right (train mode)
    double eval_accuracy = 0;     ///< fraction of evaluation images classified right
    double seconds = 0;           ///< wall time of the epoch, training and evaluation
    double images_per_second = 0; ///< training images / training seconds
};

/// The sums of an epoch stopped part-way (a stop signal at a batch boundary), so that the
/// resumed epoch's record equals the uninterrupted one's (seconds aside).
struct PartialEpoch {
    std::int64_t batches = 0; ///< batches of the epoch already trained; 0 = at an epoch boundary
    double loss_sum = 0;      ///< summed (not mean) training loss over those batches' images
    std::int64_t correct = 0; ///< training images classified right in those batches
    std::int64_t seen = 0;    ///< training images in those batches
    double seconds = 0;       ///< training wall time of those batches
};

/// Where training stands: the next epoch (and batch) to run and what came before.
struct TrainState {
    std::int64_t epoch = 0;            ///< epochs completed; training resumes at this epoch
    std::int64_t step = 0;             ///< optimizer steps taken in all (skipped ones included)
    double loss_scale = 65536.0;       ///< fp16 dynamic loss scale (unused otherwise)
    std::int64_t scale_good_steps = 0; ///< finite steps since the scale last changed
    std::int64_t skipped_steps = 0;    ///< fp16 steps skipped on non-finite gradients, in all
    PartialEpoch partial;              ///< epoch `epoch` so far, when stopped mid-epoch
    std::vector<EpochRecord> history;
};

/// Writes `history` as the datasets of a new group `path` (epoch, loss, train_accuracy,
/// eval_accuracy, seconds, images_per_second; results-schema/replicate.toml). Throws IoError.
void write_history(h5::Location& where, const std::string& path,
                   const std::vector<EpochRecord>& history);

/// Reads what write_history wrote. Throws IoError on a missing dataset or a wrong dtype.
std::vector<EpochRecord> read_history(const h5::Location& where, const std::string& path);

} // namespace sp
