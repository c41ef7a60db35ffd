// The reduction's comparisons: which conditions a sweep's contrasts pair (the defaults: every
// strategy against baseline and random within a context; declared contrasts: partners that
// differ only in the contrast's factor), the paired tests on shared seeds, and the families:
// Holm over the declared family, Benjamini-Hochberg over the secondary metrics, power of the
// primary endpoints.
#include "sp/stats/reduce_detail.hpp"

#include "sp/config/value.hpp"
#include "sp/util/error.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>

namespace sp::detail {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// A pair of conditions one contrast makes, before testing.
struct Pair {
    std::size_t a = 0;
    std::size_t b = 0;
    std::string kind;
    std::string contrast;
    std::string factor;
    std::string level_a;
    std::string level_b;
};

/// The default contrasts, as before issue 15: within a sweep, sp major version and context
/// (which holds the sweep seed, weights and effective device and precision), every strategy
/// against baseline, and every strategy but baseline and random against random. Conditions
/// `first` .. `last` - 1 are the sweep's.
std::vector<Pair> default_pairs(const std::vector<Condition>& conditions, std::size_t first,
                                std::size_t last) {
    const std::vector<Contrast> defaults = default_contrasts();
    auto find = [&](const std::string& b) {
        for (const Contrast& c : defaults) {
            if (c.b == b) return c;
        }
        Contrast c;
        c.factor = "al.strategy";
        c.a = "*";
        c.b = b;
        return c;
    };
    const Contrast vs_baseline = find("baseline");
    const Contrast vs_random = find("random");
    std::vector<Pair> out;
    for (std::size_t i = first; i < last; ++i) {
        for (std::size_t j = first; j < last; ++j) {
            const Condition& ci = conditions[i];
            const Condition& cj = conditions[j];
            if (i == j || ci.context != cj.context || ci.sp_version_major != cj.sp_version_major)
                continue;
            const Contrast* c = nullptr;
            std::string kind;
            if (cj.strategy == Strategy::baseline && ci.strategy != Strategy::baseline) {
                c = &vs_baseline;
                kind = "strategy_vs_baseline";
            } else if (cj.strategy == Strategy::random && ci.strategy != Strategy::random &&
                       ci.strategy != Strategy::baseline) {
                c = &vs_random;
                kind = "strategy_vs_random";
            }
            if (c == nullptr) continue;
            out.push_back({i, j, kind, c->name(), c->factor, std::string(enum_name(ci.strategy)),
                           std::string(enum_name(cj.strategy))});
        }
    }
    return out;
}

/// A TOML string value without its quotes; other values as they are.
std::string unquote(const std::string& v) {
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return v.substr(1, v.size() - 2);
    return v;
}

const Axis* find_axis(const SweepDesign& d, const std::string& name) {
    for (const Axis& a : d.axes) {
        if (a.name == name) return &a;
    }
    return nullptr;
}

/// How one declared contrast sees the conditions of its sweep.
class DeclaredPairing {
  public:
    DeclaredPairing(const Contrast& contrast, const SweepDesign& design,
                    const std::vector<Condition>& conditions,
                    const std::vector<ConditionFacts>& facts)
        : c_(contrast), design_(design), conditions_(conditions), facts_(facts),
          axis_(find_axis(design, contrast.factor)) {
        // The keys the factor may change within a pair, and the axes that set it.
        if (axis_ != nullptr) {
            factor_axes_.insert(axis_->name);
            if (axis_->is_variant) {
                for (const auto& point : axis_->points) {
                    for (const Setting& s : point) allowed_.insert(s.key);
                }
            } else {
                allowed_.insert(c_.factor);
            }
            // What [[sweep.rules]] naming this axis set changes with its point too.
            allowed_.insert(axis_->rule_keys.begin(), axis_->rule_keys.end());
        } else {
            allowed_.insert(c_.factor);
        }
        for (const Axis& a : design_.axes) {
            for (const auto& point : a.points) {
                for (const Setting& s : point) {
                    axis_keys_.insert(s.key);
                    if (s.key == c_.factor) factor_axes_.insert(a.name);
                }
            }
        }
    }

    /// The factor's level of condition i; nullopt when it has none.
    std::optional<std::string> level(std::size_t i) const {
        const ConditionFacts& f = facts_[i];
        if (axis_ != nullptr) {
            const auto it = f.coordinates.find(axis_->name);
            if (it != f.coordinates.end()) return it->second;
            if (axis_->is_variant) return variant_label(f);
        }
        const auto it = f.settings.find(c_.factor);
        if (it != f.settings.end()) return unquote(it->second);
        return std::nullopt;
    }

    /// The pairs of the sweep's conditions `first` .. `last` - 1.
    std::vector<Pair> pairs(const std::string& sweep, std::size_t first, std::size_t last) const {
        std::vector<std::optional<std::string>> levels;
        std::vector<std::string> present; // in condition order, unique
        for (std::size_t i = first; i < last; ++i) {
            levels.push_back(level(i));
            if (levels.back() &&
                std::find(present.begin(), present.end(), *levels.back()) == present.end())
                present.push_back(*levels.back());
        }
        if (axis_ == nullptr && present.empty())
            fail(sweep, "factor '" + c_.factor + "' is neither an axis of the sweep nor a " +
                            "condition key of its replicates");
        check_level(sweep, c_.b, present);
        if (c_.a != "*") check_level(sweep, c_.a, present);
        auto is_a = [&](const std::string& level) {
            if (c_.a != "*") return level == c_.a;
            return level != c_.b && !(c_.b == "random" && level == "baseline");
        };
        std::vector<Pair> out;
        for (std::size_t i = first; i < last; ++i) {
            const auto& la = levels[i - first];
            if (!la || !is_a(*la)) continue;
            for (std::size_t j = first; j < last; ++j) {
                const auto& lb = levels[j - first];
                if (j == i || !lb || *lb != c_.b ||
                    conditions_[i].sp_version_major != conditions_[j].sp_version_major ||
                    !candidates(i, j))
                    continue;
                check_only_factor_differs(i, j);
                out.push_back({i, j, "declared", c_.name(), c_.factor, *la, *lb});
            }
        }
        return out;
    }

  private:
    /// The label of the variant point whose settings condition `f` has, if exactly one.
    std::optional<std::string> variant_label(const ConditionFacts& f) const {
        std::optional<std::string> found;
        for (std::size_t p = 0; p < axis_->points.size(); ++p) {
            bool all = true;
            for (const Setting& s : axis_->points[p]) {
                const auto it = f.settings.find(s.key);
                all = all && it != f.settings.end() && it->second == value_to_toml(s.value);
            }
            if (!all) continue;
            if (found) return std::nullopt;
            found = axis_->labels[p];
        }
        return found;
    }

    [[noreturn]] void fail(const std::string& sweep, const std::string& why) const {
        throw DataError(
            (c_.source.file.empty() ? std::string("analysis.contrasts") : c_.source.describe()) +
            ": contrast '" + c_.name() + "' of sweep '" + sweep + "': " + why);
    }

    /// A level must be some condition's or a planned coordinate's.
    void check_level(const std::string& sweep, const std::string& level,
                     const std::vector<std::string>& present) const {
        if (std::find(present.begin(), present.end(), level) != present.end()) return;
        std::set<std::string> known(present.begin(), present.end());
        if (axis_ != nullptr) {
            const auto it = design_.planned_labels.find(axis_->name);
            if (it != design_.planned_labels.end()) {
                if (it->second.count(level) != 0) return;
                known.insert(it->second.begin(), it->second.end());
            }
        }
        std::string list;
        for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
        fail(sweep, "level '" + level + "' matches no condition; the levels of '" + c_.factor +
                        "' are: " + (list.empty() ? "(none)" : list));
    }

    /// Whether j is i's partner: with coordinates, equal coordinates but on the factor's axes
    /// and equal settings outside the axes and the factor; without, equal settings outside the
    /// factor's keys.
    bool candidates(std::size_t i, std::size_t j) const {
        const ConditionFacts& a = facts_[i];
        const ConditionFacts& b = facts_[j];
        if (!a.coordinates.empty() && !b.coordinates.empty()) {
            std::set<std::string> axes;
            for (const auto& [k, v] : a.coordinates) axes.insert(k);
            for (const auto& [k, v] : b.coordinates) axes.insert(k);
            for (const std::string& axis : axes) {
                if (factor_axes_.count(axis) != 0) continue;
                if (value(a.coordinates, axis) != value(b.coordinates, axis)) return false;
            }
            for (const std::string& k : keys(a, b)) {
                if (axis_keys_.count(k) == 0 && allowed_.count(k) == 0 &&
                    value(a.settings, k) != value(b.settings, k))
                    return false;
            }
            return true;
        }
        for (const std::string& k : keys(a, b)) {
            if (allowed_.count(k) == 0 && value(a.settings, k) != value(b.settings, k))
                return false;
        }
        return true;
    }

    /// DataError when partners differ in a setting outside the factor's keys.
    void check_only_factor_differs(std::size_t i, std::size_t j) const {
        const ConditionFacts& a = facts_[i];
        const ConditionFacts& b = facts_[j];
        std::string diffs;
        std::set<std::string> other;
        for (const std::string& k : keys(a, b)) {
            if (allowed_.count(k) != 0 || value(a.settings, k) == value(b.settings, k)) continue;
            other.insert(k);
            diffs += (diffs.empty() ? "" : "; ") + k + " (" + value(a.settings, k) + " vs " +
                     value(b.settings, k) + ")";
        }
        if (diffs.empty()) return;
        std::string hint;
        for (const Axis& axis : design_.axes) {
            if (!axis.is_variant || axis.name == c_.factor) continue;
            std::set<std::string> sets;
            for (const auto& point : axis.points) {
                for (const Setting& s : point) sets.insert(s.key);
            }
            const bool covers =
                std::all_of(other.begin(), other.end(),
                            [&](const std::string& k) { return sets.count(k) != 0; }) &&
                (allowed_.size() != 1 || sets.count(*allowed_.begin()) != 0);
            if (covers)
                hint = ": here the variant axis '" + axis.name + "' sets them, so factor = \"" +
                       axis.name + "\" compares its levels";
        }
        throw DataError(
            (c_.source.file.empty() ? std::string("analysis.contrasts") : c_.source.describe()) +
            ": contrast '" + c_.name() + "' pairs condition '" + conditions_[i].label + "' with '" +
            conditions_[j].label + "', which differ in more than '" + c_.factor + "': " + diffs +
            ". A contrast compares conditions that differ only in its factor; " +
            "to compare them as they are, declare the variant axis that sets these keys " +
            "together and use it as the contrast's factor" + hint + ".");
    }

    static std::set<std::string> keys(const ConditionFacts& a, const ConditionFacts& b) {
        std::set<std::string> out;
        for (const auto& [k, v] : a.settings) out.insert(k);
        for (const auto& [k, v] : b.settings) out.insert(k);
        return out;
    }

    static std::string value(const std::map<std::string, std::string>& m, const std::string& k) {
        const auto it = m.find(k);
        return it == m.end() ? "(absent)" : it->second;
    }

    const Contrast& c_;
    const SweepDesign& design_;
    const std::vector<Condition>& conditions_;
    const std::vector<ConditionFacts>& facts_;
    const Axis* axis_;
    std::set<std::string> allowed_;     ///< keys that may differ within a pair
    std::set<std::string> factor_axes_; ///< axes that set the factor
    std::set<std::string> axis_keys_;   ///< keys any axis sets
};

/// Condition a against b on the seeds both have, every metric.
Comparison compare(const std::vector<Condition>& conditions,
                   const std::vector<std::string>& metrics, const Pair& pair,
                   const AnalysisSpec& spec, const ReduceOptions& options) {
    const Condition& ca = conditions[pair.a];
    const Condition& cb = conditions[pair.b];
    Comparison cmp;
    cmp.a = pair.a;
    cmp.b = pair.b;
    cmp.kind = pair.kind;
    cmp.contrast = pair.contrast;
    cmp.factor = pair.factor;
    cmp.level_a = pair.level_a;
    cmp.level_b = pair.level_b;
    for (const std::string& m : metrics) {
        std::vector<double> x, y;
        for (std::size_t i = 0; i < ca.seeds.size(); ++i) {
            const auto j = std::find(cb.seeds.begin(), cb.seeds.end(), ca.seeds[i]);
            if (j == cb.seeds.end()) continue;
            x.push_back(ca.values.at(m)[i]);
            y.push_back(cb.values.at(m)[static_cast<std::size_t>(j - cb.seeds.begin())]);
        }
        stats::PairedOptions o;
        o.confidence = 0.95;
        o.bootstrap_resamples = options.bootstrap_resamples;
        o.seed = options.seed;
        const auto margin = spec.equivalence.find(m);
        o.equivalence_margin = margin == spec.equivalence.end() ? kNaN : margin->second;
        cmp.tests.push_back(stats::paired_test(x, y, o));
        cmp.margin.push_back(o.equivalence_margin);
    }
    return cmp;
}

MetricRole role_of(const std::string& metric, const AnalysisSpec& spec) {
    if (is_untested_metric(metric)) return MetricRole::untested;
    if (std::find(spec.primary.begin(), spec.primary.end(), metric) != spec.primary.end())
        return MetricRole::primary;
    return MetricRole::secondary;
}

/// The fewest pairs with which the two-sided sign-flip test can give p < alpha: the smallest
/// n with 2 / 2^n < alpha (its smallest p, every difference of one sign).
double signflip_min_pairs(double alpha) {
    double n = 1.0;
    while (2.0 / std::pow(2.0, n) >= alpha && n < 64.0) n += 1.0;
    return n;
}

/// Roles, declared p, Holm over the primary cells, BH over the secondary cells, equivalence
/// verdicts and power, for the comparisons of one sweep.
void correct(std::vector<Comparison>& cmps, const std::vector<std::string>& metrics,
             const AnalysisSpec& spec) {
    std::vector<double> primary, secondary;
    for (Comparison& c : cmps) {
        const std::size_t m_count = metrics.size();
        c.roles.resize(m_count);
        c.p.assign(m_count, kNaN);
        c.p_holm.assign(m_count, kNaN);
        c.q_bh.assign(m_count, kNaN);
        c.mdd.assign(m_count, kNaN);
        c.effect.assign(m_count, kNaN);
        c.seeds_needed.assign(m_count, kNaN);
        c.equivalent.assign(m_count, -1);
        for (std::size_t m = 0; m < m_count; ++m) {
            const stats::PairedTest& t = c.tests[m];
            c.roles[m] = role_of(metrics[m], spec);
            if (c.roles[m] != MetricRole::untested)
                c.p[m] = spec.test == DeclaredTest::sign_flip ? t.signflip_p : t.t_p;
            if (c.roles[m] == MetricRole::primary) primary.push_back(c.p[m]);
            if (c.roles[m] == MetricRole::secondary) secondary.push_back(c.p[m]);
            if (!std::isnan(c.margin[m]) && !std::isnan(t.tost_p))
                c.equivalent[m] = t.tost_p < spec.alpha ? 1 : 0;
        }
    }
    const std::vector<double> holm = stats::holm(primary);
    const std::vector<double> bh = stats::benjamini_hochberg(secondary);
    const auto family = static_cast<std::size_t>(
        std::count_if(primary.begin(), primary.end(), [](double p) { return !std::isnan(p); }));
    std::size_t ip = 0, is = 0;
    for (Comparison& c : cmps) {
        c.family_size = family;
        for (std::size_t m = 0; m < metrics.size(); ++m) {
            if (c.roles[m] == MetricRole::secondary) c.q_bh[m] = bh[is++];
            if (c.roles[m] != MetricRole::primary) continue;
            c.p_holm[m] = holm[ip++];
            const auto e = spec.effect.find(metrics[m]);
            if (e != spec.effect.end()) c.effect[m] = e->second;
            if (family == 0) continue;
            const double alpha = spec.alpha / static_cast<double>(family);
            const stats::PairedTest& t = c.tests[m];
            const double sd = t.sd_difference;
            // The sign-flip test's smallest two-sided p is 2 / 2^n: below this many seeds it
            // cannot reach alpha / m whatever the effect (the t-test power would promise that).
            const double floor_n =
                spec.test == DeclaredTest::sign_flip ? signflip_min_pairs(alpha) : 2.0;
            if (t.n >= 2 && std::isfinite(sd)) {
                c.mdd[m] = static_cast<double>(t.n) < floor_n
                               ? std::numeric_limits<double>::infinity()
                               : stats::minimum_detectable_effect(static_cast<double>(t.n), alpha,
                                                                  spec.power) *
                                     sd;
            }
            if (!std::isnan(c.effect[m]) && std::isfinite(sd) && sd > 0) {
                const double n = stats::pairs_needed(c.effect[m] / sd, alpha, spec.power);
                if (!std::isnan(n)) c.seeds_needed[m] = std::max(floor_n, std::ceil(n));
            }
        }
    }
}

} // namespace

std::vector<Comparison> compare_conditions(const Reduction& r,
                                           const std::vector<ConditionFacts>& facts,
                                           const std::map<std::string, SweepDesign>& designs,
                                           const ReduceOptions& options) {
    static const SweepDesign no_design;
    std::vector<Comparison> out;
    for (const SweepAnalysis& a : r.analyses) {
        // Conditions are sorted by sweep name first: a sweep's are one run of indices.
        std::size_t first = 0;
        while (first < r.conditions.size() && r.conditions[first].sweep_name != a.sweep_name)
            ++first;
        std::size_t last = first;
        while (last < r.conditions.size() && r.conditions[last].sweep_name == a.sweep_name) ++last;
        if (first == last) continue;
        std::vector<Pair> pairs;
        if (a.spec.contrasts.empty()) {
            pairs = default_pairs(r.conditions, first, last);
        } else {
            const auto d = designs.find(a.sweep_name);
            const SweepDesign& design = d == designs.end() ? no_design : d->second;
            for (const Contrast& c : contrasts_of(a.spec)) {
                const DeclaredPairing pairing(c, design, r.conditions, facts);
                for (Pair& p : pairing.pairs(a.sweep_name, first, last))
                    pairs.push_back(std::move(p));
            }
        }
        std::vector<Comparison> cmps;
        for (const Pair& p : pairs)
            cmps.push_back(compare(r.conditions, r.metrics, p, a.spec, options));
        correct(cmps, r.metrics, a.spec);
        for (Comparison& c : cmps) out.push_back(std::move(c));
    }
    return out;
}

} // namespace sp::detail
