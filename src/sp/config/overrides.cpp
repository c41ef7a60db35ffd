// Reading `--set key=value` overrides.
#include "sp/config/toml_reader.hpp"
#include "sp/util/strings.hpp"

#include <algorithm>

namespace sp::config_detail {
namespace {

/// Parses a `--set` value: TOML syntax first, so `2`, `1e-3`, `true`, `[1, 2]` and `"x"` mean what
/// they mean in a file; a bare word that is not TOML is taken as a string for string keys.
std::optional<Value> parse_override_value(Reader& r, const Field& f, const std::string& text,
                                          const Source& where) {
    toml::table doc;
    const toml::node* n = nullptr;
    try {
        doc = toml::parse("v = " + text);
        n = doc.get("v");
    } catch (const toml::parse_error&) {
        n = nullptr;
    }
    if ((f.kind == Kind::string || f.kind == Kind::choice) && (n == nullptr || !n->is_string())) {
        // A bare word (`--set dataset.name=cifar10`) is the string itself.
        Value v{text};
        if (auto why = f.check(v); !why.empty()) {
            r.problem(where, f.key, why);
            return std::nullopt;
        }
        return v;
    }
    if (n == nullptr) {
        r.problem(where, f.key, "expected " + Reader::expected(f) + ", got \"" + text + "\"");
        return std::nullopt;
    }
    return r.convert(*n, f, where);
}

} // namespace

void apply_overrides(Reader& r, const std::vector<std::string>& overrides, Sweep& s) {
    for (const auto& arg : overrides) {
        const Source where = Source::override_arg(arg);
        const auto eq = arg.find('=');
        if (eq == std::string::npos || eq == 0) {
            r.problem(where, "", "expected key=value");
            continue;
        }
        const std::string key = arg.substr(0, eq);
        const std::string text = arg.substr(eq + 1);
        if (key.rfind("analysis.", 0) == 0) continue; // read_analysis (analysis.cpp) applies it
        if (key.rfind("sweep.", 0) == 0) {
            // Reuse the file reader for sweep-level keys by parsing a one-key [sweep] table.
            const std::string sub = key.substr(6);
            if (sub != "seed" && sub != "seeds" && sub != "threads" && sub != "name" &&
                sub != "description") {
                std::vector<std::string> known = {"sweep.seed", "sweep.seeds", "sweep.threads",
                                                  "sweep.name", "sweep.description"};
                r.unknown(where, key, known);
                continue;
            }
            toml::table doc;
            try {
                doc = toml::parse(sub + " = " + text);
            } catch (const toml::parse_error&) {
                if (sub == "name" || sub == "description") {
                    doc.insert_or_assign(sub, text);
                } else {
                    r.problem(where, key,
                              "expected an integer" +
                                  std::string(sub == "seeds" ? " or an array of integers" : "") +
                                  ", got \"" + text + "\"");
                    continue;
                }
            }
            // Positions inside "--set" text are meaningless: report at the argument.
            Diagnostics sub_diag;
            Reader sub_reader("", sub_diag);
            read_sweep_table(sub_reader, doc, s);
            for (const auto& d : sub_diag.items()) r.problem(where, d.key, d.message);
            if (sub_diag.empty() && sub == "seeds") s.seeds_source = where;
            continue;
        }
        const Field* f = find_field(key);
        if (f == nullptr) {
            std::vector<std::string> known = field_keys();
            for (const auto& x : kSweepKeys) known.push_back("sweep." + x);
            r.unknown(where, key, known);
            continue;
        }
        auto v = parse_override_value(r, *f, text, where);
        if (!v) continue;
        // A --set on a key axis pins that key: the axis collapses to the one value.
        s.axes.erase(std::remove_if(s.axes.begin(), s.axes.end(),
                                    [&](const Axis& a) { return !a.is_variant && a.name == key; }),
                     s.axes.end());
        s.overrides.push_back(Setting{key, std::move(*v), where});
    }
}

} // namespace sp::config_detail
