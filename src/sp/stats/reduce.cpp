#include "sp/stats/reduce.hpp"

#include "sp/config/sweep.hpp"
#include "sp/io/atomic.hpp"
#include "sp/io/h5.hpp"
#include "sp/plan/identity.hpp"
#include "sp/stats/reduce_record.hpp"
#include "sp/util/error.hpp"
#include "sp/util/version.hpp"

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

std::string format(double v, int digits = 4) {
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

/// The metrics summary.md shows (all of them are in summary.h5).
const std::vector<std::string>& headline() {
    static const std::vector<std::string> names = {"accuracy",
                                                   "cosine_all_mean",
                                                   "cosine_within_mean",
                                                   "cosine_between_mean",
                                                   "silhouette_euclidean_tsne",
                                                   "silhouette_euclidean_raw",
                                                   "silhouette_cosine_raw",
                                                   "davies_bouldin_tsne",
                                                   "participation_ratio",
                                                   "nc1"};
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

/// Condition a against b on the seeds both have, every metric; Holm across the metrics.
Comparison compare(const std::vector<Condition>& conditions,
                   const std::vector<std::string>& metrics, std::size_t a, std::size_t b,
                   const std::string& kind) {
    const Condition& ca = conditions[a];
    const Condition& cb = conditions[b];
    Comparison cmp;
    cmp.a = a;
    cmp.b = b;
    cmp.kind = kind;
    std::vector<double> t_p, w_p;
    for (const std::string& m : metrics) {
        std::vector<double> x, y;
        for (std::size_t i = 0; i < ca.seeds.size(); ++i) {
            const auto j = std::find(cb.seeds.begin(), cb.seeds.end(), ca.seeds[i]);
            if (j == cb.seeds.end()) continue;
            x.push_back(ca.values.at(m)[i]);
            y.push_back(cb.values.at(m)[static_cast<std::size_t>(j - cb.seeds.begin())]);
        }
        cmp.tests.push_back(stats::paired_test(x, y));
        t_p.push_back(cmp.tests.back().t_p);
        w_p.push_back(cmp.tests.back().w_p);
    }
    cmp.t_p_holm = stats::holm(t_p);
    cmp.w_p_holm = stats::holm(w_p);
    return cmp;
}

/// Within a sweep, sp major version and context (which holds the sweep seed, weights and
/// effective device and precision): every strategy against baseline, and every strategy but
/// baseline and random against random.
std::vector<Comparison> pair_contrasts(const std::vector<Condition>& conditions,
                                       const std::vector<std::string>& metrics) {
    std::vector<Comparison> out;
    for (std::size_t i = 0; i < conditions.size(); ++i) {
        for (std::size_t j = 0; j < conditions.size(); ++j) {
            const Condition& ci = conditions[i];
            const Condition& cj = conditions[j];
            if (i == j || ci.sweep_name != cj.sweep_name || ci.context != cj.context ||
                ci.sp_version_major != cj.sp_version_major)
                continue;
            if (cj.strategy == Strategy::baseline && ci.strategy != Strategy::baseline)
                out.push_back(compare(conditions, metrics, i, j, "strategy_vs_baseline"));
            else if (cj.strategy == Strategy::random && ci.strategy != Strategy::random &&
                     ci.strategy != Strategy::baseline)
                out.push_back(compare(conditions, metrics, i, j, "strategy_vs_random"));
        }
    }
    return out;
}

} // namespace

Reduction reduce_directory(const std::string& dir, std::int64_t bootstrap_resamples,
                           std::uint64_t seed) {
    Reduction out;
    out.directory = dir;
    FileStates states;
    const std::vector<ReplicateRow> rows = read_replicates(dir, out, states);
    out.records = read_sweep_records(dir, out.unreadable_records);
    out.planned = detail::planned_status(out.records, states);
    out.replicates = static_cast<std::int64_t>(rows.size());
    out.metrics = metric_order(rows);
    out.conditions = make_conditions(rows, out.metrics);
    out.summaries = summarize_conditions(out.conditions, out.metrics, bootstrap_resamples, seed);
    out.comparisons = pair_contrasts(out.conditions, out.metrics);
    return out;
}

std::string summary_markdown(const Reduction& r) {
    std::ostringstream md;
    md << "# Summary of " << r.directory << "\n\n"
       << r.replicates << " complete replicates in " << r.conditions.size() << " conditions";
    if (!r.failed.empty()) md << ", " << r.failed.size() << " failed";
    md << ". Values: mean +- sample std [95% Student-t interval] over seeds (n).\n\n"
       << "A condition is one sweep name, one sp major version and one condition key: every key "
          "in the replicate ID (train.device and train.precision as run, the weights by file "
          "name, sweep.seed) but replicate.seed. Replicates that differ in any of these are never "
          "pooled; a heading names the keys in which its condition differs from the others. "
          "Comparisons pair equal replicate seeds within one context (same sweep seed, device "
          "and precision).\n\n";
    std::vector<std::size_t> shown;
    for (const std::string& m : headline()) {
        const auto it = std::find(r.metrics.begin(), r.metrics.end(), m);
        if (it != r.metrics.end())
            shown.push_back(static_cast<std::size_t>(it - r.metrics.begin()));
    }
    for (std::size_t c = 0; c < r.conditions.size(); ++c) {
        md << "## " << r.conditions[c].label
           << "\n\n| metric | n | mean +- std | 95% t | 95% bootstrap |\n"
           << "|---|---:|---|---|---|\n";
        for (std::size_t m : shown) {
            const stats::Summary& s = r.summaries[c][m];
            md << "| " << r.metrics[m] << " | " << s.n << " | " << format(s.mean) << " +- "
               << format(s.std) << " | [" << format(s.t_low) << ", " << format(s.t_high) << "] | ["
               << format(s.boot_low) << ", " << format(s.boot_high) << "] |\n";
        }
        md << "\n";
    }
    for (const Comparison& cmp : r.comparisons) {
        md << "## " << r.conditions[cmp.a].label << "  vs  " << r.conditions[cmp.b].label
           << "\n\nPaired on shared seeds; difference = first - second; p-values two-sided, "
              "Holm-corrected across all "
           << r.metrics.size() << " metrics.\n\n"
           << "| metric | n | mean diff | t | p (t, Holm) | W | p (Wilcoxon, Holm) | d_z | g |\n"
           << "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
        for (std::size_t m : shown) {
            const stats::PairedTest& t = cmp.tests[m];
            md << "| " << r.metrics[m] << " | " << t.n << " | " << format(t.mean_difference)
               << " | " << format(t.t) << " | " << format_p(cmp.t_p_holm[m]) << " | " << format(t.w)
               << " | " << format_p(cmp.w_p_holm[m]) << " | " << format(t.cohens_dz, 3) << " | "
               << format(t.hedges_g, 3) << " |\n";
        }
        md << "\n";
    }
    if (!r.failed.empty()) {
        md << "## Failed replicates\n\n";
        for (const std::string& f : r.failed) md << "- " << f << "\n";
        md << "\n";
    }
    md << detail::sweep_record_markdown(r);
    return md.str();
}

namespace {

/// The file's attributes and the metric names.
void write_summary_header(h5::File& f, const Reduction& r) {
    f.write_attribute("schema_version", std::int32_t{1});
    f.write_attribute("file_kind", "summary");
    f.write_attribute("sp_version", version());
    f.write_attribute("git_revision", git_revision());
    f.write_attribute("replicates", r.replicates);
    f.write_attribute("confidence", 0.95);
    f.write<std::string>("/metrics", r.metrics);
}

/// /conditions: one entry per condition; seeds and IDs concatenated, split by seed_offsets.
void write_conditions(h5::File& f, const std::vector<Condition>& conditions) {
    std::vector<std::string> label, sweep, strategy, identity, major;
    std::vector<std::int64_t> count, offsets{0};
    std::vector<std::uint64_t> seeds;
    std::vector<std::string> ids;
    for (const Condition& c : conditions) {
        label.push_back(c.label);
        sweep.push_back(c.sweep_name);
        strategy.emplace_back(enum_name(c.strategy));
        identity.push_back(c.identity);
        major.push_back(c.sp_version_major);
        count.push_back(static_cast<std::int64_t>(c.seeds.size()));
        seeds.insert(seeds.end(), c.seeds.begin(), c.seeds.end());
        ids.insert(ids.end(), c.ids.begin(), c.ids.end());
        offsets.push_back(static_cast<std::int64_t>(seeds.size()));
    }
    f.write<std::string>("/conditions/label", label);
    f.write<std::string>("/conditions/sweep_name", sweep);
    f.write<std::string>("/conditions/strategy", strategy);
    f.write<std::string>("/conditions/identity", identity);
    f.write<std::string>("/conditions/sp_version_major", major);
    f.write<std::int64_t>("/conditions/replicates", count);
    f.write<std::int64_t>("/conditions/seed_offsets", offsets);
    f.write<std::uint64_t>("/conditions/seeds", seeds);
    f.write<std::string>("/conditions/replicate_ids", ids);
}

/// /summary: [condition][metric] tables, one per Summary field.
void write_summaries(h5::File& f, const Reduction& r) {
    const h5::Shape shape = {static_cast<std::uint64_t>(r.conditions.size()),
                             static_cast<std::uint64_t>(r.metrics.size())};
    auto table = [&](const std::string& path, auto get) {
        std::vector<double> v;
        for (const auto& per_metric : r.summaries) {
            for (const stats::Summary& s : per_metric) v.push_back(get(s));
        }
        f.write<double>(path, v, shape);
    };
    std::vector<std::int64_t> n;
    for (const auto& per_metric : r.summaries) {
        for (const stats::Summary& s : per_metric) n.push_back(s.n);
    }
    f.write<std::int64_t>("/summary/n", n, shape);
    table("/summary/mean", [](const stats::Summary& s) { return s.mean; });
    table("/summary/std", [](const stats::Summary& s) { return s.std; });
    table("/summary/median", [](const stats::Summary& s) { return s.median; });
    table("/summary/min", [](const stats::Summary& s) { return s.min; });
    table("/summary/max", [](const stats::Summary& s) { return s.max; });
    table("/summary/t_low", [](const stats::Summary& s) { return s.t_low; });
    table("/summary/t_high", [](const stats::Summary& s) { return s.t_high; });
    table("/summary/bootstrap_low", [](const stats::Summary& s) { return s.boot_low; });
    table("/summary/bootstrap_high", [](const stats::Summary& s) { return s.boot_high; });
}

/// /comparisons: the pairs, then [comparison][metric] tables, one per test field.
void write_comparisons(h5::File& f, const Reduction& r) {
    const h5::Shape shape = {static_cast<std::uint64_t>(r.comparisons.size()),
                             static_cast<std::uint64_t>(r.metrics.size())};
    std::vector<std::int64_t> a, b, pn;
    std::vector<std::string> kind;
    for (const Comparison& c : r.comparisons) {
        a.push_back(static_cast<std::int64_t>(c.a));
        b.push_back(static_cast<std::int64_t>(c.b));
        kind.push_back(c.kind);
        for (const stats::PairedTest& t : c.tests) pn.push_back(t.n);
    }
    f.write<std::int64_t>("/comparisons/a", a);
    f.write<std::int64_t>("/comparisons/b", b);
    f.write<std::string>("/comparisons/kind", kind);
    f.write<std::int64_t>("/comparisons/n", pn, shape);
    auto table = [&](const std::string& path, auto get) {
        std::vector<double> v;
        for (const Comparison& c : r.comparisons) {
            for (std::size_t m = 0; m < c.tests.size(); ++m) v.push_back(get(c, m));
        }
        f.write<double>(path, v, shape);
    };
    table("/comparisons/mean_difference",
          [](const Comparison& c, std::size_t m) { return c.tests[m].mean_difference; });
    table("/comparisons/t", [](const Comparison& c, std::size_t m) { return c.tests[m].t; });
    table("/comparisons/t_p", [](const Comparison& c, std::size_t m) { return c.tests[m].t_p; });
    table("/comparisons/t_p_holm",
          [](const Comparison& c, std::size_t m) { return c.t_p_holm[m]; });
    table("/comparisons/w", [](const Comparison& c, std::size_t m) { return c.tests[m].w; });
    table("/comparisons/w_p", [](const Comparison& c, std::size_t m) { return c.tests[m].w_p; });
    table("/comparisons/w_p_holm",
          [](const Comparison& c, std::size_t m) { return c.w_p_holm[m]; });
    table("/comparisons/cohens_dz",
          [](const Comparison& c, std::size_t m) { return c.tests[m].cohens_dz; });
    table("/comparisons/hedges_g",
          [](const Comparison& c, std::size_t m) { return c.tests[m].hedges_g; });
}

} // namespace

void write_summary(const Reduction& r, const std::string& dir) {
    io::AtomicH5File out(dir + "/summary.h5");
    h5::File& f = out.file();
    write_summary_header(f, r);
    write_conditions(f, r.conditions);
    write_summaries(f, r);
    if (!r.comparisons.empty()) write_comparisons(f, r);
    if (!r.failed.empty()) f.write<std::string>("/failed", r.failed);
    detail::write_sweep_records(f, r);
    out.commit();
    io::write_file_atomic(dir + "/summary.md", summary_markdown(r));
}

} // namespace sp
