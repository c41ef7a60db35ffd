// The reduction's outputs: summary.h5 (results-schema/summary.toml, version 3), summary.md and
// the seed plan of sp_reduce --plan-seeds.
#include "sp/stats/reduce_detail.hpp"

#include "sp/io/atomic.hpp"
#include "sp/io/h5.hpp"
#include "sp/stats/reduce_record.hpp"
#include "sp/stats/trajectory.hpp"
#include "sp/util/error.hpp"
#include "sp/util/version.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

namespace sp {
namespace {

using detail::format_number;
using detail::format_p;

/// The sign-flip and bootstrap settings every comparison uses (stats::PairedOptions defaults).
const stats::PairedOptions kPaired{};

/// The secondary metrics summary.md shows per comparison, and the condition metrics beyond the
/// primary endpoints (all of them are in summary.h5).
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

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

std::size_t metric_index(const Reduction& r, const std::string& m) {
    return static_cast<std::size_t>(std::find(r.metrics.begin(), r.metrics.end(), m) -
                                    r.metrics.begin());
}

std::string interval(double lo, double hi) {
    return "[" + format_number(lo) + ", " + format_number(hi) + "]";
}

const char* test_description(DeclaredTest t) {
    return t == DeclaredTest::sign_flip
               ? "the exact sign-flip permutation test of the mean paired difference (all 2^n "
                 "sign flips up to n = 20, seeded Monte Carlo above)"
               : "the paired t-test";
}

std::string percent(double power) {
    std::ostringstream s;
    s << power * 100 << "%";
    return s.str();
}

std::string equivalence_text(const Comparison& c, std::size_t m) {
    if (std::isnan(c.margin[m])) return "-";
    const std::string p =
        "TOST p " + format_p(c.tests[m].tost_p) + ", margin +-" + format_number(c.margin[m]);
    if (c.equivalent[m] == 1) return "equivalent (" + p + ")";
    if (c.equivalent[m] == 0) return "not shown (" + p + ")";
    return "no test (" + p + ")";
}

std::string seeds_text(double v) {
    if (std::isnan(v)) return "-";
    if (std::isinf(v)) return "> 1e7";
    return format_number(v, 10);
}

bool several_sweeps(const Reduction& r) {
    std::set<std::string> sweeps;
    for (const Condition& c : r.conditions) sweeps.insert(c.sweep_name);
    return sweeps.size() > 1;
}

std::string comparison_label(const Reduction& r, const Comparison& c) {
    return r.conditions[c.a].label + "  vs  " + r.conditions[c.b].label;
}

/// The comparisons of one sweep (indices into r.comparisons).
std::vector<std::size_t> comparisons_of(const Reduction& r, const std::string& sweep) {
    std::vector<std::size_t> out;
    for (std::size_t k = 0; k < r.comparisons.size(); ++k) {
        if (r.conditions[r.comparisons[k].a].sweep_name == sweep) out.push_back(k);
    }
    return out;
}

void primary_markdown(std::ostringstream& md, const Reduction& r) {
    md << "## Primary endpoints\n\n";
    const bool sweeps = several_sweeps(r);
    bool any = false;
    for (const SweepAnalysis& a : r.analyses) {
        const std::vector<std::size_t> cmps = comparisons_of(r, a.sweep_name);
        if (sweeps) md << "Sweep " << a.sweep_name << ": ";
        md << "analysis from " << a.source << ". ";
        if (!a.primary_missing.empty()) {
            md << "Default primary endpoints that no replicate has (not tested): ";
            for (std::size_t i = 0; i < a.primary_missing.size(); ++i)
                md << (i ? ", " : "") << a.primary_missing[i];
            md << ". ";
        }
        if (cmps.empty()) {
            md << "No comparisons: no two conditions of the sweep pair.\n\n";
            continue;
        }
        any = true;
        const Comparison& first = r.comparisons[cmps.front()];
        md << "The declared family is every primary endpoint (";
        for (std::size_t i = 0; i < a.spec.primary.size(); ++i)
            md << (i ? ", " : "") << a.spec.primary[i];
        md << ") x every comparison (" << cmps.size() << "): m = " << first.family_size
           << " tests, Holm-corrected at alpha = " << format_number(a.spec.alpha)
           << ". The declared p is " << test_description(a.spec.test)
           << ", two-sided. Differences are first - second, paired by replicate seed; MDD is "
              "the minimum detectable difference at "
           << percent(a.spec.power)
           << " power with the n run at alpha / m; seeds for effect: the pairs needed to detect "
              "the declared effect (analysis.effect). Secondary metrics (below) are "
              "exploratory.\n\n";
    }
    if (!any) return;
    md << "| " << (sweeps ? "sweep | " : "")
       << "contrast | comparison | endpoint | n | difference [95% t] | BCa 95% | p (declared) | "
          "p (Holm) | equivalence | MDD | seeds for effect |\n|"
       << (sweeps ? "---|" : "") << "---|---|---|---:|---|---|---:|---:|---|---:|---:|\n";
    for (const SweepAnalysis& a : r.analyses) {
        for (std::size_t k : comparisons_of(r, a.sweep_name)) {
            const Comparison& c = r.comparisons[k];
            for (const std::string& e : a.spec.primary) {
                const std::size_t m = metric_index(r, e);
                if (m >= r.metrics.size()) continue;
                const stats::PairedTest& t = c.tests[m];
                md << "| " << (sweeps ? a.sweep_name + " | " : "") << c.contrast << " | "
                   << comparison_label(r, c) << " | " << e << " | " << t.n << " | "
                   << format_number(t.mean_difference) << " " << interval(t.t_low, t.t_high)
                   << " | " << interval(t.bca_low, t.bca_high) << " | " << format_p(c.p[m]) << " | "
                   << format_p(c.p_holm[m]) << " | " << equivalence_text(c, m) << " | "
                   << format_number(c.mdd[m]) << " | " << seeds_text(c.seeds_needed[m]) << " |\n";
            }
        }
    }
    md << "\n";
}

void secondary_markdown(std::ostringstream& md, const Reduction& r) {
    if (r.comparisons.empty()) return;
    md << "## Secondary endpoints (exploratory)\n\n"
       << "Every other tested metric, with Benjamini-Hochberg q-values across all secondary "
          "tests of the sweep; p is the declared test's. Exploratory: not part of the declared "
          "family. Shown: the main metrics and the areas under the budget curve (aubc_*); all "
          "are in summary.h5 (/comparisons), as are the untested metrics (duplicates and "
          "diagnostics: differences and intervals only).\n\n";
    for (const Comparison& c : r.comparisons) {
        md << "### " << comparison_label(r, c) << "\n\n"
           << c.contrast << " (" << c.kind << ")\n\n"
           << "| metric | n | difference [95% t] | p | q (BH) |\n|---|---:|---|---:|---:|\n";
        std::vector<std::string> others;
        for (std::size_t m = 0; m < r.metrics.size(); ++m) {
            if (c.roles[m] != MetricRole::secondary) continue;
            const std::string& name = r.metrics[m];
            const bool shown = contains(headline(), name) || name.rfind("aubc_", 0) == 0;
            if (!shown) {
                if (c.q_bh[m] < 0.05) others.push_back(name + " (q " + format_p(c.q_bh[m]) + ")");
                continue;
            }
            const stats::PairedTest& t = c.tests[m];
            if (t.n == 0) continue;
            md << "| " << name << " | " << t.n << " | " << format_number(t.mean_difference) << " "
               << interval(t.t_low, t.t_high) << " | " << format_p(c.p[m]) << " | "
               << format_p(c.q_bh[m]) << " |\n";
        }
        md << "\n";
        if (!others.empty()) {
            md << "Other secondary metrics with q < 0.05: ";
            for (std::size_t i = 0; i < others.size(); ++i) md << (i ? ", " : "") << others[i];
            md << ".\n\n";
        }
    }
}

void conditions_markdown(std::ostringstream& md, const Reduction& r) {
    md << "## Conditions\n\n";
    for (std::size_t c = 0; c < r.conditions.size(); ++c) {
        const Condition& cond = r.conditions[c];
        std::vector<std::string> shown;
        if (const SweepAnalysis* a = detail::analysis_of(r, cond.sweep_name))
            shown = a->spec.primary;
        for (const std::string& m : headline()) {
            if (!contains(shown, m)) shown.push_back(m);
        }
        for (const std::string& m : r.metrics) {
            if (m.rfind("aubc_", 0) == 0 && !contains(shown, m)) shown.push_back(m);
        }
        md << "### " << cond.label << "\n\n";
        if (!cond.coordinates.empty()) md << "Coordinates: " << cond.coordinates << ".\n\n";
        md << "| metric | n | mean +- sd | median [IQR] | 95% t | 95% bootstrap |\n"
           << "|---|---:|---|---|---|---|\n";
        for (const std::string& name : shown) {
            const std::size_t m = metric_index(r, name);
            if (m >= r.metrics.size()) continue;
            const stats::Summary& s = r.summaries[c][m];
            if (s.n == 0) continue;
            md << "| " << name << " | " << s.n << " | " << format_number(s.mean) << " +- "
               << format_number(s.std) << " | " << format_number(s.median) << " "
               << interval(s.q25, s.q75) << " | " << interval(s.t_low, s.t_high) << " | "
               << interval(s.boot_low, s.boot_high) << " |\n";
        }
        md << "\n";
    }
}

// ---- summary.h5 --------------------------------------------------------------------------

/// The file's attributes and the metric names.
void write_summary_header(h5::File& f, const Reduction& r) {
    f.write_attribute("schema_version", std::int32_t{3});
    f.write_attribute("file_kind", "summary");
    f.write_attribute("sp_version", version());
    f.write_attribute("git_revision", git_revision());
    f.write_attribute("replicates", r.replicates);
    f.write_attribute("confidence", 0.95);
    f.write_attribute("bootstrap_resamples", r.bootstrap_resamples);
    f.write<std::string>("/metrics", r.metrics);
}

/// /analysis: one row per sweep name.
void write_analysis(h5::File& f, const Reduction& r) {
    if (r.analyses.empty()) return;
    std::vector<std::string> name, source, spec, test;
    std::vector<double> alpha, power;
    for (const SweepAnalysis& a : r.analyses) {
        name.push_back(a.sweep_name);
        source.push_back(a.source);
        spec.push_back(analysis_to_toml(a.spec));
        alpha.push_back(a.spec.alpha);
        test.emplace_back(declared_test_name(a.spec.test));
        power.push_back(a.spec.power);
    }
    f.write<std::string>("/analysis/sweep_name", name);
    f.write<std::string>("/analysis/source", source);
    f.write<std::string>("/analysis/spec_toml", spec);
    f.write<double>("/analysis/alpha", alpha);
    f.write<std::string>("/analysis/test", test);
    f.write<double>("/analysis/power", power);
}

/// /conditions: one entry per condition; seeds and IDs concatenated, split by seed_offsets.
void write_conditions(h5::File& f, const std::vector<Condition>& conditions) {
    std::vector<std::string> label, sweep, strategy, identity, major, coordinates;
    std::vector<std::int64_t> count, offsets{0};
    std::vector<std::uint64_t> seeds;
    std::vector<std::string> ids;
    for (const Condition& c : conditions) {
        label.push_back(c.label);
        sweep.push_back(c.sweep_name);
        strategy.emplace_back(enum_name(c.strategy));
        identity.push_back(c.identity);
        major.push_back(c.sp_version_major);
        coordinates.push_back(c.coordinates);
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
    f.write<std::string>("/conditions/coordinates", coordinates);
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
    table("/summary/q25", [](const stats::Summary& s) { return s.q25; });
    table("/summary/q75", [](const stats::Summary& s) { return s.q75; });
    table("/summary/min", [](const stats::Summary& s) { return s.min; });
    table("/summary/max", [](const stats::Summary& s) { return s.max; });
    table("/summary/t_low", [](const stats::Summary& s) { return s.t_low; });
    table("/summary/t_high", [](const stats::Summary& s) { return s.t_high; });
    table("/summary/bootstrap_low", [](const stats::Summary& s) { return s.boot_low; });
    table("/summary/bootstrap_high", [](const stats::Summary& s) { return s.boot_high; });
}

/// /comparisons: the pairs, then [comparison][metric] tables, one per field.
void write_comparisons(h5::File& f, const Reduction& r) {
    const h5::Shape shape = {static_cast<std::uint64_t>(r.comparisons.size()),
                             static_cast<std::uint64_t>(r.metrics.size())};
    std::vector<std::int64_t> a, b, family, pn;
    std::vector<std::int32_t> role, equivalent;
    std::vector<std::string> kind, contrast, factor, level_a, level_b;
    for (const Comparison& c : r.comparisons) {
        a.push_back(static_cast<std::int64_t>(c.a));
        b.push_back(static_cast<std::int64_t>(c.b));
        kind.push_back(c.kind);
        contrast.push_back(c.contrast);
        factor.push_back(c.factor);
        level_a.push_back(c.level_a);
        level_b.push_back(c.level_b);
        family.push_back(static_cast<std::int64_t>(c.family_size));
        for (std::size_t m = 0; m < c.tests.size(); ++m) {
            pn.push_back(c.tests[m].n);
            role.push_back(static_cast<std::int32_t>(c.roles[m]));
            equivalent.push_back(c.equivalent[m]);
        }
    }
    f.write<std::int64_t>("/comparisons/a", a);
    f.write<std::int64_t>("/comparisons/b", b);
    f.write<std::string>("/comparisons/kind", kind);
    f.write<std::string>("/comparisons/contrast", contrast);
    f.write<std::string>("/comparisons/factor", factor);
    f.write<std::string>("/comparisons/level_a", level_a);
    f.write<std::string>("/comparisons/level_b", level_b);
    f.write<std::int64_t>("/comparisons/family_size", family);
    f.write<std::int64_t>("/comparisons/n", pn, shape);
    f.write<std::int32_t>("/comparisons/role", role, shape);
    auto table = [&](const std::string& name, auto get) {
        std::vector<double> v;
        for (const Comparison& c : r.comparisons) {
            for (std::size_t m = 0; m < c.tests.size(); ++m) v.push_back(get(c, m));
        }
        f.write<double>("/comparisons/" + name, v, shape);
    };
    using C = const Comparison&;
    using M = std::size_t;
    table("mean_difference", [](C c, M m) { return c.tests[m].mean_difference; });
    table("sd_difference", [](C c, M m) { return c.tests[m].sd_difference; });
    table("diff_t_low", [](C c, M m) { return c.tests[m].t_low; });
    table("diff_t_high", [](C c, M m) { return c.tests[m].t_high; });
    table("diff_bca_low", [](C c, M m) { return c.tests[m].bca_low; });
    table("diff_bca_high", [](C c, M m) { return c.tests[m].bca_high; });
    table("t", [](C c, M m) { return c.tests[m].t; });
    table("t_p", [](C c, M m) { return c.tests[m].t_p; });
    table("signflip_p", [](C c, M m) { return c.tests[m].signflip_p; });
    table("p", [](C c, M m) { return c.p[m]; });
    table("p_holm", [](C c, M m) { return c.p_holm[m]; });
    table("q_bh", [](C c, M m) { return c.q_bh[m]; });
    table("margin", [](C c, M m) { return c.margin[m]; });
    table("tost_p", [](C c, M m) { return c.tests[m].tost_p; });
    f.write<std::int32_t>("/comparisons/equivalent", equivalent, shape);
    table("cohens_dz", [](C c, M m) { return c.tests[m].cohens_dz; });
    table("hedges_gz", [](C c, M m) { return c.tests[m].hedges_gz; });
    table("cohens_dav", [](C c, M m) { return c.tests[m].cohens_dav; });
    table("mdd", [](C c, M m) { return c.mdd[m]; });
    table("effect", [](C c, M m) { return c.effect[m]; });
    table("seeds_needed", [](C c, M m) { return c.seeds_needed[m]; });
    h5::Group g = f.open_group("/comparisons");
    g.write_attribute("signflip_exact_max_n", kPaired.exact_max_n);
    g.write_attribute("permutation_resamples", kPaired.permutation_resamples);
}

} // namespace

std::string summary_markdown(const Reduction& r) {
    std::ostringstream md;
    md << "# Summary of " << r.directory << "\n\n"
       << r.replicates << " complete replicates in " << r.conditions.size() << " conditions";
    if (!r.failed.empty()) md << ", " << r.failed.size() << " failed";
    md << ". A condition is one sweep name, one sp major version and one condition key: every "
          "key in the replicate ID (train.device and train.precision as run, the weights by "
          "content, sweep.seed) but replicate.seed; replicates that differ in any of these are "
          "never pooled, and a heading names the keys in which its condition differs from the "
          "others. Comparisons are the contrasts of each sweep's [analysis] table, paired by "
          "replicate seed; intervals are 95%, bootstrap intervals use "
       << r.bootstrap_resamples << " resamples.\n\n";
    primary_markdown(md, r);
    secondary_markdown(md, r);
    conditions_markdown(md, r);
    md << detail::trajectories_markdown(r);
    if (!r.failed.empty()) {
        md << "## Failed replicates\n\n";
        for (const std::string& f : r.failed) md << "- " << f << "\n";
        md << "\n";
    }
    md << detail::sweep_record_markdown(r);
    return md.str();
}

std::string seed_plan_markdown(const Reduction& r) {
    std::ostringstream md;
    md << "# Seed plan for " << r.directory << "\n\n"
       << "Per comparison and primary endpoint, from the observed standard deviation of the "
          "paired differences (sd): the minimum detectable difference (MDD) with the n seeds "
          "run, and the seeds needed to detect the declared effect (analysis.effect), for the "
          "two-sided paired t-test at the family's alpha / m and the analysis' power.\n\n";
    for (const SweepAnalysis& a : r.analyses) {
        const std::vector<std::size_t> cmps = comparisons_of(r, a.sweep_name);
        md << "## " << a.sweep_name << "\n\nAnalysis from " << a.source << "; ";
        if (cmps.empty()) {
            md << "no comparisons: no two conditions of the sweep pair.\n\n";
            continue;
        }
        const std::size_t m_family = r.comparisons[cmps.front()].family_size;
        md << "alpha " << format_number(a.spec.alpha) << " / m = " << m_family << ", power "
           << percent(a.spec.power) << ".";
        if (a.spec.effect.empty())
            md << " No effect declared (analysis.effect): the seeds needed are unknown; the MDD "
                  "says what the seeds run can detect.";
        md << "\n\n"
           << "| comparison | endpoint | n | sd | MDD | effect | seeds needed |\n"
           << "|---|---|---:|---:|---:|---:|---:|\n";
        for (std::size_t k : cmps) {
            const Comparison& c = r.comparisons[k];
            for (const std::string& e : a.spec.primary) {
                const std::size_t m = metric_index(r, e);
                if (m >= r.metrics.size()) continue;
                const stats::PairedTest& t = c.tests[m];
                md << "| " << comparison_label(r, c) << " | " << e << " | " << t.n << " | "
                   << format_number(t.sd_difference) << " | " << format_number(c.mdd[m]) << " | "
                   << format_number(c.effect[m]) << " | " << seeds_text(c.seeds_needed[m])
                   << " |\n";
            }
        }
        md << "\n";
    }
    return md.str();
}

void write_summary(const Reduction& r, const std::string& dir) {
    // Both files are written in full as temporaries before either is published, so that an
    // interruption or a failure leaves the two earlier files (or neither) rather than a new
    // summary.h5 beside an old summary.md; only the two renames lie between them.
    const std::string md_path = dir + "/summary.md";
    const std::string md_temp = io::create_temp_for(md_path);
    try {
        {
            const std::string text = summary_markdown(r);
            std::ofstream md(md_temp, std::ios::binary | std::ios::trunc);
            md.write(text.data(), static_cast<std::streamsize>(text.size()));
            md.close();
            if (!md) throw IoError(md_temp + ": cannot write the summary");
        }
        io::AtomicH5File out(dir + "/summary.h5");
        h5::File& f = out.file();
        write_summary_header(f, r);
        write_analysis(f, r);
        write_conditions(f, r.conditions);
        write_summaries(f, r);
        if (!r.comparisons.empty()) write_comparisons(f, r);
        detail::write_trajectories(f, r);
        if (!r.failed.empty()) f.write<std::string>("/failed", r.failed);
        detail::write_sweep_records(f, r);
        out.commit();
        io::publish_file(md_temp, md_path);
    } catch (...) {
        std::error_code ec;
        std::filesystem::remove(md_temp, ec); // gone already once published
        throw;
    }
}

} // namespace sp
