#include "sp/config/value.hpp"

#include "sp/util/error.hpp"
#include "sp/util/strings.hpp"

#include <algorithm>
#include <cstdio>

namespace sp {
namespace {

std::string quote(const std::string& s) {
    // TOML basic string: escape backslash, quote and control characters.
    std::string out = "\"";
    for (char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\r':
            out += "\\r";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
                out += buf;
            } else {
                out += c;
            }
        }
    }
    return out + "\"";
}

template <class T, class F> std::string list(const std::vector<T>& items, F&& f) {
    std::vector<std::string> parts;
    parts.reserve(items.size());
    for (const auto& item : items) parts.push_back(f(item));
    return "[" + join(parts, ", ") + "]";
}

} // namespace

std::string Source::describe() const {
    if (!argument.empty()) return "--set " + argument;
    if (file.empty()) return "(default)";
    if (line == 0) return file;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string value_to_toml(const Value& v) {
    struct Visitor {
        std::string operator()(bool b) const { return b ? "true" : "false"; }
        std::string operator()(std::int64_t i) const { return std::to_string(i); }
        std::string operator()(double d) const { return format_double(d); }
        std::string operator()(const std::string& s) const { return quote(s); }
        std::string operator()(const std::vector<double>& xs) const {
            return list(xs, [](double d) { return format_double(d); });
        }
        std::string operator()(const std::vector<std::string>& xs) const { return list(xs, quote); }
    };
    return std::visit(Visitor{}, v);
}

std::string value_to_text(const Value& v) {
    if (const auto* s = std::get_if<std::string>(&v)) return *s;
    return value_to_toml(v);
}

std::string Diagnostic::format() const {
    std::string out = source.describe() + ": ";
    if (!key.empty()) out += key + ": ";
    return out + message;
}

void Diagnostics::add(Source source, std::string key, std::string message) {
    items_.push_back(Diagnostic{std::move(source), std::move(key), std::move(message)});
}

void Diagnostics::throw_if_any() const {
    if (items_.empty()) return;
    // File order, then --set arguments in command-line order (toml++ walks tables by key order).
    std::vector<Diagnostic> sorted = items_;
    std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic& a, const Diagnostic& b) {
        const bool a_arg = !a.source.argument.empty();
        const bool b_arg = !b.source.argument.empty();
        if (a_arg != b_arg) return b_arg;
        if (a_arg) return false;
        if (a.source.file != b.source.file) return a.source.file < b.source.file;
        if (a.source.line != b.source.line) return a.source.line < b.source.line;
        return a.source.column < b.source.column;
    });
    std::vector<std::string> lines;
    lines.reserve(sorted.size());
    for (const auto& d : sorted) lines.push_back(d.format());
    if (items_.size() > 1) {
        lines.push_back(std::to_string(items_.size()) + " errors in the configuration");
    }
    throw ConfigError(join(lines, "\n"));
}

} // namespace sp
