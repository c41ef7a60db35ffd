#pragma once
// Private to config/: the toml++ side of reading sweeps, shared by sweep_parse.cpp (files) and
// overrides.cpp (--set). Turns TOML nodes into Values with their source positions.

#include "sp/config/fields.hpp"
#include "sp/config/sweep.hpp"
#include "sp/util/strings.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace sp::config_detail {

inline const std::vector<std::string> kSweepKeys = {"name",  "description", "seed",     "threads",
                                                    "seeds", "axes",        "variants", "rules"};

inline std::string node_type_name(const toml::node& n) {
    switch (n.type()) {
    case toml::node_type::table:
        return "table";
    case toml::node_type::array:
        return "array";
    case toml::node_type::string:
        return "string";
    case toml::node_type::integer:
        return "integer";
    case toml::node_type::floating_point:
        return "float";
    case toml::node_type::boolean:
        return "boolean";
    case toml::node_type::date:
        return "date";
    case toml::node_type::time:
        return "time";
    case toml::node_type::date_time:
        return "date-time";
    default:
        return "nothing";
    }
}

inline std::string node_text(const toml::node& n) {
    if (const auto* s = n.as_string()) return "\"" + s->get() + "\"";
    std::ostringstream os;
    n.visit([&os](auto&& x) { os << x; });
    std::string out = os.str();
    if (out.size() > 40) out = out.substr(0, 37) + "...";
    return out;
}

/// Parsing context: the file name and the sink for problems.
class Reader {
  public:
    Reader(std::string file, Diagnostics& diag) : file_(std::move(file)), diag_(diag) {}

    Source at(const toml::source_region& r) const {
        return Source::in_file(file_, static_cast<int>(r.begin.line),
                               static_cast<int>(r.begin.column));
    }
    Source at(const toml::node& n) const { return at(n.source()); }

    void problem(const Source& s, const std::string& key, const std::string& msg) {
        diag_.add(s, key, msg);
    }

    /// Converts `n` to the type of `f`; reports and returns nothing if it does not fit.
    std::optional<Value> convert(const toml::node& n, const Field& f, const Source& where) {
        std::optional<Value> v = to_value(n, f);
        if (!v) {
            problem(where, f.key,
                    "expected " + expected(f) + ", got " + node_type_name(n) + " " + node_text(n));
            return std::nullopt;
        }
        if (auto why = f.check(*v); !why.empty()) {
            problem(where, f.key, why);
            return std::nullopt;
        }
        return v;
    }

    static std::string expected(const Field& f) {
        switch (f.kind) {
        case Kind::boolean:
            return "a boolean";
        case Kind::integer:
            return "an integer";
        case Kind::real:
            return "a float";
        case Kind::string:
            return "a string";
        case Kind::choice:
            return "one of " + join(f.choices, ", ");
        case Kind::real_list:
            return "an array of floats";
        case Kind::string_list:
            return "an array of strings";
        }
        return "?";
    }

    /// Reports an unknown key, suggesting the closest known one.
    void unknown(const Source& s, const std::string& key, const std::vector<std::string>& known) {
        std::string msg = "unknown key";
        const std::string guess = did_you_mean(key, known);
        if (!guess.empty()) msg += " (did you mean \"" + guess + "\"?)";
        problem(s, key, msg);
    }

    /// Walks a table of experiment keys under `prefix`, calling `leaf(field, value, source)` for
    /// each well-typed value. `what` names the context in messages ("" for the base).
    template <class Leaf> void walk(const toml::table& t, const std::string& prefix, Leaf&& leaf) {
        for (auto&& [k, node] : t) {
            const std::string key =
                prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
            const Source where = at(k.source());
            if (const Field* f = find_field(key)) {
                if (node.is_table()) {
                    problem(where, key, "expected " + expected(*f) + ", got a table");
                    continue;
                }
                if (auto v = convert(node, *f, where)) leaf(*f, std::move(*v), where);
                continue;
            }
            const auto& tables = table_prefixes();
            if (std::binary_search(tables.begin(), tables.end(), key)) {
                if (const auto* sub = node.as_table()) {
                    walk(*sub, key, leaf);
                } else {
                    problem(where, key,
                            "is a table of settings, got " + node_type_name(node) + " " +
                                node_text(node));
                }
                continue;
            }
            std::vector<std::string> known = field_keys();
            known.insert(known.end(), tables.begin(), tables.end());
            if (prefix.empty()) known.insert(known.end(), {"sweep", "analysis"});
            unknown(where, key, known);
        }
    }

    const std::string& file() const { return file_; }

  private:
    static std::optional<Value> to_value(const toml::node& n, const Field& f) {
        switch (f.kind) {
        case Kind::boolean:
            if (const auto* b = n.as_boolean()) return Value{b->get()};
            return std::nullopt;
        case Kind::integer:
            if (const auto* i = n.as_integer()) return Value{static_cast<std::int64_t>(i->get())};
            return std::nullopt;
        case Kind::real:
            if (const auto* d = n.as_floating_point()) return Value{d->get()};
            if (const auto* i = n.as_integer()) return Value{static_cast<double>(i->get())};
            return std::nullopt;
        case Kind::string:
        case Kind::choice:
            if (const auto* s = n.as_string()) return Value{s->get()};
            return std::nullopt;
        case Kind::real_list: {
            const auto* a = n.as_array();
            if (a == nullptr) return std::nullopt;
            std::vector<double> xs;
            for (const auto& e : *a) {
                if (const auto* d = e.as_floating_point())
                    xs.push_back(d->get());
                else if (const auto* i = e.as_integer())
                    xs.push_back(static_cast<double>(i->get()));
                else
                    return std::nullopt;
            }
            return Value{std::move(xs)};
        }
        case Kind::string_list: {
            const auto* a = n.as_array();
            if (a == nullptr) return std::nullopt;
            std::vector<std::string> xs;
            for (const auto& e : *a) {
                if (const auto* s = e.as_string())
                    xs.push_back(s->get());
                else
                    return std::nullopt;
            }
            return Value{std::move(xs)};
        }
        }
        return std::nullopt;
    }

    std::string file_;
    Diagnostics& diag_;
};

/// Reads the [sweep] table (name, description, seed, seeds, axes, variants) into `s`.
void read_sweep_table(Reader& r, const toml::table& t, Sweep& s);

/// Reads root's [analysis] table (analysis.cpp), then the `--set analysis.KEY=VALUE` arguments
/// among `overrides` (apply_overrides skips those); contrasts are checked against `axes`.
void read_analysis(Reader& r, const toml::table& root, const std::vector<std::string>& overrides,
                   const std::vector<Axis>& axes, AnalysisSpec& a);

/// Applies `--set key=value` arguments to `s`, reporting problems at the argument.
void apply_overrides(Reader& r, const std::vector<std::string>& overrides, Sweep& s);

} // namespace sp::config_detail
