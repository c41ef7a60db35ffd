// Validation of an HDF5 file against a Schema (declared in schema.hpp).
#include "sp/io/schema.hpp"

#include "sp/util/error.hpp"
#include "sp/util/strings.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>

namespace sp::io {

bool ValidationReport::valid() const { return error_count() == 0; }

std::size_t ValidationReport::error_count() const {
    std::size_t n = 0;
    for (const Problem& p : problems) n += p.severity == Problem::Severity::error ? 1 : 0;
    return n;
}

std::vector<std::string> ValidationReport::lines(bool with_notes) const {
    std::vector<std::string> out;
    for (const Problem& p : problems) {
        if (p.severity == Problem::Severity::error) {
            out.push_back(file + ": " + p.message);
        } else if (with_notes) {
            out.push_back(file + ": note: " + p.message);
        }
    }
    return out;
}

namespace {

// A group or a dataset, whichever a path names, as the Object that carries attributes.
class AnyObject {
  public:
    AnyObject(const h5::File& file, const std::string& path) {
        if (file.object_type(path) == h5::ObjectType::dataset) {
            dataset_ = file.open_dataset(path);
        } else {
            group_ = file.open_group(path);
        }
    }
    const h5::Object& get() const {
        if (dataset_) return *dataset_;
        return *group_;
    }

  private:
    std::optional<h5::Group> group_;
    std::optional<h5::Dataset> dataset_;
};

// The value of a scalar string or integer attribute; nullopt for other types or shapes.
std::optional<SchemaValue> scalar_value(const h5::Object& obj, const std::string& name) {
    if (!obj.has_attribute(name) || !obj.attribute_shape(name).empty()) return std::nullopt;
    const h5::TypeInfo type = obj.attribute_type(name);
    if (!type.dtype) return std::nullopt;
    switch (*type.dtype) {
    case h5::Dtype::string:
        return SchemaValue(obj.read_attribute<std::string>(name));
    case h5::Dtype::int32:
        return SchemaValue(std::int64_t{obj.read_attribute<std::int32_t>(name)});
    case h5::Dtype::int64:
        return SchemaValue(obj.read_attribute<std::int64_t>(name));
    case h5::Dtype::uint8:
        return SchemaValue(std::int64_t{obj.read_attribute<std::uint8_t>(name)});
    case h5::Dtype::uint64: {
        const std::uint64_t v = obj.read_attribute<std::uint64_t>(name);
        if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return std::nullopt;
        }
        return SchemaValue(static_cast<std::int64_t>(v));
    }
    default:
        return std::nullopt;
    }
}

std::string schema_shape(const std::vector<SchemaDim>& dims) {
    std::vector<std::string> parts;
    for (const SchemaDim& d : dims) {
        parts.push_back(d.symbol.empty() ? std::to_string(d.size) : d.symbol);
    }
    return "[" + join(parts, ", ") + "]";
}

std::string parent_of(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == 0 ? "/" : path.substr(0, slash);
}

class Validator {
  public:
    Validator(const h5::File& file, const Schema& schema, ValidationReport& report)
        : file_(file), schema_(schema), report_(report) {}

    void run() {
        if (!version_matches()) return;
        for (const SchemaEntry& e : schema_.entries()) {
            if (e.kind == EntryKind::attribute) {
                known_attributes_.emplace(e.path, e.name);
            } else {
                known_objects_.insert(e.path);
            }
        }
        for (const SchemaEntry& e : schema_.entries()) check(e);
        note_unknown("/");
    }

  private:
    void error(const std::string& message) {
        report_.problems.push_back({Problem::Severity::error, message});
    }
    void note(const std::string& message) {
        report_.problems.push_back({Problem::Severity::note, message});
    }

    // A file of a layout version the schema does not read cannot be checked entry by entry: one
    // error says why. The schema reads its own version and the older ones its /@schema_version
    // entry allows (entries added since are required_if schema_version equals the newer one).
    bool version_matches() {
        if (!file_.has_attribute("schema_version")) return true;
        const h5::TypeInfo type = file_.attribute_type("schema_version");
        if (!type.dtype || *type.dtype == h5::Dtype::string) return true;
        const std::optional<SchemaValue> v = scalar_value(file_, "schema_version");
        if (!v) return true;
        const std::vector<std::int64_t> readable = schema_.readable_versions();
        const std::int64_t found = std::get<std::int64_t>(*v);
        if (std::find(readable.begin(), readable.end(), found) != readable.end()) return true;
        std::vector<std::string> names;
        for (const std::int64_t r : readable) names.push_back(std::to_string(r));
        error("schema_version is " + std::to_string(found) + ", this sp reads " +
              join(names, ", "));
        return false;
    }

    bool condition_holds(const SchemaCondition& c) {
        if (!file_.exists(c.path)) return false;
        const AnyObject obj(file_, c.path);
        const std::optional<SchemaValue> v = scalar_value(obj.get(), c.name);
        return v && *v == c.equals;
    }

    std::string missing_message(const SchemaEntry& e) const {
        if (e.required) return e.display() + ": missing (required)";
        return e.display() + ": missing (required when " + e.required_if->path + "@" +
               e.required_if->name + " is " + to_string(e.required_if->equals) + ")";
    }

    void check(const SchemaEntry& e) {
        const std::string carrier = e.kind == EntryKind::attribute ? e.path : parent_of(e.path);
        const h5::ObjectType carrier_type = file_.object_type(carrier);
        // Absent parent: its own entry reports it (if required); its members are not checked.
        if (carrier_type == h5::ObjectType::none) return;
        if (e.kind != EntryKind::attribute && carrier_type != h5::ObjectType::group) return;
        if (e.kind == EntryKind::attribute && carrier_type == h5::ObjectType::other) return;
        const bool required = e.required || (e.required_if && condition_holds(*e.required_if));
        if (e.kind == EntryKind::attribute) {
            check_attribute(e, required);
        } else {
            check_object(e, required);
        }
    }

    void check_attribute(const SchemaEntry& e, bool required) {
        const AnyObject holder(file_, e.path);
        const h5::Object& obj = holder.get();
        if (!obj.has_attribute(e.name)) {
            if (required) error(missing_message(e));
            return;
        }
        if (!check_dtype(e, obj.attribute_type(e.name))) return;
        if (!check_shape(e, obj.attribute_shape(e.name))) return;
        if (e.values.empty()) return;
        const std::optional<SchemaValue> v = scalar_value(obj, e.name);
        if (!v) return;
        for (const SchemaValue& allowed : e.values) {
            if (*v == allowed) return;
        }
        std::vector<std::string> allowed;
        for (const SchemaValue& a : e.values) allowed.push_back(to_string(a));
        error(e.display() + ": value is " + to_string(*v) + ", schema allows " +
              join(allowed, ", "));
    }

    void check_object(const SchemaEntry& e, bool required) {
        const h5::ObjectType type = file_.object_type(e.path);
        if (type == h5::ObjectType::none) {
            if (required) error(missing_message(e));
            return;
        }
        const bool want_group = e.kind == EntryKind::group;
        if (want_group && type != h5::ObjectType::group) {
            error(e.display() + ": is " +
                  (type == h5::ObjectType::dataset ? "a dataset" : "not a group") +
                  ", schema says group");
            return;
        }
        if (!want_group && type != h5::ObjectType::dataset) {
            error(e.display() + ": is " +
                  (type == h5::ObjectType::group ? "a group" : "not a dataset") +
                  ", schema says dataset");
            return;
        }
        if (want_group) return;
        const h5::Dataset ds = file_.open_dataset(e.path);
        if (check_dtype(e, ds.dtype())) check_shape(e, ds.shape());
    }

    bool check_dtype(const SchemaEntry& e, const h5::TypeInfo& found) {
        if (found.dtype == e.dtype) return true;
        error(e.display() + ": dtype is " + found.name + ", schema says " +
              h5::to_string(*e.dtype));
        return false;
    }

    bool check_shape(const SchemaEntry& e, const h5::Shape& found) {
        const std::string said = schema_shape(e.shape);
        if (found.size() != e.shape.size()) {
            error(e.display() + ": shape " + h5::to_string(found) + " but schema says " + said);
            return false;
        }
        for (std::size_t i = 0; i < found.size(); ++i) {
            const SchemaDim& d = e.shape[i];
            if (d.symbol.empty() && found[i] != d.size) {
                error(e.display() + ": shape " + h5::to_string(found) + " but schema says " + said);
                return false;
            }
        }
        for (std::size_t i = 0; i < found.size(); ++i) {
            const SchemaDim& d = e.shape[i];
            if (d.symbol.empty()) continue;
            const auto it = dims_.find(d.symbol);
            if (it == dims_.end()) {
                dims_.emplace(d.symbol, std::make_pair(found[i], e.display()));
            } else if (it->second.first != found[i]) {
                error(e.display() + ": shape " + h5::to_string(found) + " but dim " + d.symbol +
                      " is " + std::to_string(it->second.first) + " (from " + it->second.second +
                      ")");
                return false;
            }
        }
        return true;
    }

    void note_unknown_attributes(const h5::Object& obj) {
        for (const std::string& name : obj.attribute_names()) {
            if (known_attributes_.count({obj.path(), name}) == 0) {
                note(obj.path() + "@" + name + ": not in schema");
            }
        }
    }

    // Notes objects and attributes the schema does not describe; does not descend into unknown
    // groups (one note for the whole subtree).
    void note_unknown(const std::string& group_path) {
        const h5::Group group = file_.open_group(group_path);
        note_unknown_attributes(group);
        for (const std::string& name : group.links()) {
            const std::string child = group_path == "/" ? "/" + name : group_path + "/" + name;
            const h5::ObjectType type = file_.object_type(child);
            if (type == h5::ObjectType::none) {
                note(child + ": dangling link");
            } else if (known_objects_.count(child) == 0) {
                note(child + ": not in schema");
            } else if (type == h5::ObjectType::group) {
                note_unknown(child);
            } else if (type == h5::ObjectType::dataset) {
                note_unknown_attributes(file_.open_dataset(child));
            }
        }
    }

    const h5::File& file_;
    const Schema& schema_;
    ValidationReport& report_;
    std::set<std::string> known_objects_;
    std::set<std::pair<std::string, std::string>> known_attributes_;
    std::map<std::string, std::pair<std::uint64_t, std::string>> dims_;
};

// Opens `path`, or records why it cannot be read.
std::optional<h5::File> open_for_validation(const std::string& path, ValidationReport& report) {
    try {
        return h5::File::open(path);
    } catch (const IoError& e) {
        std::string message = e.what();
        // IoError messages start with the file name; the report adds it to every line.
        if (message.rfind(path + ": ", 0) == 0) message.erase(0, path.size() + 2);
        report.problems.push_back({Problem::Severity::error, message});
        return std::nullopt;
    }
}

void validate_open(const h5::File& file, const Schema& schema, ValidationReport& report) {
    try {
        Validator(file, schema, report).run();
    } catch (const IoError& e) {
        // A file that opens but cannot be read through (a corrupt object) is invalid, not a
        // reason to stop checking the other files.
        std::string message = e.what();
        if (message.rfind(report.file + ": ", 0) == 0) message.erase(0, report.file.size() + 2);
        report.problems.push_back({Problem::Severity::error, "unreadable: " + message});
    }
}

} // namespace

ValidationReport validate(const std::string& path, const Schema& schema) {
    ValidationReport report{path, {}};
    if (const std::optional<h5::File> file = open_for_validation(path, report)) {
        validate_open(*file, schema, report);
    }
    return report;
}

ValidationReport validate(const std::string& path, SchemaSet& schemas) {
    ValidationReport report{path, {}};
    const std::optional<h5::File> file = open_for_validation(path, report);
    if (!file) return report;
    std::string kind = "replicate";
    try {
        if (file->has_attribute("file_kind") &&
            file->attribute_type("file_kind").dtype == h5::Dtype::string &&
            file->attribute_shape("file_kind").empty()) {
            kind = file->read_attribute<std::string>("file_kind");
        }
    } catch (const IoError& e) {
        report.problems.push_back(
            {Problem::Severity::error, std::string("unreadable: ") + e.what()});
        return report;
    }
    const Schema* schema = schemas.find(kind);
    if (schema == nullptr) {
        report.problems.push_back(
            {Problem::Severity::error,
             "/@file_kind: '" + kind + "' has no schema in " + schemas.describe()});
        return report;
    }
    validate_open(*file, *schema, report);
    return report;
}

} // namespace sp::io
