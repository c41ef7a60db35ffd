#pragma once
/// Configuration values and where they came from.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace sp {

/// A configuration value: the types a key can hold.
using Value = std::variant<bool, std::int64_t, double, std::string, std::vector<double>,
                           std::vector<std::string>>;

/// Where a value came from: a place in a file, a `--set` argument, or the built-in default.
struct Source {
    std::string file;     ///< file name as given; empty for --set and defaults
    int line = 0;         ///< 1-based; 0 when unknown
    int column = 0;       ///< 1-based; 0 when unknown
    std::string argument; ///< the whole `--set key=value` argument, for overrides

    static Source in_file(std::string file, int line, int column) {
        return Source{std::move(file), line, column, {}};
    }
    static Source override_arg(std::string argument) {
        return Source{{}, 0, 0, std::move(argument)};
    }

    /// "file:line:col", "--set key=value" or "(default)".
    std::string describe() const;
};

/// Canonical text of a value, valid TOML: `0.001`, `"cifar10"`, `[0.5, 0.5]`, `true`.
std::string value_to_toml(const Value& v);

/// Canonical text for people (strings unquoted): `0.001`, `cifar10`.
std::string value_to_text(const Value& v);

/// One problem found in a configuration, at a place.
struct Diagnostic {
    Source source;
    std::string key; ///< dotted key the problem concerns; may be empty (syntax errors)
    std::string message;

    /// "file:line:col: key: message" (or "--set a=b: key: message").
    std::string format() const;
};

/// Collects every problem so that all errors in a file are reported together.
class Diagnostics {
  public:
    void add(Source source, std::string key, std::string message);
    bool empty() const { return items_.empty(); }
    const std::vector<Diagnostic>& items() const { return items_; }
    /// Throws ConfigError listing every diagnostic, one per line, if there is any.
    void throw_if_any() const;

  private:
    std::vector<Diagnostic> items_;
};

} // namespace sp
