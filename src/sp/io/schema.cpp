// Schema files: parsing with toml++, checks that make a malformed schema fail loudly (with
// file:line:col), and the lookup of a schema by file kind.
#include "sp/io/schema.hpp"

#include "sp/io/embedded_schemas.hpp"
#include "sp/util/error.hpp"
#include "sp/util/strings.hpp"

#include <toml++/toml.h>

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

namespace sp::io {

std::string to_string(const SchemaValue& value) {
    if (const auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
    return "'" + std::get<std::string>(value) + "'";
}

std::string SchemaEntry::display() const {
    return kind == EntryKind::attribute ? path + "@" + name : path;
}

namespace {

const std::vector<std::string> kTopKeys = {"schema_version", "file_kind", "description", "entry"};
const std::vector<std::string> kEntryKeys = {"kind",   "path",       "name",     "dtype",
                                             "shape",  "unit",       "required", "required_if",
                                             "values", "description"};
const std::vector<std::string> kConditionKeys = {"path", "name", "equals"};

std::string at(const std::string& source, const toml::source_region& region) {
    return source + ":" + std::to_string(region.begin.line) + ":" +
           std::to_string(region.begin.column);
}

[[noreturn]] void bad(const std::string& source, const toml::source_region& region,
                      const std::string& message) {
    throw ConfigError(at(source, region) + ": " + message);
}

void reject_unknown_keys(const toml::table& table, const std::vector<std::string>& allowed,
                         const std::string& source, const std::string& context) {
    for (const auto& [key, node] : table) {
        const std::string k(key.str());
        if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
        std::string message = context + "unknown key '" + k + "'";
        const std::string guess = did_you_mean(k, allowed);
        if (!guess.empty()) message += " (did you mean '" + guess + "'?)";
        bad(source, key.source().begin.line > 0 ? key.source() : node.source(), message);
    }
}

bool is_symbol(const std::string& s) {
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s.front())) != 0) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
    });
}

bool is_valid_path(const std::string& p) {
    if (p == "/") return true;
    if (p.empty() || p.front() != '/' || p.back() == '/') return false;
    if (p.find("//") != std::string::npos || p.find('@') != std::string::npos) return false;
    return true;
}

std::string parent_of(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == 0 ? "/" : path.substr(0, slash);
}

bool is_integer_dtype(h5::Dtype d) {
    return d == h5::Dtype::int32 || d == h5::Dtype::int64 || d == h5::Dtype::uint8 ||
           d == h5::Dtype::uint64;
}

// Reads one [[entry]] table; `label` ("entry 3") prefixes messages until the path is known.
class EntryReader {
  public:
    EntryReader(const toml::table& table, const std::string& source, std::size_t index)
        : table_(table), source_(source), label_("entry " + std::to_string(index) + ": ") {}

    SchemaEntry read() {
        if (const auto* path = table_["path"].as_string()) {
            const auto* name = table_["name"].as_string();
            label_ = "entry " + path->get() + (name != nullptr ? "@" + name->get() : "") + ": ";
        }
        reject_unknown_keys(table_, kEntryKeys, source_, label_);
        SchemaEntry e;
        e.source = at(source_, table_.source());
        e.path = string("path", true);
        if (!is_valid_path(e.path)) {
            bad(source_, table_["path"].node()->source(),
                label_ + "path '" + e.path + "' is not an absolute HDF5 path like '/eval/labels'");
        }
        const std::string kind = string("kind", true);
        if (kind == "group") {
            e.kind = EntryKind::group;
        } else if (kind == "dataset") {
            e.kind = EntryKind::dataset;
        } else if (kind == "attribute") {
            e.kind = EntryKind::attribute;
        } else {
            bad(source_, table_["kind"].node()->source(),
                label_ + "kind '" + kind + "' is not group, dataset or attribute");
        }
        const bool is_attribute = e.kind == EntryKind::attribute;
        e.name = string("name", is_attribute);
        label_ = "entry " + (is_attribute ? e.path + "@" + e.name : e.path) + ": ";
        if (!is_attribute) forbid("name", "only attributes have a name");
        if (!is_attribute && e.path == "/") fail_at("path", "'/' is the root: only attributes");
        if (e.kind == EntryKind::group) {
            for (const char* k : {"dtype", "shape", "unit", "values"}) forbid(k, "not for groups");
        } else {
            const std::string dtype = string("dtype", true);
            e.dtype = h5::parse_dtype(dtype);
            if (!e.dtype) {
                fail_at("dtype", "dtype '" + dtype +
                                     "' is not one of float32, float64, int32, int64, uint8, "
                                     "uint64, string");
            }
            e.shape = shape(e.kind == EntryKind::dataset);
            e.unit = string("unit", true);
            e.values = values(*e.dtype);
        }
        const auto* required = table_["required"].as_boolean();
        if (required == nullptr) fail_at("required", "'required' must be true or false");
        e.required = required->get();
        e.required_if = condition();
        e.description = string("description", true);
        if (e.description.empty()) fail_at("description", "description is empty");
        return e;
    }

  private:
    [[noreturn]] void fail_at(const char* key, const std::string& message) const {
        const toml::node* node = table_[key].node();
        bad(source_, node != nullptr ? node->source() : table_.source(), label_ + message);
    }

    void forbid(const char* key, const std::string& why) const {
        if (table_.contains(key)) fail_at(key, std::string("'") + key + "': " + why);
    }

    std::string string(const char* key, bool required) const {
        const toml::node* node = table_[key].node();
        if (node == nullptr) {
            if (required) fail_at(key, std::string("missing '") + key + "'");
            return "";
        }
        const auto* s = node->as_string();
        if (s == nullptr) fail_at(key, std::string("'") + key + "' must be a string");
        return s->get();
    }

    std::vector<SchemaDim> shape(bool required) const {
        const toml::node* node = table_["shape"].node();
        if (node == nullptr) {
            if (required) fail_at("shape", "missing 'shape' ([] for a scalar)");
            return {};
        }
        const auto* arr = node->as_array();
        if (arr == nullptr) fail_at("shape", "'shape' must be an array like [\"N\", \"D\"]");
        std::vector<SchemaDim> dims;
        for (const toml::node& d : *arr) {
            SchemaDim dim;
            if (const auto* s = d.as_string()) {
                dim.symbol = s->get();
                if (!is_symbol(dim.symbol)) {
                    bad(source_, d.source(), label_ + "'" + dim.symbol + "' is not a dim symbol");
                }
            } else if (const auto* i = d.as_integer(); i != nullptr && i->get() >= 0) {
                dim.size = static_cast<std::uint64_t>(i->get());
            } else {
                bad(source_, d.source(), label_ + "a dim is a symbol or a non-negative integer");
            }
            dims.push_back(dim);
        }
        return dims;
    }

    std::vector<SchemaValue> values(h5::Dtype dtype) const {
        const toml::node* node = table_["values"].node();
        if (node == nullptr) return {};
        const auto* arr = node->as_array();
        if (arr == nullptr || arr->empty()) fail_at("values", "'values' must be a non-empty array");
        std::vector<SchemaValue> out;
        for (const toml::node& v : *arr) {
            if (dtype == h5::Dtype::string && v.is_string()) {
                out.emplace_back(v.as_string()->get());
            } else if (is_integer_dtype(dtype) && v.is_integer()) {
                out.emplace_back(v.as_integer()->get());
            } else {
                bad(source_, v.source(),
                    label_ + "a value of a " + h5::to_string(dtype) + " must be " +
                        (dtype == h5::Dtype::string ? "a string" : "an integer") +
                        (is_integer_dtype(dtype) || dtype == h5::Dtype::string
                             ? ""
                             : " (values are for strings and integers only)"));
            }
        }
        return out;
    }

    std::optional<SchemaCondition> condition() const {
        const toml::node* node = table_["required_if"].node();
        if (node == nullptr) return std::nullopt;
        const auto* t = node->as_table();
        if (t == nullptr) {
            fail_at("required_if", "'required_if' must be a table { path, name, equals }");
        }
        reject_unknown_keys(*t, kConditionKeys, source_, label_ + "required_if: ");
        SchemaCondition c;
        const auto* path = (*t)["path"].as_string();
        const auto* name = (*t)["name"].as_string();
        const toml::node* equals = (*t)["equals"].node();
        if (path == nullptr || name == nullptr || equals == nullptr) {
            fail_at("required_if", "'required_if' needs path, name (strings) and equals");
        }
        c.path = path->get();
        c.name = name->get();
        if (!is_valid_path(c.path)) fail_at("required_if", "bad path '" + c.path + "'");
        if (const auto* s = equals->as_string()) {
            c.equals = s->get();
        } else if (const auto* i = equals->as_integer()) {
            c.equals = i->get();
        } else {
            bad(source_, equals->source(), label_ + "'equals' must be a string or an integer");
        }
        return c;
    }

    const toml::table& table_;
    const std::string& source_;
    std::string label_;
};

// Cross-entry rules: no duplicates; every object's parent, and every attribute's carrier, is
// declared before it, so that "required when the parent is present" is well defined.
void check_entries(const std::vector<SchemaEntry>& entries) {
    std::set<std::tuple<int, std::string, std::string>> seen;
    std::set<std::string> groups = {"/"};
    std::set<std::string> objects = {"/"};
    std::set<std::pair<std::string, std::string>> attributes;
    for (const SchemaEntry& e : entries) {
        if (!seen.emplace(static_cast<int>(e.kind), e.path, e.name).second) {
            throw ConfigError(e.source + ": " + e.display() + " is declared twice");
        }
        if (e.kind == EntryKind::attribute) {
            if (objects.count(e.path) == 0) {
                throw ConfigError(e.source + ": " + e.display() + ": declare " + e.path +
                                  " (group or dataset) before its attributes");
            }
            attributes.emplace(e.path, e.name);
            continue;
        }
        if (objects.count(e.path) != 0) {
            throw ConfigError(e.source + ": " + e.display() + " is declared twice");
        }
        if (groups.count(parent_of(e.path)) == 0) {
            throw ConfigError(e.source + ": " + e.display() + ": declare its group " +
                              parent_of(e.path) + " before it");
        }
        objects.insert(e.path);
        if (e.kind == EntryKind::group) groups.insert(e.path);
    }
    for (const SchemaEntry& e : entries) {
        if (e.required_if && attributes.count({e.required_if->path, e.required_if->name}) == 0) {
            throw ConfigError(e.source + ": " + e.display() + ": required_if refers to " +
                              e.required_if->path + "@" + e.required_if->name +
                              ", which the schema does not declare");
        }
    }
}

bool is_directory(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_regular_file(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

} // namespace

std::vector<std::int64_t> Schema::readable_versions() const {
    std::vector<std::int64_t> out = {version_};
    for (const SchemaEntry& e : entries_) {
        if (e.kind != EntryKind::attribute || e.path != "/" || e.name != "schema_version") continue;
        for (const SchemaValue& v : e.values) {
            const auto* n = std::get_if<std::int64_t>(&v);
            if (n != nullptr && *n >= 1 && *n < version_) out.push_back(*n);
        }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

Schema Schema::parse(std::string_view text, const std::string& source_name) {
    toml::table root;
    try {
        root = toml::parse(text, source_name);
    } catch (const toml::parse_error& e) {
        bad(source_name, e.source(), std::string(e.description()));
    }
    reject_unknown_keys(root, kTopKeys, source_name, "");
    Schema schema;
    schema.source_ = source_name;
    const auto* version = root["schema_version"].as_integer();
    if (version == nullptr || version->get() < 1 || version->get() > 1000000) {
        bad(source_name, root.source(), "'schema_version' must be a positive integer");
    }
    schema.version_ = static_cast<int>(version->get());
    const auto* kind = root["file_kind"].as_string();
    if (kind == nullptr || kind->get().empty()) {
        bad(source_name, root.source(), "'file_kind' must be a non-empty string");
    }
    schema.file_kind_ = kind->get();
    schema.description_ = root["description"].value_or(std::string());
    const auto* entries = root["entry"].as_array();
    if (entries == nullptr) bad(source_name, root.source(), "no [[entry]] tables");
    std::size_t index = 0;
    for (const toml::node& node : *entries) {
        ++index;
        const auto* table = node.as_table();
        if (table == nullptr) bad(source_name, node.source(), "'entry' must be [[entry]] tables");
        schema.entries_.push_back(EntryReader(*table, source_name, index).read());
    }
    check_entries(schema.entries_);
    return schema;
}

Schema Schema::load(const std::string& path) {
    if (!is_regular_file(path)) {
        if (is_directory(path)) throw IoError(path + ": is a directory, not a schema file");
        throw IoError::missing(path);
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) throw IoError(path + ": cannot read schema file");
    return parse(text.str(), path);
}

std::string default_schema_dir() { return detail::schema_source_dir(); }

std::optional<std::string> builtin_schema_text(const std::string& file_kind) {
    for (const detail::EmbeddedSchema& s : detail::embedded_schemas()) {
        if (file_kind == s.file_kind) return std::string(s.text);
    }
    return std::nullopt;
}

// ---- SchemaSet ------------------------------------------------------------------------------

SchemaSet::SchemaSet(const std::string& override_path) {
    if (!override_path.empty()) {
        if (is_directory(override_path)) {
            dir_ = override_path;
            dir_is_explicit_ = true;
        } else if (is_regular_file(override_path)) {
            single_ = Schema::load(override_path);
        } else {
            throw ConfigError(override_path + ": no such schema file or directory");
        }
        return;
    }
    const char* env = std::getenv("SP_SCHEMA_DIR");
    if (env != nullptr && *env != '\0') {
        if (!is_directory(env)) {
            throw ConfigError(std::string("SP_SCHEMA_DIR=") + env + ": no such directory");
        }
        dir_ = env;
        dir_is_explicit_ = true;
        return;
    }
    if (is_directory(default_schema_dir())) dir_ = default_schema_dir();
}

std::string SchemaSet::describe() const {
    if (single_) return single_->source();
    if (dir_is_explicit_) return dir_;
    if (!dir_.empty()) return dir_ + ", then the built-in schemas";
    return "the built-in schemas";
}

const Schema* SchemaSet::find(const std::string& file_kind) {
    if (single_) return &*single_;
    const bool plain =
        !file_kind.empty() && std::all_of(file_kind.begin(), file_kind.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
        });
    if (!plain) return nullptr;
    if (const auto it = cache_.find(file_kind); it != cache_.end()) return &it->second;
    std::optional<Schema> schema;
    const std::string file = dir_ + "/" + file_kind + ".toml";
    if (!dir_.empty() && is_regular_file(file)) {
        schema = Schema::load(file);
    } else if (!dir_is_explicit_) {
        if (const auto text = builtin_schema_text(file_kind)) {
            schema = Schema::parse(*text, "<built-in>/" + file_kind + ".toml");
        }
    }
    if (!schema) return nullptr;
    if (schema->file_kind() != file_kind) {
        throw ConfigError(schema->source() + ": file_kind is '" + schema->file_kind() +
                          "', expected '" + file_kind + "' from its name");
    }
    return &cache_.emplace(file_kind, std::move(*schema)).first->second;
}

const Schema& SchemaSet::for_kind(const std::string& file_kind) {
    if (const Schema* s = find(file_kind)) return *s;
    throw ConfigError("no schema for file_kind '" + file_kind + "' in " + describe());
}

} // namespace sp::io
