// Reading sweep files: the [sweep] table, axes, variants and the base experiment.
#include "sp/config/sweep.hpp"

#include "sp/config/toml_reader.hpp"
#include "sp/util/error.hpp"
#include "sp/util/strings.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace sp {
namespace config_detail {
namespace {

std::string stem_of(const std::string& path) {
    std::string stem = std::filesystem::path(path).stem().string();
    return stem.empty() ? "sweep" : stem;
}

/// sweep.seeds: a count n (seeds 0..n-1) or an explicit list of distinct seeds.
void read_seeds(Reader& r, const toml::node& n, const Source& where, Sweep& s) {
    if (const auto* i = n.as_integer()) {
        if (i->get() < 1) {
            r.problem(where, "sweep.seeds",
                      "a count must be >= 1, got " + std::to_string(i->get()));
            return;
        }
        if (i->get() > 1000000) {
            r.problem(where, "sweep.seeds",
                      "a count must be <= 1000000, got " + std::to_string(i->get()));
            return;
        }
        s.seeds.clear();
        for (std::int64_t k = 0; k < i->get(); ++k)
            s.seeds.push_back(static_cast<std::uint64_t>(k));
        s.seeds_source = where;
        return;
    }
    const auto* a = n.as_array();
    if (a == nullptr) {
        r.problem(where, "sweep.seeds",
                  "expected a count or an array of integers, got " + node_type_name(n) + " " +
                      node_text(n));
        return;
    }
    if (a->empty()) {
        r.problem(where, "sweep.seeds", "empty: give a count or at least one seed");
        return;
    }
    std::vector<std::uint64_t> seeds;
    std::set<std::int64_t> seen;
    bool ok = true;
    for (const auto& e : *a) {
        const auto* i = e.as_integer();
        const Source at_e = r.at(e);
        if (i == nullptr) {
            r.problem(at_e, "sweep.seeds",
                      "seeds are integers, got " + node_type_name(e) + " " + node_text(e));
            ok = false;
        } else if (i->get() < 0) {
            r.problem(at_e, "sweep.seeds", "seeds must be >= 0, got " + std::to_string(i->get()));
            ok = false;
        } else if (!seen.insert(i->get()).second) {
            r.problem(at_e, "sweep.seeds", "seed " + std::to_string(i->get()) + " is listed twice");
            ok = false;
        } else {
            seeds.push_back(static_cast<std::uint64_t>(i->get()));
        }
    }
    if (ok) {
        s.seeds = std::move(seeds);
        s.seeds_source = where;
    }
}

/// sweep.axes: `"key" = [values]` or nested tables of the same; each array is one axis.
void read_axes(Reader& r, const toml::table& t, const std::string& prefix, Sweep& s) {
    for (auto&& [k, node] : t) {
        const std::string key =
            prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
        const Source where = r.at(k.source());
        if (const auto* sub = node.as_table()) {
            read_axes(r, *sub, key, s);
            continue;
        }
        const Field* f = find_field(key);
        if (f == nullptr) {
            std::string msg = "unknown key in sweep.axes";
            if (key == "seed" || key == "seeds" || key == "sweep.seeds") {
                msg = "seeds are not an axis here: use sweep.seeds";
            } else if (auto guess = did_you_mean(key, field_keys()); !guess.empty()) {
                msg += " (did you mean \"" + guess + "\"?)";
            }
            r.problem(where, "sweep.axes." + key, msg);
            continue;
        }
        const auto* a = node.as_array();
        if (a == nullptr) {
            r.problem(where, "sweep.axes." + key,
                      "an axis is an array of values, got " + node_type_name(node) + " " +
                          node_text(node));
            continue;
        }
        if (a->empty()) {
            r.problem(where, "sweep.axes." + key, "empty axis: give at least one value");
            continue;
        }
        Axis axis;
        axis.name = key;
        axis.source = where;
        std::set<std::string> seen;
        bool ok = true;
        for (const auto& e : *a) {
            const Source at_e = r.at(e);
            auto v = r.convert(e, *f, at_e);
            if (!v) {
                ok = false;
                continue;
            }
            const std::string text = value_to_toml(*v);
            if (!seen.insert(text).second) {
                r.problem(at_e, "sweep.axes." + key, "value " + text + " is listed twice");
                ok = false;
                continue;
            }
            axis.labels.push_back(value_to_text(*v));
            axis.points.push_back({Setting{key, std::move(*v), at_e}});
        }
        if (ok) s.axes.push_back(std::move(axis));
    }
}

/// sweep.variants.<axis>: arrays of tables, each with a unique `label` and experiment keys.
void read_variants(Reader& r, const toml::table& t, Sweep& s) {
    for (auto&& [k, node] : t) {
        const std::string name(k.str());
        const Source where = r.at(k.source());
        const auto* a = node.as_array();
        if (a == nullptr || !a->is_array_of_tables()) {
            r.problem(where, "sweep.variants." + name,
                      "a variant axis is an array of tables ([[sweep.variants." + name +
                          "]]), got " + node_type_name(node));
            continue;
        }
        if (a->empty()) {
            r.problem(where, "sweep.variants." + name, "empty axis: give at least one variant");
            continue;
        }
        Axis axis;
        axis.name = name;
        axis.is_variant = true;
        axis.source = where;
        std::set<std::string> labels;
        bool ok = true;
        for (const auto& e : *a) {
            const auto& tbl = *e.as_table();
            const Source at_e = r.at(e);
            std::string label;
            if (const auto* l = tbl.get("label")) {
                if (const auto* str = l->as_string(); str != nullptr && !str->get().empty()) {
                    label = str->get();
                } else {
                    r.problem(r.at(*l), "sweep.variants." + name + ".label",
                              "expected a non-empty string");
                    ok = false;
                }
            } else {
                r.problem(at_e, "sweep.variants." + name, "every variant needs a label");
                ok = false;
            }
            if (!label.empty() && !labels.insert(label).second) {
                r.problem(at_e, "sweep.variants." + name, "label \"" + label + "\" is used twice");
                ok = false;
            }
            toml::table settings = tbl;
            settings.erase("label");
            std::vector<Setting> point;
            r.walk(settings, "", [&](const Field& f, Value v, const Source& src) {
                point.push_back(Setting{f.key, std::move(v), src});
            });
            if (point.empty() && ok) {
                r.problem(at_e, "sweep.variants." + name, "variant \"" + label + "\" sets no key");
                ok = false;
            }
            axis.labels.push_back(label);
            axis.points.push_back(std::move(point));
        }
        if (ok) s.axes.push_back(std::move(axis));
    }
}

} // namespace

void read_sweep_table(Reader& r, const toml::table& t, Sweep& s) {
    for (auto&& [k, node] : t) {
        const std::string key(k.str());
        const Source where = r.at(k.source());
        if (key == "name" || key == "description") {
            if (const auto* str = node.as_string()) {
                (key == "name" ? s.name : s.description) = str->get();
                if (key == "name" && str->get().empty())
                    r.problem(where, "sweep.name", "must not be empty");
            } else {
                r.problem(where, "sweep." + key, "expected a string, got " + node_type_name(node));
            }
        } else if (key == "seed") {
            const auto* i = node.as_integer();
            if (i == nullptr) {
                r.problem(where, "sweep.seed",
                          "expected an integer, got " + node_type_name(node) + " " +
                              node_text(node));
            } else if (i->get() < 0) {
                r.problem(where, "sweep.seed", "must be >= 0, got " + std::to_string(i->get()));
            } else {
                s.seed = static_cast<std::uint64_t>(i->get());
            }
        } else if (key == "threads") {
            const auto* i = node.as_integer();
            if (i == nullptr) {
                r.problem(where, "sweep.threads",
                          "expected an integer, got " + node_type_name(node) + " " +
                              node_text(node));
            } else if (i->get() < 0) {
                r.problem(where, "sweep.threads",
                          "must be >= 0 (0 = the node's share), got " + std::to_string(i->get()));
            } else {
                s.threads = i->get();
            }
        } else if (key == "seeds") {
            read_seeds(r, node, where, s);
        } else if (key == "axes") {
            if (const auto* sub = node.as_table())
                read_axes(r, *sub, "", s);
            else
                r.problem(where, "sweep.axes", "expected a table, got " + node_type_name(node));
        } else if (key == "variants") {
            if (const auto* sub = node.as_table())
                read_variants(r, *sub, s);
            else
                r.problem(where, "sweep.variants", "expected a table, got " + node_type_name(node));
        } else if (key == "rules") {
            // Read by read_rules once every axis is known (the table's keys come in any order).
            if (const auto* a = node.as_array(); a == nullptr || !a->is_array_of_tables())
                r.problem(where, "sweep.rules",
                          "rules are an array of tables ([[sweep.rules]]), got " +
                              node_type_name(node));
        } else {
            r.unknown(where, "sweep." + key, [] {
                std::vector<std::string> out;
                for (const auto& x : kSweepKeys) out.push_back("sweep." + x);
                return out;
            }());
        }
    }
}

namespace {

/// A key may be set by at most one axis: otherwise which value wins would depend on axis order.
void check_axis_overlap(Reader& r, const Sweep& s) {
    std::map<std::string, std::string> owner;
    for (const auto& axis : s.axes) {
        std::set<std::string> keys;
        for (const auto& point : axis.points)
            for (const auto& setting : point) keys.insert(setting.key);
        for (const auto& key : keys) {
            auto [it, fresh] = owner.emplace(key, axis.name);
            if (!fresh) {
                r.problem(axis.source, key,
                          "swept by both axis \"" + it->second + "\" and axis \"" + axis.name +
                              "\"");
            }
        }
    }
}

/// The labels of `axis`, quoted, for messages.
std::string labels_text(const Axis& axis) {
    std::vector<std::string> quoted;
    for (const auto& l : axis.labels) quoted.push_back("\"" + l + "\"");
    return join(quoted, ", ");
}

/// One `when` entry: `axis` -> the label of one of its points, or a problem.
std::optional<std::string> read_when_label(Reader& r, const Axis& axis, const toml::node& n,
                                           const Source& where, const std::string& key) {
    std::string label;
    if (const auto* str = n.as_string()) {
        label = str->get();
    } else if (axis.is_variant) {
        r.problem(where, key,
                  "a variant axis is named by its label, a string; got " + node_type_name(n) + " " +
                      node_text(n));
        return std::nullopt;
    } else {
        // A key axis: a value of the key's type, matched as the axis' own values are written.
        const Field* f = find_field(axis.name);
        auto v = r.convert(n, *f, where);
        if (!v) return std::nullopt;
        label = value_to_text(*v);
    }
    if (std::find(axis.labels.begin(), axis.labels.end(), label) != axis.labels.end()) return label;
    std::string msg = "\"" + label + "\" is not a " +
                      std::string(axis.is_variant ? "label" : "value") + " of axis \"" + axis.name +
                      "\"";
    if (const auto guess = axis.is_variant ? did_you_mean(label, axis.labels) : std::string();
        !guess.empty())
        msg += " (did you mean \"" + guess + "\"?)";
    r.problem(where, key,
              msg + "; its " + (axis.is_variant ? "labels" : "values") + ": " + labels_text(axis));
    return std::nullopt;
}

/// Flattens `when`'s table (`{ "al.strategy" = "x" }` and `{ al.strategy = "x" }` alike) into
/// axis -> label, reporting unknown axes and labels.
void read_when(Reader& r, const toml::table& t, const std::string& prefix, const Sweep& s,
               Rule& rule, bool& ok) {
    for (auto&& [k, node] : t) {
        const std::string name =
            prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
        const Source where = r.at(k.source());
        const std::string key = "sweep.rules.when." + name;
        const auto axis = std::find_if(s.axes.begin(), s.axes.end(),
                                       [&](const Axis& a) { return a.name == name; });
        if (axis == s.axes.end()) {
            if (const auto* sub = node.as_table()) {
                read_when(r, *sub, name, s, rule, ok);
                continue;
            }
            std::vector<std::string> names;
            for (const Axis& a : s.axes) names.push_back(a.name);
            std::string msg = "\"" + name + "\" is not an axis of the sweep";
            if (const auto guess = did_you_mean(name, names); !guess.empty())
                msg += " (did you mean \"" + guess + "\"?)";
            msg +=
                names.empty() ? std::string("; it has none") : "; its axes: " + join(names, ", ");
            r.problem(where, key, msg);
            ok = false;
            continue;
        }
        const bool twice = std::any_of(rule.when.begin(), rule.when.end(),
                                       [&](const auto& w) { return w.first == name; });
        if (twice) {
            r.problem(where, key, "axis \"" + name + "\" is named twice");
            ok = false;
            continue;
        }
        if (auto label = read_when_label(r, *axis, node, where, key))
            rule.when.emplace_back(name, std::move(*label));
        else
            ok = false;
    }
}

/// Whether some replicate of the full grid matches both rules: they agree on every axis both
/// name (the grid is the product of the axes, so any other combination exists).
bool overlap(const Rule& a, const Rule& b) {
    for (const auto& [axis, label] : a.when) {
        for (const auto& [axis_b, label_b] : b.when) {
            if (axis == axis_b && label != label_b) return false;
        }
    }
    return true;
}

/// sweep.rules: `[[sweep.rules]]` tables of `when = { AXIS = LABEL, ... }` and experiment keys.
void read_rules(Reader& r, const toml::array& a, Sweep& s) {
    std::map<std::string, std::string> swept_by; // key -> the axis that sets it
    for (const Axis& axis : s.axes) {
        for (const auto& point : axis.points) {
            for (const Setting& setting : point) swept_by.emplace(setting.key, axis.name);
        }
    }
    std::vector<Rule> rules;
    for (const auto& e : a) {
        const auto& tbl = *e.as_table();
        Rule rule;
        rule.source = r.at(e);
        bool ok = true;
        if (const auto* w = tbl.get("when")) {
            if (const auto* wt = w->as_table(); wt == nullptr) {
                r.problem(r.at(*w), "sweep.rules.when",
                          "expected a table of axis = label (when = { dataset = \"cifar10\" }), "
                          "got " +
                              node_type_name(*w) + " " + node_text(*w));
                ok = false;
            } else if (wt->empty()) {
                r.problem(r.at(*w), "sweep.rules.when",
                          "empty: a setting of every replicate belongs in the base tables");
                ok = false;
            } else {
                read_when(r, *wt, "", s, rule, ok);
            }
        } else {
            r.problem(rule.source, "sweep.rules",
                      "every rule needs a when table (when = { AXIS = \"LABEL\", ... })");
            ok = false;
        }
        std::sort(rule.when.begin(), rule.when.end());
        toml::table settings = tbl;
        settings.erase("when");
        r.walk(settings, "", [&](const Field& f, Value v, const Source& src) {
            if (const auto it = swept_by.find(f.key); it != swept_by.end()) {
                r.problem(src, f.key,
                          "is set by axis \"" + it->second +
                              "\"; a rule may set only keys that no axis sets (two places "
                              "of the file would decide one value)");
                ok = false;
                return;
            }
            rule.settings.push_back(Setting{f.key, std::move(v), src});
        });
        if (rule.settings.empty() && ok) {
            r.problem(rule.source, "sweep.rules", "the rule sets no key");
            ok = false;
        }
        if (!ok) continue;
        for (const Rule& earlier : rules) {
            if (!overlap(earlier, rule)) continue;
            for (const Setting& mine : rule.settings) {
                for (const Setting& theirs : earlier.settings) {
                    if (mine.key != theirs.key) continue;
                    r.problem(mine.source, mine.key,
                              "also set by the rule at " + earlier.source.describe() +
                                  " on the same replicates (" + earlier.when_text() + " and " +
                                  rule.when_text() + "): which value wins would depend on order");
                }
            }
        }
        rules.push_back(std::move(rule));
    }
    s.rules = std::move(rules);
}

/// After `--set`: a rule naming an axis that a `--set` collapsed keeps the replicates only if the
/// pinned value is its label (the condition is then dropped), else it matches no replicate.
/// Then each axis learns the keys that rules naming it set.
void settle_rules(Reader& r, Sweep& s) {
    for (Rule& rule : s.rules) {
        std::vector<std::pair<std::string, std::string>> kept;
        for (const auto& [axis, label] : rule.when) {
            const bool present = std::any_of(s.axes.begin(), s.axes.end(),
                                             [&](const Axis& a) { return a.name == axis; });
            if (present) {
                kept.emplace_back(axis, label);
                continue;
            }
            const auto pin = std::find_if(s.overrides.rbegin(), s.overrides.rend(),
                                          [&](const Setting& o) { return o.key == axis; });
            if (pin == s.overrides.rend()) continue; // not reachable: only --set removes an axis
            const std::string pinned = value_to_text(pin->value);
            if (pinned != label) {
                r.problem(rule.source, "sweep.rules",
                          "the rule matches no replicate: " + pin->source.describe() +
                              " pins axis \"" + axis + "\" to " + pinned + ", the rule needs " +
                              label);
            }
        }
        rule.when = std::move(kept);
    }
    for (Axis& axis : s.axes) {
        std::set<std::string> keys;
        for (const Rule& rule : s.rules) {
            const bool named = std::any_of(rule.when.begin(), rule.when.end(),
                                           [&](const auto& w) { return w.first == axis.name; });
            if (!named) continue;
            for (const Setting& setting : rule.settings) keys.insert(setting.key);
        }
        axis.rule_keys.assign(keys.begin(), keys.end());
    }
}

} // namespace
} // namespace config_detail

// The reading helpers above are this file's own; nothing else of config_detail is in scope.
using namespace config_detail; // NOLINT(google-build-using-namespace)

Sweep parse_sweep(const std::string& text, const std::string& name,
                  const std::vector<std::string>& overrides) {
    Diagnostics diag;
    Reader r(name, diag);
    toml::table root;
    try {
        root = toml::parse(text, name);
    } catch (const toml::parse_error& e) {
        const auto& b = e.source().begin;
        throw ConfigError(name + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) +
                          ": syntax error: " + std::string(e.description()));
    }
    Sweep s;
    s.file = name;
    s.name = stem_of(name);
    s.seeds = {0};
    for (auto&& [k, node] : root) {
        if (k.str() == "sweep") {
            if (const auto* t = node.as_table())
                read_sweep_table(r, *t, s);
            else
                r.problem(r.at(k.source()), "sweep",
                          "expected a table, got " + node_type_name(node));
        }
    }
    toml::table base = root;
    base.erase("sweep");
    base.erase("analysis"); // read below: no part of the experiment
    r.walk(base, "", [&](const Field& f, Value v, const Source& where) {
        f.set(s.base, v);
        s.base_sources[f.key] = where;
    });
    std::sort(s.axes.begin(), s.axes.end(),
              [](const Axis& a, const Axis& b) { return a.name < b.name; });
    for (std::size_t i = 1; i < s.axes.size(); ++i) {
        if (s.axes[i].name == s.axes[i - 1].name) {
            r.problem(s.axes[i].source, s.axes[i].name,
                      "axis is declared twice (in sweep.axes and sweep.variants)");
        }
    }
    check_axis_overlap(r, s);
    if (const auto* rules = root["sweep"]["rules"].as_array();
        rules != nullptr && rules->is_array_of_tables())
        read_rules(r, *rules, s);
    read_analysis(r, root, overrides, s.axes, s.analysis);
    apply_overrides(r, overrides, s);
    settle_rules(r, s);
    diag.throw_if_any();
    return s;
}

Sweep load_sweep(const std::string& path, const std::vector<std::string>& overrides) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw ConfigError(path + ": is a directory, expected a sweep file (.toml)");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ConfigError(path + ": cannot read sweep file: " + std::strerror(errno));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse_sweep(ss.str(), path, overrides);
}

bool Rule::matches(const std::vector<std::pair<std::string, std::string>>& coordinates) const {
    return std::all_of(when.begin(), when.end(), [&](const auto& w) {
        return std::find(coordinates.begin(), coordinates.end(), w) != coordinates.end();
    });
}

std::string Rule::when_text() const {
    if (when.empty()) return "every replicate";
    std::vector<std::string> parts;
    for (const auto& [axis, label] : when) parts.push_back(axis + " = " + label);
    return join(parts, ", ");
}

std::string experiment_to_toml(const Experiment& e) {
    std::map<std::string, std::vector<const Field*>> tables;
    for (const auto& f : fields()) tables[f.key.substr(0, f.key.rfind('.'))].push_back(&f);
    std::string out;
    for (const auto& [table, members] : tables) {
        if (!out.empty()) out += "\n";
        out += "[" + table + "]\n";
        for (const Field* f : members) {
            out += f->key.substr(table.size() + 1) + " = " + value_to_toml(f->get(e)) + "\n";
        }
    }
    return out;
}

} // namespace sp
