#include "sp/stats/reduce.hpp"

#include "sp/config/sweep.hpp"
#include "sp/io/h5.hpp"
#include "sp/plan/identity.hpp"
#include "sp/stats/reduce_detail.hpp"
#include "sp/stats/reduce_record.hpp"
#include "sp/stats/trajectory.hpp"
#include "sp/util/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

namespace sp {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// One complete replicate file, as the reduction needs it.
struct ReplicateRow {
    std::string id;
    std::string sweep_name;
    std::string sp_major; ///< major part of the sp_version that wrote the file
    std::uint64_t seed = 0;
    Experiment config;
    std::vector<std::pair<std::string, std::string>> settings; ///< condition_settings(), as run
    std::string condition;                                     ///< condition_key(), as run
    std::string context;                                       ///< context_key(), as run
    std::map<std::string, double> values;
    std::optional<detail::RoundSeries> series; ///< AL rounds; nullopt for a baseline
};

/// "1" of "1.4.2": releases with another major version may compute differently.
std::string major_version(const std::string& version) {
    return version.substr(0, version.find('.'));
}

/// The condition of a replicate as it ran: `auto` is resolved with the device the file records
/// (provenance `device`, "cpu" or "cuda:N"), not the plan's guess, and the weights by the digest
/// the file records (`pretrained_sha256`, absent in files of older versions), so a replicate is
/// grouped with what it computed.
void identify(ReplicateRow& row, const std::string& device, const std::string& pretrained_sha256,
              std::uint64_t sweep_seed) {
    EffectiveSettings run = resolve_effective(row.config, device.rfind("cuda", 0) == 0);
    run.pretrained_sha256 = pretrained_sha256;
    row.settings = condition_settings(row.config, run, sweep_seed);
    row.condition = condition_key(row.config, run, sweep_seed);
    row.context = context_key(row.config, run, sweep_seed);
}

std::vector<std::string> h5_files(const std::string& dir) {
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec);
    if (ec) throw IoError(dir + ": cannot read the results directory: " + ec.message());
    std::vector<std::string> names;
    for (const auto& entry : it) {
        if (!entry.is_regular_file()) continue;
        const std::string name = entry.path().filename().string();
        if (name.size() > 3 && name.compare(name.size() - 3, 3, ".h5") == 0 && name != "summary.h5")
            names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

/// Replicate files by replicate ID: what the sweep records' planned replicates are matched with.
using FileStates = std::map<std::string, detail::ReplicateFileState>;

/// The replicate in file `name` of `dir`, if it is a complete one; a failed replicate goes to
/// `out.failed`, a file that is not a replicate result (or cannot be read) to `out.skipped`.
/// Every replicate file read, complete or failed, goes to `states`.
std::optional<ReplicateRow> read_replicate(const std::string& dir, const std::string& name,
                                           Reduction& out, FileStates& states) {
    const std::string path = dir + "/" + name;
    std::string id;
    try {
        const h5::File f = h5::File::open(path);
        if (!f.has_attribute("file_kind") ||
            f.read_attribute<std::string>("file_kind") != "replicate") {
            out.skipped.push_back(name);
            return std::nullopt;
        }
        id = f.read_attribute<std::string>("replicate_id");
        const bool complete = f.read_attribute<std::string>("status") == "complete";
        states[id] = {complete ? "complete" : "failed", f.read_attribute<std::string>("sp_version"),
                      f.read_attribute<std::string>("git_revision")};
        if (!complete) {
            out.failed.push_back(id + ": " +
                                 (f.has_attribute("error") ? f.read_attribute<std::string>("error")
                                                           : std::string("no error recorded")));
            return std::nullopt;
        }
        const h5::Group prov = f.open_group("/provenance");
        ReplicateRow row;
        row.id = id;
        row.sweep_name = prov.read_attribute<std::string>("sweep_name");
        row.sp_major = major_version(f.read_attribute<std::string>("sp_version"));
        row.seed = prov.read_attribute<std::uint64_t>("replicate_seed");
        row.config = parse_sweep(prov.read_attribute<std::string>("config_toml"),
                                 path + ":/provenance/config_toml")
                         .base;
        identify(row, prov.read_attribute<std::string>("device"),
                 prov.has_attribute("pretrained_sha256")
                     ? prov.read_attribute<std::string>("pretrained_sha256")
                     : std::string(),
                 prov.read_attribute<std::uint64_t>("sweep_seed"));
        if (f.exists("/eval") && f.open_group("/eval").has_attribute("accuracy"))
            row.values["accuracy"] = f.open_group("/eval").read_attribute<double>("accuracy");
        if (f.exists("/metrics/scalars")) {
            const h5::Group s = f.open_group("/metrics/scalars");
            for (const std::string& m : s.attribute_names())
                row.values[m] = s.read_attribute<double>(m);
        }
        row.series = detail::read_round_series(f);
        return row;
    } catch (const IoError& e) {
        if (!id.empty()) states.erase(id); // unreadable: "missing" to the sweep record
        out.skipped.push_back(name + " (" + e.what() + ")");
        return std::nullopt;
    }
}

/// The complete replicates of `dir`, in file-name (replicate ID) order.
std::vector<ReplicateRow> read_replicates(const std::string& dir, Reduction& out,
                                          FileStates& states) {
    std::vector<ReplicateRow> rows;
    for (const std::string& name : h5_files(dir)) {
        if (auto row = read_replicate(dir, name, out, states)) rows.push_back(std::move(*row));
    }
    return rows;
}

/// Every metric any replicate has: accuracy first, then the others sorted by name.
std::vector<std::string> metric_order(const std::vector<ReplicateRow>& rows) {
    std::set<std::string> names;
    for (const ReplicateRow& row : rows) {
        for (const auto& [m, v] : row.values) names.insert(m);
    }
    std::vector<std::string> out;
    if (names.count("accuracy") != 0) out.emplace_back("accuracy");
    for (const std::string& m : names) {
        if (m != "accuracy") out.push_back(m);
    }
    return out;
}

/// (sweep name, sp major version, condition_key): replicates that differ in any of these are
/// never pooled.
using GroupKey = std::tuple<std::string, std::string, std::string>;
/// Replicates of one condition, by GroupKey.
using Groups = std::map<GroupKey, std::vector<const ReplicateRow*>>;

Groups group_by_condition(const std::vector<ReplicateRow>& rows) {
    Groups groups;
    for (const ReplicateRow& row : rows)
        groups[{row.sweep_name, row.sp_major, row.condition}].push_back(&row);
    return groups;
}

/// The settings a label may show: the condition's, then the sp major version.
std::vector<std::pair<std::string, std::string>> label_settings(const ReplicateRow& row) {
    std::vector<std::pair<std::string, std::string>> out = row.settings;
    out.emplace_back("sp_version_major", row.sp_major);
    return out;
}

/// The condition keys whose values differ between conditions: they make the labels.
std::set<std::string> varying_keys(const Groups& groups) {
    std::map<std::string, std::set<std::string>> seen;
    for (const auto& [key, members] : groups) {
        for (const auto& [k, value] : label_settings(*members.front())) seen[k].insert(value);
    }
    std::set<std::string> varying;
    for (const auto& [key, values] : seen) {
        if (values.size() > 1) varying.insert(key);
    }
    return varying;
}

/// One condition from its replicates: labelled by the varying keys, seeds ascending.
Condition make_condition(const GroupKey& key, const std::vector<const ReplicateRow*>& members,
                         const std::set<std::string>& varying,
                         const std::vector<std::string>& metrics) {
    Condition c;
    std::tie(c.sweep_name, c.sp_version_major, c.identity) = key;
    const ReplicateRow& first = *members.front();
    c.strategy = first.config.al.strategy;
    c.context = first.context;
    for (const auto& [k, value] : label_settings(first)) {
        if (varying.count(k) != 0) c.label += (c.label.empty() ? "" : ", ") + k + "=" + value;
    }
    if (c.label.empty()) c.label = c.sweep_name;
    std::vector<const ReplicateRow*> sorted = members;
    std::sort(sorted.begin(), sorted.end(),
              [](const ReplicateRow* a, const ReplicateRow* b) { return a->seed < b->seed; });
    for (const ReplicateRow* row : sorted) {
        c.seeds.push_back(row->seed);
        c.ids.push_back(row->id);
        for (const std::string& m : metrics) {
            const auto it = row->values.find(m);
            c.values[m].push_back(it == row->values.end() ? kNaN : it->second);
        }
    }
    return c;
}

/// Conditions (same sweep, same condition key), sorted by sweep name, then label.
std::vector<Condition> make_conditions(const std::vector<ReplicateRow>& rows,
                                       const std::vector<std::string>& metrics) {
    const Groups groups = group_by_condition(rows);
    const std::set<std::string> varying = varying_keys(groups);
    std::vector<Condition> out;
    for (const auto& [key, members] : groups)
        out.push_back(make_condition(key, members, varying, metrics));
    std::sort(out.begin(), out.end(), [](const Condition& a, const Condition& b) {
        return std::tie(a.sweep_name, a.label, a.sp_version_major, a.identity) <
               std::tie(b.sweep_name, b.label, b.sp_version_major, b.identity);
    });
    return out;
}

std::vector<std::vector<stats::Summary>>
summarize_conditions(const std::vector<Condition>& conditions,
                     const std::vector<std::string>& metrics, std::int64_t bootstrap_resamples,
                     std::uint64_t seed) {
    std::vector<std::vector<stats::Summary>> out;
    for (const Condition& c : conditions) {
        std::vector<stats::Summary> per_metric;
        for (const std::string& m : metrics)
            per_metric.push_back(stats::summarize(c.values.at(m), 0.95, bootstrap_resamples, seed));
        out.push_back(std::move(per_metric));
    }
    return out;
}

/// "axis=label, ..." of a replicate's coordinates.
std::string coordinates_text(const std::map<std::string, std::string>& coordinates) {
    std::string out;
    for (const auto& [axis, label] : coordinates)
        out += (out.empty() ? "" : ", ") + axis + "=" + label;
    return out;
}

/// The record of `sweep` whose analysis counts: the most recently started (ties: the last by
/// file name); nullptr when no record has that sweep name.
const SweepRecord* latest_record(const std::vector<SweepRecord>& records,
                                 const std::string& sweep) {
    const SweepRecord* best = nullptr;
    for (const SweepRecord& rec : records) {
        if (rec.sweep_name != sweep) continue;
        if (best == nullptr ||
            std::tie(rec.started, rec.file_name) > std::tie(best->started, best->file_name))
            best = &rec;
    }
    return best;
}

/// What the analysis of every sweep name is reduced with, and each sweep's design (axes and
/// planned labels from its records).
struct SweepSetup {
    std::vector<SweepAnalysis> analyses; ///< sorted by name
    std::map<std::string, detail::SweepDesign> designs;
    /// (sweep name, replicate ID) -> axis -> label, from every record.
    std::map<std::pair<std::string, std::string>, std::map<std::string, std::string>> coordinates;
};

SweepSetup setup_sweeps(const std::string& dir, const std::vector<ReplicateRow>& rows,
                        const std::vector<SweepRecord>& records, const ReduceOptions& options) {
    SweepSetup out;
    std::set<std::string> names;
    for (const ReplicateRow& row : rows) names.insert(row.sweep_name);
    for (const SweepRecord& rec : records) {
        names.insert(rec.sweep_name);
        for (const PlannedReplicate& p : rec.replicates) {
            // Without the "seed" coordinate (the plan's seed index): a condition's replicates
            // differ in it.
            std::map<std::string, std::string> coords;
            for (const auto& [axis, label] : p.coordinates) {
                if (axis != "seed") coords.emplace(axis, label);
            }
            for (const auto& [axis, label] : coords)
                out.designs[rec.sweep_name].planned_labels[axis].insert(label);
            out.coordinates.emplace(std::make_pair(rec.sweep_name, p.id), std::move(coords));
        }
    }
    std::optional<AnalysisSpec> from_file;
    if (!options.analysis_file.empty()) from_file = load_analysis(options.analysis_file);
    for (const std::string& name : names) {
        SweepAnalysis a;
        a.sweep_name = name;
        a.source = "default (no record)";
        if (const SweepRecord* rec = latest_record(records, name)) {
            const Sweep sweep =
                parse_sweep(rec->sweep_toml, dir + "/sweeps/" + rec->file_name, rec->overrides);
            a.spec = sweep.analysis;
            a.source = "sweeps/" + rec->file_name;
            out.designs[name].axes = sweep.axes;
        }
        if (from_file) {
            a.spec = *from_file;
            a.source = "--analysis " + options.analysis_file;
        }
        out.analyses.push_back(std::move(a));
    }
    return out;
}

/// Adds every AL replicate's AUBC values (accuracy and its sweep's primary endpoints).
void add_aubc(std::vector<ReplicateRow>& rows, const std::vector<SweepAnalysis>& analyses) {
    for (ReplicateRow& row : rows) {
        if (!row.series) continue;
        const auto a = std::find_if(analyses.begin(), analyses.end(), [&](const SweepAnalysis& s) {
            return s.sweep_name == row.sweep_name;
        });
        for (const auto& [m, v] : detail::aubc_values(*row.series, a->spec.primary))
            row.values[m] = v;
    }
}

/// Drops the primary endpoints no replicate of the sweep has: a DataError when the analysis
/// declared them, a note (SweepAnalysis::primary_missing) for the defaults.
void check_primary(std::vector<SweepAnalysis>& analyses, const std::vector<ReplicateRow>& rows) {
    for (SweepAnalysis& a : analyses) {
        std::set<std::string> available;
        bool any = false;
        for (const ReplicateRow& row : rows) {
            if (row.sweep_name != a.sweep_name) continue;
            any = true;
            for (const auto& [m, v] : row.values) available.insert(m);
        }
        if (!any) continue; // a record without complete replicates: nothing to test
        std::vector<std::string> kept;
        for (const std::string& p : a.spec.primary) {
            if (available.count(p) != 0) {
                kept.push_back(p);
            } else if (a.spec.declared) {
                std::string list;
                for (const std::string& m : available) list += (list.empty() ? "" : ", ") + m;
                throw DataError(a.source + ": analysis.primary: endpoint '" + p +
                                "' is in no replicate of sweep '" + a.sweep_name +
                                "'; its replicates have: " + list);
            } else {
                a.primary_missing.push_back(p);
            }
        }
        a.spec.primary = kept;
    }
}

/// Per condition: its settings and record coordinates; and Condition::coordinates.
std::vector<detail::ConditionFacts>
condition_facts(std::vector<Condition>& conditions,
                const std::map<std::string, const ReplicateRow*>& by_id, const SweepSetup& setup) {
    std::vector<detail::ConditionFacts> out;
    for (Condition& c : conditions) {
        detail::ConditionFacts f;
        const ReplicateRow& first = *by_id.at(c.ids.front());
        f.settings.insert(first.settings.begin(), first.settings.end());
        for (const std::string& id : c.ids) {
            const auto it = setup.coordinates.find({c.sweep_name, id});
            if (it != setup.coordinates.end() && !it->second.empty()) {
                f.coordinates = it->second;
                break;
            }
        }
        c.coordinates = coordinates_text(f.coordinates);
        out.push_back(std::move(f));
    }
    return out;
}

/// The trajectories of the AL conditions, in condition order.
std::vector<Trajectory> trajectories(const Reduction& r,
                                     const std::map<std::string, const ReplicateRow*>& by_id,
                                     const ReduceOptions& options) {
    std::vector<Trajectory> out;
    for (std::size_t c = 0; c < r.conditions.size(); ++c) {
        const Condition& cond = r.conditions[c];
        std::vector<detail::RoundSeries> series;
        for (const std::string& id : cond.ids) {
            const ReplicateRow& row = *by_id.at(id);
            if (row.series) series.push_back(*row.series);
        }
        if (series.empty()) continue;
        const SweepAnalysis* a = detail::analysis_of(r, cond.sweep_name);
        out.push_back(detail::summarize_trajectory(c, cond.label, series, a->spec.primary,
                                                   options.bootstrap_resamples, options.seed));
    }
    return out;
}

} // namespace

namespace detail {

const SweepAnalysis* analysis_of(const Reduction& r, const std::string& name) {
    for (const SweepAnalysis& a : r.analyses) {
        if (a.sweep_name == name) return &a;
    }
    return nullptr;
}

std::string format_number(double v, int digits) {
    if (std::isnan(v)) return "-";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

std::string format_p(double p) {
    if (std::isnan(p)) return "-";
    char buf[64];
    std::snprintf(buf, sizeof buf, p < 1e-3 ? "%.1e" : "%.3f", p);
    return buf;
}

} // namespace detail

Reduction reduce_directory(const std::string& dir, const ReduceOptions& options) {
    Reduction out;
    out.directory = dir;
    out.bootstrap_resamples = options.bootstrap_resamples;
    FileStates states;
    std::vector<ReplicateRow> rows = read_replicates(dir, out, states);
    out.records = read_sweep_records(dir, out.unreadable_records);
    out.planned = detail::planned_status(out.records, states);
    out.replicates = static_cast<std::int64_t>(rows.size());
    SweepSetup setup = setup_sweeps(dir, rows, out.records, options);
    add_aubc(rows, setup.analyses);
    check_primary(setup.analyses, rows);
    out.analyses = std::move(setup.analyses);
    std::map<std::string, const ReplicateRow*> by_id;
    for (const ReplicateRow& row : rows) by_id[row.id] = &row;
    out.metrics = metric_order(rows);
    out.conditions = make_conditions(rows, out.metrics);
    const std::vector<detail::ConditionFacts> facts = condition_facts(out.conditions, by_id, setup);
    out.summaries = summarize_conditions(out.conditions, out.metrics, options.bootstrap_resamples,
                                         options.seed);
    out.trajectories = trajectories(out, by_id, options);
    out.comparisons = detail::compare_conditions(out, facts, setup.designs, options);
    return out;
}

} // namespace sp
