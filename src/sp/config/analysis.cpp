// The [analysis] table: reading it (from the file and from --set analysis.KEY), its defaults,
// and its TOML.
#include "sp/config/analysis.hpp"

#include "sp/config/toml_reader.hpp"
#include "sp/util/error.hpp"
#include "sp/util/strings.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <set>

namespace sp {

const char* declared_test_name(DeclaredTest t) {
    switch (t) {
    case DeclaredTest::sign_flip:
        return "sign_flip";
    case DeclaredTest::t:
        return "t";
    }
    return "?";
}

std::string Contrast::name() const { return factor + ": " + a + " vs " + b; }

std::vector<Contrast> default_contrasts() {
    return {Contrast{"al.strategy", "*", "baseline", {}},
            Contrast{"al.strategy", "*", "random", {}}};
}

std::vector<Contrast> contrasts_of(const AnalysisSpec& spec) {
    return spec.contrasts.empty() ? default_contrasts() : spec.contrasts;
}

bool is_untested_metric(const std::string& name) {
    return name.rfind("cosine_full_", 0) == 0 || name == "tsne_kl_divergence" ||
           name == "silhouette_cosine_tsne";
}

std::string analysis_to_toml(const AnalysisSpec& spec) {
    std::string out = "[analysis]\n";
    out += "primary = " + value_to_toml(Value{spec.primary}) + "\n";
    out += "alpha = " + format_double(spec.alpha) + "\n";
    out += "test = " + value_to_toml(Value{std::string(declared_test_name(spec.test))}) + "\n";
    out += "power = " + format_double(spec.power) + "\n";
    if (spec.contrasts.empty()) {
        out += "# contrasts: none declared, so the defaults:";
        for (const auto& c : default_contrasts()) out += " \"" + c.name() + "\"";
        out += "\n";
    }
    for (const auto& c : spec.contrasts) {
        out += "\n[[analysis.contrasts]]\n";
        out += "factor = " + value_to_toml(Value{c.factor}) + "\n";
        out += "a = " + value_to_toml(Value{c.a}) + "\n";
        out += "b = " + value_to_toml(Value{c.b}) + "\n";
    }
    // Endpoint names are [a-z0-9_]+ (the reader refuses others): bare keys.
    out += "\n[analysis.equivalence]\n";
    for (const auto& [endpoint, margin] : spec.equivalence)
        out += endpoint + " = " + format_double(margin) + "\n";
    out += "\n[analysis.effect]\n";
    for (const auto& [endpoint, delta] : spec.effect)
        out += endpoint + " = " + format_double(delta) + "\n";
    return out;
}

namespace config_detail {
namespace {

const std::vector<std::string> kAnalysisKeys = {"primary",   "alpha",       "test",  "power",
                                                "contrasts", "equivalence", "effect"};
const std::vector<std::string> kScalarKeys = {"alpha", "test", "power"};

std::vector<std::string> prefixed(const std::string& prefix, const std::vector<std::string>& ks) {
    std::vector<std::string> out;
    out.reserve(ks.size());
    for (const auto& k : ks) out.push_back(prefix + k);
    return out;
}

/// Why a metric is never tested (is_untested_metric).
std::string why_untested(const std::string& name) {
    if (name.rfind("cosine_full_", 0) == 0) {
        return name +
               " is never tested: the full N x N cosine matrix is the pairs of cosine_all_* plus "
               "the N diagonal ones, so it duplicates cosine_all_* (its mean is an affine "
               "function of cosine_all_mean); name the cosine_all_ metric";
    }
    if (name == "tsne_kl_divergence") {
        return name + " is never tested: it says how well the t-SNE map fits the embeddings (a "
                      "diagnostic of the map), not what training produced";
    }
    return name + " is never tested: the cosine distance between 2-D map coordinates depends on "
                  "where the map's origin lies, which t-SNE leaves arbitrary, so the score has "
                  "no meaning; use silhouette_euclidean_tsne";
}

bool looks_like_metric(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

/// Reports and returns false unless `name` can be a tested endpoint.
bool check_endpoint(Reader& r, const Source& where, const std::string& key,
                    const std::string& name) {
    if (!looks_like_metric(name)) {
        r.problem(where, key,
                  "\"" + name + "\" is not a metric name (lower-case letters, digits and _)");
        return false;
    }
    if (is_untested_metric(name)) {
        r.problem(where, key, why_untested(name));
        return false;
    }
    return true;
}

std::optional<double> number_of(const toml::node& n) {
    if (const auto* d = n.as_floating_point()) return d->get();
    if (const auto* i = n.as_integer()) return static_cast<double>(i->get());
    return std::nullopt;
}

/// Where alpha and power were last set, for the cross-key rule (power > alpha).
struct ScalarSources {
    Source alpha;
    Source power;
    bool power_last = true; ///< power was set after alpha, or neither was
};

/// One of the scalar keys (alpha, test, power) from a node: the file's or a --set's.
void read_scalar(Reader& r, const std::string& key, const toml::node& n, const Source& where,
                 AnalysisSpec& a, ScalarSources& at) {
    const std::string dotted = "analysis." + key;
    if (key == "test") {
        const auto* s = n.as_string();
        if (s == nullptr) {
            r.problem(where, dotted,
                      "expected \"sign_flip\" or \"t\", got " + node_type_name(n) + " " +
                          node_text(n));
        } else if (s->get() == "sign_flip") {
            a.test = DeclaredTest::sign_flip;
        } else if (s->get() == "t") {
            a.test = DeclaredTest::t;
        } else {
            std::string msg = "\"" + s->get() + "\" is not one of sign_flip, t";
            if (auto guess = did_you_mean(s->get(), {"sign_flip", "t"}); !guess.empty())
                msg += " (did you mean \"" + guess + "\"?)";
            r.problem(where, dotted, msg);
        }
        return;
    }
    const auto x = number_of(n);
    if (!x) {
        r.problem(where, dotted, "expected a float, got " + node_type_name(n) + " " + node_text(n));
        return;
    }
    if (!(*x > 0 && *x < 1)) {
        r.problem(where, dotted, "must be in (0, 1), got " + format_double(*x));
        return;
    }
    if (key == "alpha") {
        a.alpha = *x;
        at.alpha = where;
        at.power_last = false;
    } else {
        a.power = *x;
        at.power = where;
        at.power_last = true;
    }
}

void read_primary(Reader& r, const toml::node& n, const Source& where, AnalysisSpec& a) {
    const auto* arr = n.as_array();
    if (arr == nullptr) {
        r.problem(where, "analysis.primary",
                  "expected an array of metric names, got " + node_type_name(n) + " " +
                      node_text(n));
        return;
    }
    if (arr->empty()) {
        r.problem(where, "analysis.primary",
                  "empty: declare at least one endpoint (or leave the key out for the default)");
        return;
    }
    std::vector<std::string> names;
    std::set<std::string> seen;
    bool ok = true;
    for (const auto& e : *arr) {
        const Source at_e = r.at(e);
        const auto* s = e.as_string();
        if (s == nullptr) {
            r.problem(at_e, "analysis.primary",
                      "endpoints are strings, got " + node_type_name(e) + " " + node_text(e));
            ok = false;
        } else if (!check_endpoint(r, at_e, "analysis.primary", s->get())) {
            ok = false;
        } else if (!seen.insert(s->get()).second) {
            r.problem(at_e, "analysis.primary", s->get() + " is listed twice");
            ok = false;
        } else {
            names.push_back(s->get());
        }
    }
    if (ok) a.primary = std::move(names);
}

/// [analysis.equivalence] and [analysis.effect]: endpoint -> a finite float > 0.
void read_margins(Reader& r, const toml::node& n, const Source& where, const std::string& key,
                  std::map<std::string, double>& out) {
    const auto* t = n.as_table();
    if (t == nullptr) {
        r.problem(where, key,
                  "expected a table of endpoint = float ([" + key + "]), got " + node_type_name(n) +
                      " " + node_text(n));
        return;
    }
    out.clear();
    for (auto&& [k, v] : *t) {
        const std::string endpoint(k.str());
        const Source at_k = r.at(k.source());
        const std::string dotted = key + "." + endpoint;
        if (!check_endpoint(r, at_k, dotted, endpoint)) continue;
        const auto x = number_of(v);
        if (!x) {
            r.problem(at_k, dotted,
                      "expected a float, got " + node_type_name(v) + " " + node_text(v));
        } else if (!(std::isfinite(*x) && *x > 0)) {
            r.problem(at_k, dotted,
                      "must be > 0 and finite (raw units of the endpoint), got " +
                          format_double(*x));
        } else {
            out[endpoint] = *x;
        }
    }
}

/// Reports and returns false unless a and b are levels of `axis`: its labels, as the file
/// writes them without quotes.
bool check_levels(Reader& r, const Contrast& c, const Axis& axis, const Source& at_a,
                  const Source& at_b) {
    bool ok = true;
    const auto check = [&](const std::string& level, const Source& where, const char* key) {
        if (std::find(axis.labels.begin(), axis.labels.end(), level) != axis.labels.end()) return;
        std::string msg = "\"" + level + "\" is not a level of axis \"" + axis.name +
                          "\" (its levels: " + join(axis.labels, ", ") + ")";
        if (auto guess = did_you_mean(level, axis.labels); !guess.empty())
            msg += " (did you mean \"" + guess + "\"?)";
        r.problem(where, std::string("analysis.contrasts.") + key, msg);
        ok = false;
    };
    if (c.a != "*") check(c.a, at_a, "a");
    check(c.b, at_b, "b");
    return ok;
}

/// [[analysis.contrasts]]: tables of factor, a, b. The factor and levels are checked against
/// the sweep's axes when it has any (a file holding only [analysis] has none).
void read_contrasts(Reader& r, const toml::node& n, const Source& where,
                    const std::vector<Axis>& axes, AnalysisSpec& a) {
    const auto* arr = n.as_array();
    if (arr != nullptr && arr->empty()) {
        r.problem(where, "analysis.contrasts",
                  "empty: declare at least one [[analysis.contrasts]], or leave the key out for "
                  "the defaults");
        return;
    }
    if (arr == nullptr || !arr->is_array_of_tables()) {
        r.problem(where, "analysis.contrasts",
                  "expected an array of tables ([[analysis.contrasts]] with factor, a, b), got " +
                      node_type_name(n) + " " + node_text(n));
        return;
    }
    std::vector<std::string> known_factors = field_keys();
    for (const auto& axis : axes) known_factors.push_back(axis.name);
    std::vector<Contrast> out;
    std::set<std::string> seen;
    bool all_ok = true;
    for (const auto& e : *arr) {
        const auto& tbl = *e.as_table();
        Contrast c;
        c.source = r.at(e);
        std::array<Source, 3> at_field = {c.source, c.source, c.source}; // factor, a, b
        bool ok = true;
        for (auto&& [k, v] : tbl) {
            const std::string key(k.str());
            const Source at_k = r.at(k.source());
            std::string* dst = key == "factor" ? &c.factor
                               : key == "a"    ? &c.a
                               : key == "b"    ? &c.b
                                               : nullptr;
            if (dst == nullptr) {
                r.unknown(at_k, "analysis.contrasts." + key,
                          prefixed("analysis.contrasts.", {"factor", "a", "b"}));
                ok = false;
                continue;
            }
            const auto* s = v.as_string();
            if (s == nullptr || s->get().empty()) {
                r.problem(at_k, "analysis.contrasts." + key,
                          "expected a non-empty string, got " + node_type_name(v) + " " +
                              node_text(v));
                ok = false;
                continue;
            }
            *dst = s->get();
            at_field[key == "factor" ? 0 : key == "a" ? 1 : 2] = at_k;
        }
        for (const char* key : {"factor", "a", "b"}) {
            if (tbl.get(key) == nullptr) {
                r.problem(c.source, "analysis.contrasts",
                          std::string("every contrast needs ") + key + " (factor, a, b)");
                ok = false;
            }
        }
        if (ok && c.a == c.b) {
            r.problem(at_field[2], "analysis.contrasts.b",
                      "a and b are the same level \"" + c.a + "\": a contrast compares two");
            ok = false;
        }
        if (ok && c.b == "*") {
            r.problem(at_field[2], "analysis.contrasts.b",
                      "b is one level (\"*\", every level, is for a only)");
            ok = false;
        }
        if (ok && !axes.empty()) {
            const auto axis = std::find_if(axes.begin(), axes.end(),
                                           [&](const Axis& x) { return x.name == c.factor; });
            if (axis != axes.end()) {
                ok = check_levels(r, c, *axis, at_field[1], at_field[2]);
            } else if (find_field(c.factor) == nullptr) {
                std::string msg =
                    "\"" + c.factor + "\" is neither an axis of this sweep nor a configuration key";
                if (auto guess = did_you_mean(c.factor, known_factors); !guess.empty())
                    msg += " (did you mean \"" + guess + "\"?)";
                r.problem(at_field[0], "analysis.contrasts.factor", msg);
                ok = false;
            }
        }
        if (ok && !seen.insert(c.name()).second) {
            r.problem(c.source, "analysis.contrasts", "\"" + c.name() + "\" is declared twice");
            ok = false;
        }
        all_ok = all_ok && ok;
        if (ok) out.push_back(std::move(c));
    }
    if (all_ok) a.contrasts = std::move(out);
}

void read_table(Reader& r, const toml::table& t, const std::vector<Axis>& axes, AnalysisSpec& a,
                ScalarSources& at) {
    for (auto&& [k, node] : t) {
        const std::string key(k.str());
        const Source where = r.at(k.source());
        if (key == "primary") {
            read_primary(r, node, where, a);
        } else if (key == "alpha" || key == "test" || key == "power") {
            read_scalar(r, key, node, where, a, at);
        } else if (key == "contrasts") {
            read_contrasts(r, node, where, axes, a);
        } else if (key == "equivalence") {
            read_margins(r, node, where, "analysis.equivalence", a.equivalence);
        } else if (key == "effect") {
            read_margins(r, node, where, "analysis.effect", a.effect);
        } else {
            r.unknown(where, "analysis." + key, prefixed("analysis.", kAnalysisKeys));
        }
    }
}

/// One `--set analysis.KEY=VALUE`: the scalar keys only; lists and tables live in the file.
void apply_override(Reader& r, const std::string& arg, AnalysisSpec& a, ScalarSources& at) {
    const Source where = Source::override_arg(arg);
    const auto eq = arg.find('=');
    const std::string key = arg.substr(0, eq);
    const std::string sub = key.substr(std::string("analysis.").size());
    const std::string text = arg.substr(eq + 1);
    const std::string top = sub.substr(0, sub.find('.'));
    if (std::find(kScalarKeys.begin(), kScalarKeys.end(), sub) == kScalarKeys.end()) {
        if (std::find(kAnalysisKeys.begin(), kAnalysisKeys.end(), top) != kAnalysisKeys.end()) {
            r.problem(where, key,
                      "cannot be set with --set (only analysis.alpha, analysis.test and "
                      "analysis.power can): edit the sweep file's [analysis] table");
        } else {
            r.unknown(where, key, prefixed("analysis.", kScalarKeys));
        }
        return;
    }
    toml::table doc;
    const toml::node* n = nullptr;
    try {
        doc = toml::parse("v = " + text);
        n = doc.get("v");
    } catch (const toml::parse_error&) {
        n = nullptr;
    }
    if (sub == "test" && (n == nullptr || !n->is_string())) {
        // A bare word (`--set analysis.test=t`) is the string itself.
        doc.insert_or_assign("w", text);
        n = doc.get("w");
    }
    if (n == nullptr) {
        r.problem(where, key, "expected a float, got \"" + text + "\"");
        return;
    }
    read_scalar(r, sub, *n, where, a, at);
    a.declared = true;
}

} // namespace

void read_analysis(Reader& r, const toml::table& root, const std::vector<std::string>& overrides,
                   const std::vector<Axis>& axes, AnalysisSpec& a) {
    ScalarSources at;
    for (auto&& [k, node] : root) {
        if (k.str() != "analysis") continue;
        const Source where = r.at(k.source());
        if (const auto* t = node.as_table()) {
            a.declared = true;
            read_table(r, *t, axes, a, at);
        } else {
            r.problem(where, "analysis",
                      "expected a table ([analysis]), got " + node_type_name(node) + " " +
                          node_text(node));
        }
    }
    for (const auto& arg : overrides) {
        const auto eq = arg.find('=');
        if (eq != std::string::npos && arg.rfind("analysis.", 0) == 0)
            apply_override(r, arg, a, at);
    }
    if (!(a.power > a.alpha)) {
        // Reported where the later of the two was set.
        r.problem(at.power_last ? at.power : at.alpha,
                  at.power_last ? "analysis.power" : "analysis.alpha",
                  "power (" + format_double(a.power) + ") must be greater than alpha (" +
                      format_double(a.alpha) + ")");
    }
}

} // namespace config_detail

AnalysisSpec load_analysis(const std::string& path) {
    // An [analysis]-only file is a sweep file whose every other key is a default: one parser.
    const Sweep s = load_sweep(path);
    if (!s.analysis.declared) {
        throw ConfigError(path + ": no [analysis] table (sweeps/README.md, \"The [analysis] "
                                 "table\", lists its keys)");
    }
    return s.analysis;
}

} // namespace sp
