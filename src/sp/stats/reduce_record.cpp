#include "sp/stats/reduce_record.hpp"

#include <sstream>

namespace sp::detail {
namespace {

std::string coordinates_text(const PlannedReplicate& p) {
    std::string out;
    for (const auto& [axis, label] : p.coordinates)
        out += (out.empty() ? "" : ", ") + axis + "=" + label;
    return out;
}

/// /sweeps: one row per record; the overrides of record k are
/// overrides[override_offsets[k]:override_offsets[k+1]].
void write_sweeps(h5::File& f, const std::vector<SweepRecord>& records) {
    std::vector<std::string> name, file, text, command, started, version, revision, record_file;
    std::vector<std::uint64_t> seed;
    std::vector<std::string> overrides;
    std::vector<std::int64_t> offsets{0};
    for (const SweepRecord& r : records) {
        name.push_back(r.sweep_name);
        seed.push_back(r.sweep_seed);
        file.push_back(r.sweep_file);
        text.push_back(r.sweep_toml);
        command.push_back(r.command_line);
        started.push_back(r.started);
        version.push_back(r.sp_version);
        revision.push_back(r.git_revision);
        record_file.push_back("sweeps/" + r.file_name);
        overrides.insert(overrides.end(), r.overrides.begin(), r.overrides.end());
        offsets.push_back(static_cast<std::int64_t>(overrides.size()));
    }
    f.write<std::string>("/sweeps/record_file", record_file);
    f.write<std::string>("/sweeps/sweep_name", name);
    f.write<std::uint64_t>("/sweeps/sweep_seed", seed);
    f.write<std::string>("/sweeps/sweep_file", file);
    f.write<std::string>("/sweeps/sweep_toml", text);
    f.write<std::string>("/sweeps/command_line", command);
    f.write<std::int64_t>("/sweeps/override_offsets", offsets);
    f.write<std::string>("/sweeps/overrides", overrides);
    f.write<std::string>("/sweeps/started", started);
    f.write<std::string>("/sweeps/sp_version", version);
    f.write<std::string>("/sweeps/git_revision", revision);
}

/// /planned: one row per planned replicate of each record.
void write_planned(h5::File& f, const std::vector<PlannedStatus>& planned) {
    std::vector<std::int64_t> record;
    std::vector<std::uint64_t> seed;
    std::vector<std::string> id, coordinates, status, version, revision;
    for (const PlannedStatus& p : planned) {
        record.push_back(static_cast<std::int64_t>(p.record));
        id.push_back(p.id);
        seed.push_back(p.seed);
        coordinates.push_back(p.coordinates);
        status.push_back(p.status);
        version.push_back(p.sp_version);
        revision.push_back(p.git_revision);
    }
    f.write<std::int64_t>("/planned/sweep", record);
    f.write<std::string>("/planned/replicate_id", id);
    f.write<std::uint64_t>("/planned/seed", seed);
    f.write<std::string>("/planned/coordinates", coordinates);
    f.write<std::string>("/planned/status", status);
    f.write<std::string>("/planned/sp_version", version);
    f.write<std::string>("/planned/git_revision", revision);
}

/// Counts of one record's planned replicates by status, and the lines of those not complete.
void record_markdown(std::ostringstream& md, const Reduction& r, std::size_t k) {
    const SweepRecord& rec = r.records[k];
    std::size_t complete = 0, failed = 0, missing = 0;
    std::ostringstream lines;
    for (const PlannedStatus& p : r.planned) {
        if (p.record != k) continue;
        complete += p.status == "complete";
        failed += p.status == "failed";
        missing += p.status == "missing";
        if (p.status != "complete")
            lines << "- " << p.status << ": " << p.id << " ("
                  << (p.coordinates.empty() ? "seed " + std::to_string(p.seed) : p.coordinates)
                  << ")\n";
    }
    md << "### " << rec.sweep_name << ", sweep.seed " << rec.sweep_seed << " (sweeps/"
       << rec.file_name << ")\n\n"
       << "Started " << rec.started << " by sp " << rec.sp_version << " (" << rec.git_revision
       << ") from " << rec.sweep_file << ":\n\n    " << rec.command_line << "\n\n"
       << "Overrides: " << (rec.overrides.empty() ? "none" : "");
    for (std::size_t i = 0; i < rec.overrides.size(); ++i)
        md << (i == 0 ? "" : ", ") << "`" << rec.overrides[i] << "`";
    md << ".\n\n"
       << complete + failed + missing << " planned: " << complete << " complete, " << failed
       << " failed, " << missing << " missing.\n\n"
       << lines.str() << (lines.str().empty() ? "" : "\n");
}

} // namespace

std::vector<PlannedStatus> planned_status(const std::vector<SweepRecord>& records,
                                          const std::map<std::string, ReplicateFileState>& files) {
    std::vector<PlannedStatus> out;
    for (std::size_t k = 0; k < records.size(); ++k) {
        for (const PlannedReplicate& p : records[k].replicates) {
            PlannedStatus s;
            s.record = k;
            s.id = p.id;
            s.seed = p.seed;
            s.coordinates = coordinates_text(p);
            const auto it = files.find(p.id);
            s.status = it == files.end() ? "missing" : it->second.status;
            if (it != files.end()) {
                s.sp_version = it->second.sp_version;
                s.git_revision = it->second.git_revision;
            }
            out.push_back(std::move(s));
        }
    }
    return out;
}

void write_sweep_records(h5::File& f, const Reduction& r) {
    f.write_attribute("sweep_records", static_cast<std::int64_t>(r.records.size()));
    if (!r.unreadable_records.empty())
        f.write<std::string>("/unreadable_records", r.unreadable_records);
    if (r.records.empty()) return;
    write_sweeps(f, r.records);
    write_planned(f, r.planned);
}

std::string sweep_record_markdown(const Reduction& r) {
    std::ostringstream md;
    md << "## Sweep record\n\n";
    if (r.records.empty())
        md << "no sweep record: " << r.directory
           << "/sweeps/ holds none (files written by an sp older than sweep records, or copied "
              "together), so which replicates were planned, and which are missing, is "
              "unknown.\n\n";
    for (std::size_t k = 0; k < r.records.size(); ++k) record_markdown(md, r, k);
    for (const std::string& u : r.unreadable_records)
        md << "- unreadable record, ignored: " << u << "\n";
    if (!r.unreadable_records.empty()) md << "\n";
    return md.str();
}

} // namespace sp::detail
