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

/// Where training stands: the next epoch to run and what came before.
struct TrainState {
    std::int64_t epoch = 0;            ///< epochs completed; training resumes at this epoch
    std::int64_t step = 0;             ///< optimizer steps taken in all
    double loss_scale = 65536.0;       ///< fp16 dynamic loss scale (unused otherwise)
    std::int64_t scale_good_steps = 0; ///< finite steps since the scale last changed
    std::vector<EpochRecord> history;
};

/// Writes `history` as the datasets of a new group `path` (epoch, loss, train_accuracy,
/// eval_accuracy, seconds, images_per_second; results-schema/replicate.toml). Throws IoError.
void write_history(h5::Location& where, const std::string& path,
                   const std::vector<EpochRecord>& history);

/// Reads what write_history wrote. Throws IoError on a missing dataset or a wrong dtype.
std::vector<EpochRecord> read_history(const h5::Location& where, const std::string& path);

} // namespace sp
