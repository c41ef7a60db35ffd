#pragma once
/// The results schema (results-schema/<file_kind>.toml) and validation of HDF5 files against it.
///
///     sp::io::SchemaSet schemas;                    // SP_SCHEMA_DIR, source tree, or built in
///     sp::io::ValidationReport r = sp::io::validate("results/abc.h5", schemas);
///     for (const std::string& line : r.lines()) std::cout << line << '\n';
///     // "results/abc.h5: /eval/labels: dtype is float32, schema says int64"
///     if (!r.valid()) return 2;
///
/// A schema lists groups, datasets and attributes with dtype, symbolic shape (["N", "D"]: a
/// symbol has one size throughout a file), unit, whether required, and a description. An entry
/// is checked only when the object above it exists (its parent group, or the object carrying
/// the attribute): "required" means "required whenever its parent is present", so an optional
/// group's members can be required. Objects not in the schema are notes, not errors.
/// Attributes are written `path@name` in messages: `/provenance@hostname`, `/@status`.

#include "sp/io/h5.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sp::io {

/// One extent in a schema shape: a symbol ("N") or a fixed size.
struct SchemaDim {
    std::string symbol;     ///< empty for a fixed size
    std::uint64_t size = 0; ///< the fixed size when `symbol` is empty
};

/// A value in a schema (`values`, `required_if.equals`): an integer or a string.
using SchemaValue = std::variant<std::int64_t, std::string>;

/// "1", "'complete'".
std::string to_string(const SchemaValue& value);

/// "Required when attribute `name` of `path` equals `equals`".
struct SchemaCondition {
    std::string path;
    std::string name;
    SchemaValue equals;
};

/// What a schema entry describes.
enum class EntryKind { group, dataset, attribute };

/// One group, dataset or attribute of a schema.
struct SchemaEntry {
    EntryKind kind = EntryKind::group;
    std::string path;               ///< the object (for attributes: the one carrying it)
    std::string name;               ///< attribute name; empty otherwise
    std::optional<h5::Dtype> dtype; ///< not for groups
    std::vector<SchemaDim> shape;   ///< not for groups; empty: scalar
    std::string unit;
    bool required = false;
    std::optional<SchemaCondition> required_if;
    std::vector<SchemaValue> values; ///< allowed values; empty: any
    std::string description;
    std::string source; ///< "replicate.toml:42:1", where it is defined

    /// "/eval/labels" or "/provenance@hostname".
    std::string display() const;
};

/// A parsed schema file.
class Schema {
  public:
    /// Parses schema TOML. `source_name` is used in messages. ConfigError
    /// ("name:line:col: message") on malformed TOML or entries.
    static Schema parse(std::string_view text, const std::string& source_name);
    /// Reads and parses a schema file. IoError if unreadable, ConfigError if malformed.
    static Schema load(const std::string& path);

    /// The layout version files of this schema carry in their root `schema_version`.
    int version() const noexcept { return version_; }
    /// The layout versions this schema validates, ascending: version() and the older ones the
    /// `values` of its `/@schema_version` entry list (results-schema/README.md, "Versions").
    std::vector<std::int64_t> readable_versions() const;
    /// The kind of file it describes ("replicate"), named after the schema file.
    const std::string& file_kind() const noexcept { return file_kind_; }
    /// One line about the file kind.
    const std::string& description() const noexcept { return description_; }
    /// The entries, in the order they are checked.
    const std::vector<SchemaEntry>& entries() const noexcept { return entries_; }
    /// Where the schema came from (a path, or "<built-in>/replicate.toml").
    const std::string& source() const noexcept { return source_; }

  private:
    int version_ = 0;
    std::string file_kind_;
    std::string description_;
    std::vector<SchemaEntry> entries_;
    std::string source_;
};

/// The directory of the source tree's results-schema/ recorded at build time.
std::string default_schema_dir();

/// The text of results-schema/<file_kind>.toml as embedded at build time, if there is one.
std::optional<std::string> builtin_schema_text(const std::string& file_kind);

/// Finds and caches schemas by file kind. Looks, in order, at: the override (a schema file used
/// for every file, or a directory of <file_kind>.toml), else $SP_SCHEMA_DIR, else the source
/// tree's results-schema/ if it is there, else the copies built into the library.
class SchemaSet {
  public:
    /// ConfigError if the override or $SP_SCHEMA_DIR names nothing that exists.
    explicit SchemaSet(const std::string& override_path = "");
    /// The schema for `file_kind`. ConfigError if there is none, or it is malformed.
    const Schema& for_kind(const std::string& file_kind);
    /// The schema for `file_kind`, or nullptr if there is none. ConfigError if it is malformed.
    const Schema* find(const std::string& file_kind);
    /// Where schemas are looked for, for messages.
    std::string describe() const;

  private:
    std::optional<Schema> single_;
    std::string dir_;
    bool dir_is_explicit_ = false;
    std::map<std::string, Schema> cache_;
};

/// One finding of a validation.
struct Problem {
    enum class Severity { error, note };
    Severity severity = Severity::error;
    std::string message; ///< "/eval/labels: dtype is float32, schema says int64"
};

/// The outcome of validating one file.
struct ValidationReport {
    std::string file;
    std::vector<Problem> problems;

    /// True when there are no errors (notes allowed).
    bool valid() const;
    /// Number of errors (notes not counted).
    std::size_t error_count() const;
    /// One line per problem, "FILE: message" or "FILE: note: message".
    std::vector<std::string> lines(bool with_notes = true) const;
};

/// Validates the HDF5 file at `path` against `schema`. Never throws for a bad file: a missing,
/// unreadable or non-HDF5 file is an error in the report.
ValidationReport validate(const std::string& path, const Schema& schema);

/// Validates against the schema for the file's root `file_kind` attribute ("replicate" when it
/// has none). A file kind without a schema is an error in the report. ConfigError if a schema
/// file is malformed.
ValidationReport validate(const std::string& path, SchemaSet& schemas);

} // namespace sp::io
