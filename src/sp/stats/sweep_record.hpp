#pragma once
/// The sweep record: what a sweep planned for one results directory, written by sp_sweep when a
/// run starts and read by the reduction, so that `sp_reduce DIR` can tell complete, failed and
/// missing replicates apart from the directory alone.
///
///     const auto records = sp::make_sweep_records(plan, sweep_text, sp::command_line(argc, argv),
///                                                 overrides);
///     for (const auto& r : records) sp::write_sweep_record(r);   // <dir>/sweeps/<...>.toml
///     ...
///     std::vector<std::string> unreadable;
///     const auto found = sp::read_sweep_records("results/quick", unreadable);
///
/// One record per (directory, plan): `<output.dir>/sweeps/<name>-<sweep seed>-<plan hash>.toml`,
/// where the plan hash is the first 4 bytes (8 hex digits) of the SHA-256 of the directory's
/// planned replicate IDs, sorted and joined by newlines. Rerunning the same plan (a resume)
/// replaces its record; another plan (other overrides, other seeds) gets its own, so sweeps that
/// share a directory never overwrite each other's records. results-schema/README.md describes
/// the file.

#include "sp/plan/plan.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sp {

/// One replicate a sweep planned.
struct PlannedReplicate {
    std::string id;
    std::uint64_t seed = 0;                                       ///< replicate seed
    std::vector<std::pair<std::string, std::string>> coordinates; ///< axis -> label
};

/// What one sweep run planned for one results directory.
struct SweepRecord {
    std::string directory;  ///< the results directory (output.dir)
    std::string file_name;  ///< "<name>-<seed>-<plan hash>.toml", under <directory>/sweeps/
    std::string sweep_name; ///< sweep.name
    std::uint64_t sweep_seed = 0;
    std::string sweep_file;   ///< the sweep file as given, or "<embedded sweeps/quick.toml>"
    std::string sweep_toml;   ///< the sweep file's text, before overrides
    std::string command_line; ///< the sp_sweep command, shell-quoted
    std::vector<std::string> overrides; ///< the --set arguments, in order, as given
    std::string sp_version;             ///< sp that planned the run
    std::string git_revision;
    std::string started;                      ///< UTC, ISO 8601
    std::vector<PlannedReplicate> replicates; ///< the plan's replicates for this directory
};

/// The text of sweep file `path` (the embedded sweeps/quick.toml when `path` is empty): what
/// sp_sweep parses and records, read once. ConfigError naming the file if it cannot be read.
std::string sweep_file_text(const std::string& path);

/// `argv` as one shell-quoted line: words of safe characters as they are, others in single
/// quotes.
std::string command_line(int argc, const char* const* argv);

/// One record per results directory the plan writes to (the replicates' output.dir), each with
/// the replicates of that directory, in plan order.
std::vector<SweepRecord> make_sweep_records(const Plan& plan, const std::string& sweep_toml,
                                            const std::string& command_line,
                                            const std::vector<std::string>& overrides);

/// The record as TOML text (what write_sweep_record writes).
std::string sweep_record_toml(const SweepRecord& r);

/// Writes `<r.directory>/sweeps/<r.file_name>` atomically (created with the directories it
/// needs, like every other output). IoError if it cannot.
void write_sweep_record(const SweepRecord& r);

/// Parses a record's text; `where` names it in messages. Throws DataError naming `where` and
/// the key if the text is not a sweep record.
SweepRecord parse_sweep_record(const std::string& text, const std::string& where);

/// Every `<dir>/sweeps/*.toml`, in file-name order. A file that cannot be read or is not a sweep
/// record is left out and noted in `unreadable` ("sweeps/x.toml: why"). No sweeps/ folder: none.
std::vector<SweepRecord> read_sweep_records(const std::string& dir,
                                            std::vector<std::string>& unreadable);

} // namespace sp
