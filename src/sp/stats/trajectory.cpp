#include "sp/stats/trajectory.hpp"

#include "sp/util/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <sstream>

namespace sp::detail {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// The group of round i inside /al, as al/rounds.cpp names it.
std::string round_path(std::size_t round) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "/al/round_%03zu", round);
    return buf;
}

std::string join(const std::vector<std::int64_t>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
}

std::string format(double v) {
    if (std::isnan(v)) return "-";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

} // namespace

std::optional<RoundSeries> read_round_series(const h5::File& f) {
    if (f.object_type("/al") != h5::ObjectType::group) return std::nullopt;
    RoundSeries s;
    s.labelled_size = f.read<std::int64_t>("/al/labelled_size");
    std::vector<double> accuracy = f.read<double>("/al/accuracy");
    if (accuracy.size() != s.labelled_size.size()) {
        throw IoError(f.file_name() + ": /al/accuracy has " + std::to_string(accuracy.size()) +
                      " values but /al/labelled_size " + std::to_string(s.labelled_size.size()) +
                      ": one per round expected");
    }
    if (s.labelled_size.empty()) return std::nullopt;
    for (std::size_t i = 1; i < s.labelled_size.size(); ++i) {
        if (s.labelled_size[i] <= s.labelled_size[i - 1]) {
            throw IoError(f.file_name() + ": /al/labelled_size is not strictly increasing: " +
                          join(s.labelled_size));
        }
    }
    const std::size_t rounds = s.labelled_size.size();
    s.values["accuracy"] = std::move(accuracy);

    // Per-round metrics (al.round_metrics) only when every round has them: a series with gaps
    // would give an AUBC over part of the budget. The scalars are attributes of
    // metrics/scalars, as write_analysis writes them; read here directly, as the reduction reads
    // /metrics/scalars, because read_analysis lives in sp::nn (LibTorch) and sp_reduce does not.
    // The last round's model is the final model: al/loop.cpp computes no round metrics for it,
    // its metrics are the replicate's own /metrics/scalars.
    std::vector<std::map<std::string, double>> scalars;
    for (std::size_t i = 0; i < rounds; ++i) {
        const bool last = i + 1 == rounds;
        std::string path = round_path(i) + "/metrics/scalars";
        if (last && f.object_type(path) != h5::ObjectType::group) path = "/metrics/scalars";
        if (f.object_type(path) != h5::ObjectType::group) return s;
        const h5::Group g = f.open_group(path);
        std::map<std::string, double> round;
        for (const std::string& name : g.attribute_names())
            round[name] = g.read_attribute<double>(name);
        scalars.push_back(std::move(round));
    }
    for (const auto& [name, first] : scalars.front()) {
        if (name == "accuracy") continue;
        std::vector<double> v;
        for (const auto& round : scalars) {
            const auto it = round.find(name);
            if (it == round.end()) break;
            v.push_back(it->second);
        }
        if (v.size() == rounds) s.values[name] = std::move(v);
    }
    return s;
}

std::map<std::string, double> aubc_values(const RoundSeries& s,
                                          const std::vector<std::string>& endpoints) {
    std::map<std::string, double> out;
    if (s.labelled_size.size() < 2) return out;
    const std::vector<double> x(s.labelled_size.begin(), s.labelled_size.end());
    std::vector<std::string> metrics = {"accuracy"};
    for (const std::string& e : endpoints) {
        if (!contains(metrics, e)) metrics.push_back(e);
    }
    for (const std::string& m : metrics) {
        const auto it = s.values.find(m);
        if (it != s.values.end()) out["aubc_" + m] = stats::aubc(x, it->second);
    }
    return out;
}

Trajectory summarize_trajectory(std::size_t condition, const std::string& label,
                                const std::vector<RoundSeries>& seeds,
                                const std::vector<std::string>& endpoints,
                                std::int64_t bootstrap_resamples, std::uint64_t seed) {
    Trajectory t;
    t.condition = condition;
    t.metrics = {"accuracy"};
    if (seeds.empty()) return t;
    t.labelled_size = seeds.front().labelled_size;
    for (std::size_t k = 1; k < seeds.size(); ++k) {
        if (seeds[k].labelled_size != t.labelled_size) {
            throw DataError("condition " + label + ": replicates ran different budgets: labelled " +
                            "sizes " + join(seeds[k].labelled_size) + " and " +
                            join(t.labelled_size) + " per round; their trajectories cannot be " +
                            "summarised together (replicates of another plan in the directory?)");
        }
    }
    for (const std::string& e : endpoints) {
        if (contains(t.metrics, e)) continue;
        const bool everywhere = std::all_of(seeds.begin(), seeds.end(), [&](const RoundSeries& s) {
            return s.values.count(e) != 0;
        });
        if (everywhere) t.metrics.push_back(e);
    }
    const std::size_t rounds = t.labelled_size.size();
    for (const RoundSeries& s : seeds) {
        for (const std::string& m : t.metrics) {
            const auto it = s.values.find(m);
            if (it == s.values.end() || it->second.size() != rounds) {
                throw DataError("condition " + label + ": a replicate's '" + m + "' has " +
                                std::to_string(it == s.values.end() ? 0 : it->second.size()) +
                                " values for " + std::to_string(rounds) + " rounds");
            }
        }
    }
    t.rounds.resize(rounds);
    std::vector<double> x(seeds.size());
    for (std::size_t r = 0; r < rounds; ++r) {
        for (const std::string& m : t.metrics) {
            for (std::size_t k = 0; k < seeds.size(); ++k) x[k] = seeds[k].values.at(m)[r];
            t.rounds[r].push_back(stats::summarize(x, 0.95, bootstrap_resamples, seed));
        }
    }
    return t;
}

void write_trajectories(h5::File& f, const Reduction& r) {
    if (r.trajectories.empty()) return;
    std::vector<std::string> metrics;
    for (const Trajectory& t : r.trajectories) {
        for (const std::string& m : t.metrics) {
            if (!contains(metrics, m)) metrics.push_back(m);
        }
    }
    std::vector<std::int64_t> condition, offsets{0}, sizes;
    for (const Trajectory& t : r.trajectories) {
        condition.push_back(static_cast<std::int64_t>(t.condition));
        sizes.insert(sizes.end(), t.labelled_size.begin(), t.labelled_size.end());
        offsets.push_back(static_cast<std::int64_t>(sizes.size()));
    }
    const std::size_t cols = metrics.size();
    const h5::Shape shape = {static_cast<std::uint64_t>(sizes.size()),
                             static_cast<std::uint64_t>(cols)};
    std::vector<std::int64_t> n(sizes.size() * cols, 0);
    std::vector<double> mean(n.size(), kNaN), sd(n.size(), kNaN), lo(n.size(), kNaN),
        hi(n.size(), kNaN);
    std::size_t row = 0;
    for (const Trajectory& t : r.trajectories) {
        for (const auto& round : t.rounds) {
            for (std::size_t m = 0; m < t.metrics.size(); ++m) {
                const auto col = static_cast<std::size_t>(
                    std::find(metrics.begin(), metrics.end(), t.metrics[m]) - metrics.begin());
                const std::size_t i = row * cols + col;
                n[i] = round[m].n;
                mean[i] = round[m].mean;
                sd[i] = round[m].std;
                lo[i] = round[m].t_low;
                hi[i] = round[m].t_high;
            }
            ++row;
        }
    }
    f.write<std::int64_t>("/trajectories/condition", condition);
    f.write<std::int64_t>("/trajectories/round_offsets", offsets);
    f.write<std::int64_t>("/trajectories/labelled_size", sizes);
    f.write<std::string>("/trajectories/metrics", metrics);
    f.write<std::int64_t>("/trajectories/n", n, shape);
    f.write<double>("/trajectories/mean", mean, shape);
    f.write<double>("/trajectories/std", sd, shape);
    f.write<double>("/trajectories/t_low", lo, shape);
    f.write<double>("/trajectories/t_high", hi, shape);
}

std::string trajectories_markdown(const Reduction& r) {
    if (r.trajectories.empty()) return "";
    std::set<std::string> sweeps;
    for (const Condition& c : r.conditions) sweeps.insert(c.sweep_name);
    std::ostringstream md;
    md << "## Trajectories\n\n"
       << "Per round of each active-learning condition: the labelled-set size and, per metric, "
          "the mean over seeds [95% t interval] (n). Their normalised areas under the budget "
          "curve are the metrics `aubc_*` above.\n\n";
    for (const Trajectory& t : r.trajectories) {
        const Condition& c = r.conditions.at(t.condition);
        md << "### " << (c.label.empty() ? "all replicates" : c.label);
        if (sweeps.size() > 1) md << " (sweep " << c.sweep_name << ")";
        md << "\n\n| round | labelled |";
        for (const std::string& m : t.metrics) md << " " << m << " |";
        md << "\n|---:|---:|";
        for (std::size_t m = 0; m < t.metrics.size(); ++m) md << "---|";
        md << "\n";
        for (std::size_t i = 0; i < t.rounds.size(); ++i) {
            md << "| " << i << " | " << t.labelled_size[i] << " |";
            for (const stats::Summary& s : t.rounds[i]) {
                md << " " << format(s.mean) << " [" << format(s.t_low) << ", " << format(s.t_high)
                   << "] (" << s.n << ") |";
            }
            md << "\n";
        }
        md << "\n";
    }
    return md.str();
}

} // namespace sp::detail
