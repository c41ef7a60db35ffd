#pragma once
/// The key registry: every configuration key of an experiment, its type, range, default and
/// meaning. Parsing, `--set`, sweep axes, replicate IDs, the resolved TOML and the key list in
/// sweeps/README.md all go through it, so they cannot disagree.
///
///     const sp::Field* f = sp::find_field("train.lr");
///     std::string why = f->check(sp::Value{-1.0});   // "must be > 0, got -1.0"

#include "sp/config/experiment.hpp"
#include "sp/config/value.hpp"

#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace sp {

/// The type of a key.
enum class Kind { boolean, integer, real, string, choice, real_list, string_list };

/// "boolean", "integer", "float", "string", "one of ...", "array of floats", "array of strings".
std::string kind_name(Kind kind);

/// One configuration key.
struct Field {
    std::string key; ///< dotted: "train.lr"
    Kind kind = Kind::string;
    std::string doc;                  ///< one line, with units
    std::vector<std::string> choices; ///< allowed values of a choice or string_list
    double min = -std::numeric_limits<double>::infinity();
    double max = std::numeric_limits<double>::infinity();
    bool min_open = false; ///< value must be > min (not >=)
    bool max_open = false; ///< value must be < max (not <=)
    std::size_t max_length = std::numeric_limits<std::size_t>::max(); ///< for lists
    /// Part of a replicate's identity (its ID). Locations (paths, output settings) are not:
    /// moving data or results must not change IDs.
    bool identity = true;
    std::function<Value(const Experiment&)> get;
    std::function<void(Experiment&, const Value&)> set;

    /// Empty when `v` has this key's type and lies in its range; otherwise why not.
    std::string check(const Value& v) const;
    /// The allowed range in words (">= 1", "in [0, 1)"), or the choices; empty when any value goes.
    std::string constraint() const;
};

/// Every key, sorted by key.
const std::vector<Field>& fields();

/// The field for `key`, or nullptr.
const Field* find_field(const std::string& key);

/// All keys, sorted; and all table prefixes ("dataset", "metrics.tsne", ...).
const std::vector<std::string>& field_keys();
const std::vector<std::string>& table_prefixes();

/// Where each key of a resolved experiment got its value.
using SourceMap = std::map<std::string, Source>;

/// Cross-key rules (e.g. nesterov needs sgd); each problem is reported at the source of the key
/// concerned.
void validate_experiment(const Experiment& e, const SourceMap& sources, Diagnostics& diag);

} // namespace sp
