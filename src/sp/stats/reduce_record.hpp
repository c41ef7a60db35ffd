#pragma once
/// The reduction's part of the sweep record (internal to stats/): planned replicates against the
/// files of the directory, and their place in summary.h5 and summary.md.

#include "sp/io/h5.hpp"
#include "sp/stats/reduce.hpp"

#include <map>
#include <string>
#include <vector>

namespace sp::detail {

/// What a replicate file says about its replicate.
struct ReplicateFileState {
    std::string status; ///< "complete" | "failed"
    std::string sp_version;
    std::string git_revision;
};

/// Every replicate of every record with its state in `files` (by replicate ID); "missing" where
/// `files` has none.
std::vector<PlannedStatus> planned_status(const std::vector<SweepRecord>& records,
                                          const std::map<std::string, ReplicateFileState>& files);

/// The root attribute `sweep_records`, and /sweeps and /planned when there are records
/// (results-schema/summary.toml).
void write_sweep_records(h5::File& f, const Reduction& r);

/// summary.md's "Sweep record" section: per record the command line, overrides and counts, then
/// the missing and failed replicates; or "no sweep record".
std::string sweep_record_markdown(const Reduction& r);

} // namespace sp::detail
