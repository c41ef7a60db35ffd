#pragma once
/// HDF5 I/O: a small RAII layer over the HDF5 C API (<hdf5.h> stays in the .cpp files).
///
///     namespace h5 = sp::h5;
///     h5::File f = h5::File::create("out.h5");               // IoError if it exists
///     f.write_attribute("schema_version", std::int32_t{1});
///     h5::Group eval = f.create_group("/eval");
///     eval.write_attribute("layer", "avgpool");
///     h5::DatasetOptions opts;
///     opts.chunk = {1024, d};
///     opts.deflate = 4;
///     f.write<float>("/eval/embeddings", values, {n, d}, opts);  // values.size() == n * d
///     f.write<std::int64_t>("/eval/labels", labels);              // 1-D
///
///     h5::File in = h5::File::open("out.h5");
///     std::vector<std::int64_t> y = in.read<std::int64_t>("/eval/labels", {n});
///     in.read<double>("/eval/labels");   // IoError: "out.h5: /eval/labels: dtype is int64, ..."
///
///     // Row blocks into an extendible dataset (bounded memory for N x d embeddings):
///     opts.max_shape = {h5::kUnlimited, d};
///     h5::Dataset ds = f.create_dataset("/emb", h5::Dtype::float32, {0, d}, opts);
///     ds.write_rows<float>(0, block);          // block.size() == rows * d; extends the dataset
///
/// Element types: float, double, std::int32_t, std::int64_t, std::uint8_t, std::uint64_t and
/// std::string (variable-length UTF-8). Other types do not link. Reads never convert: a dtype or
/// shape other than the one asked for is an IoError naming the file, the path, the expected and
/// the found dtype/shape. Every failed HDF5 call throws IoError carrying HDF5's error stack;
/// HDF5's own printing to stderr is switched off. Destructors never throw: a failed close is
/// logged with sp::log::warn.
///
/// Files from elsewhere (ReadPolicy): every path looked up (exists, object_type, open_*, read*)
/// is checked link by link. An external link (or a user-defined link) is refused with an
/// IoError naming the file and the link, and so is a soft link whose target crosses one; a
/// virtual dataset or one with external storage is refused when opened. Soft and hard links
/// stay inside the file and are followed. Before any read allocates, its declared extent is
/// checked against the memory available (or ReadPolicy::max_read_bytes): a larger read is an
/// IoError naming the dataset or attribute, its shape and the bytes it would need.
///
///     h5::set_read_policy({/*allow_external=*/true});   // e.g. sp_analyze --allow-external-links

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sp::h5 {

/// An HDF5 identifier (hid_t, a 64-bit integer since HDF5 1.10).
using Id = std::int64_t;

/// Dataset/attribute extents, slowest-varying first. Empty means scalar (rank 0).
using Shape = std::vector<std::uint64_t>;

/// In DatasetOptions::max_shape: the dimension may grow without limit (H5S_UNLIMITED).
inline constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();
/// In an expected shape passed to read(): this dimension may have any size.
inline constexpr std::uint64_t kAnyDim = std::numeric_limits<std::uint64_t>::max();

/// The element types sp reads and writes.
enum class Dtype { float32, float64, int32, int64, uint8, uint64, string };

/// "float32", "float64", "int32", "int64", "uint8", "uint64", "string".
std::string to_string(Dtype dtype);
/// The Dtype named by to_string(), or nullopt for any other name.
std::optional<Dtype> parse_dtype(std::string_view name);
/// "[100, 512]"; "[]" for a scalar; an unlimited maximum prints as "inf".
std::string to_string(const Shape& shape);
/// Number of elements: the product of the extents (1 for a scalar).
std::uint64_t element_count(const Shape& shape);

/// The Dtype of a C++ element type.
template <class T> constexpr Dtype dtype_of();
template <> constexpr Dtype dtype_of<float>() { return Dtype::float32; }
template <> constexpr Dtype dtype_of<double>() { return Dtype::float64; }
template <> constexpr Dtype dtype_of<std::int32_t>() { return Dtype::int32; }
template <> constexpr Dtype dtype_of<std::int64_t>() { return Dtype::int64; }
template <> constexpr Dtype dtype_of<std::uint8_t>() { return Dtype::uint8; }
template <> constexpr Dtype dtype_of<std::uint64_t>() { return Dtype::uint64; }
template <> constexpr Dtype dtype_of<std::string>() { return Dtype::string; }

/// What a dataset or attribute stores, as found in a file.
struct TypeInfo {
    /// The matching sp type, or nullopt when sp has none (int16, float16, compound, ...).
    std::optional<Dtype> dtype;
    /// Always set: "float32", "int16", "string", "compound", ... Fixed-length and
    /// variable-length strings are both "string".
    std::string name;
};

/// Values of a dataset or attribute with their extents.
template <class T> struct Array {
    std::vector<T> data; ///< row-major (C order)
    Shape shape;
};

/// Creation settings for a dataset.
struct DatasetOptions {
    /// Chunk extents (same rank as the shape). Empty: contiguous, unless deflate or max_shape
    /// need chunks, in which case whole rows of about 1 MiB per chunk are used.
    Shape chunk;
    /// Maximum extents (kUnlimited allowed). Empty: fixed at the creation shape.
    Shape max_shape;
    /// Deflate (gzip) level 0-9; nullopt: no compression.
    std::optional<int> deflate;
    /// Byte shuffle before deflate (helps floating-point data compress).
    bool shuffle = false;
};

/// What a path names inside a file.
enum class ObjectType { none, group, dataset, other };

/// The HDF5 object kinds a Handle can own; selects the matching H5*close.
enum class HandleKind {
    file,
    group,
    dataset,
    dataspace,
    datatype,
    attribute,
    property_list,
    object
};

/// Move-only owner of one hid_t: closes it with the H5*close of its kind.
class Handle {
  public:
    /// An empty handle.
    Handle() noexcept = default;
    /// Takes ownership of `id` (a negative id makes an empty handle).
    Handle(Id id, HandleKind kind) noexcept : id_(id), kind_(kind) {}
    /// Closes the id; a failure is logged, never thrown.
    ~Handle();
    /// Takes over `other`'s id; `other` becomes empty.
    Handle(Handle&& other) noexcept;
    Handle& operator=(Handle&& other) noexcept;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;

    /// The owned id (-1 when empty).
    Id id() const noexcept { return id_; }
    /// Which H5*close the id gets.
    HandleKind kind() const noexcept { return kind_; }
    /// Whether an id is owned.
    bool valid() const noexcept { return id_ >= 0; }
    /// Closes now; throws IoError (with HDF5's error stack, prefixed by `where`) on failure.
    void close(const std::string& where = "");
    /// Gives up ownership without closing.
    Id release() noexcept;

  private:
    void close_quietly() noexcept;

    Id id_ = -1;
    HandleKind kind_ = HandleKind::object;
};

/// Something in a file that has a path and attributes: a file's root, a group or a dataset.
class Object {
  public:
    /// The file's name as given when it was opened.
    const std::string& file_name() const noexcept { return file_; }
    /// Absolute HDF5 path ("/" for a file).
    const std::string& path() const noexcept { return path_; }
    /// The raw identifier, for calls this layer does not wrap.
    Id id() const noexcept { return handle_.id(); }
    /// False once closed or moved from.
    bool valid() const noexcept { return handle_.valid(); }

    /// Whether the object has an attribute of this name.
    bool has_attribute(const std::string& name) const;
    /// Names of this object's attributes, in name order.
    std::vector<std::string> attribute_names() const;
    /// The stored type of an attribute; IoError if there is no such attribute.
    TypeInfo attribute_type(const std::string& name) const;
    /// The extents of an attribute ([] for a scalar); IoError if there is no such attribute.
    Shape attribute_shape(const std::string& name) const;

    /// Writes a scalar attribute, replacing any attribute of that name.
    template <class T> void write_attribute(const std::string& name, const T& value);
    /// Writes a 1-D attribute, replacing any attribute of that name.
    template <class T> void write_attribute(const std::string& name, const std::vector<T>& values);
    /// Writes a scalar string attribute (variable-length UTF-8).
    void write_attribute(const std::string& name, const char* value);
    /// Deletes an attribute; IoError if there is none of that name.
    void remove_attribute(const std::string& name);
    /// Reads a scalar attribute; IoError if it is missing, of another dtype or not scalar.
    template <class T> T read_attribute(const std::string& name) const;
    /// Reads a 1-D attribute; IoError if it is missing, of another dtype or not 1-D.
    template <class T> std::vector<T> read_attribute_vector(const std::string& name) const;

  protected:
    Object() = default;
    Object(Handle handle, std::string file, std::string path);
    /// "file: path" for messages.
    std::string where() const;
    std::string where(const std::string& relative) const;

    Handle handle_;
    std::string file_;
    std::string path_;

  private:
    template <class T>
    std::vector<T> read_attribute_ranked(const std::string& name, std::size_t rank) const;
    void write_attribute_data(const std::string& name, Dtype dtype, const Shape& shape,
                              const void* data);
};

class Group;
class Dataset;

/// A file or a group: something that holds groups and datasets. Paths may be absolute ("/a/b")
/// or relative to this location ("b").
class Location : public Object {
  public:
    /// Whether `path` names an object (a dangling soft link does not).
    bool exists(const std::string& path) const;
    /// What `path` names: none, group, dataset or other.
    ObjectType object_type(const std::string& path) const;
    /// Names of this location's direct members (links), in name order.
    std::vector<std::string> links() const;

    /// Creates a group and any missing parents; IoError if `path` already exists.
    Group create_group(const std::string& path);
    /// Opens a group; IoError if it is missing or not a group.
    Group open_group(const std::string& path) const;
    /// Opens the group if it exists, else creates it (and missing parents).
    Group require_group(const std::string& path);
    /// Opens a dataset; IoError if it is missing or not a dataset.
    Dataset open_dataset(const std::string& path) const;
    /// Unlinks a group or dataset (HDF5 does not shrink the file). IoError if it is missing.
    void remove(const std::string& path);

    /// Creates an empty dataset (missing parent groups are created). Use with Dataset::write
    /// or Dataset::write_rows. IoError if `path` exists or the options do not fit the shape.
    Dataset create_dataset(const std::string& path, Dtype dtype, const Shape& shape,
                           const DatasetOptions& options = {});
    /// Creates a dataset of `shape` holding `data` (row-major, element_count(shape) values).
    template <class T>
    Dataset write(const std::string& path, const std::vector<T>& data, const Shape& shape,
                  const DatasetOptions& options = {});
    /// Creates a 1-D dataset holding `data`.
    template <class T> Dataset write(const std::string& path, const std::vector<T>& data);
    /// Creates a scalar (rank 0) dataset.
    template <class T> Dataset write_scalar(const std::string& path, const T& value);

    /// Reads a 1-D dataset; IoError if the dtype is not T or the rank is not 1.
    template <class T> std::vector<T> read(const std::string& path) const;
    /// Reads a dataset of the `expected` shape (kAnyDim matches any extent); IoError otherwise.
    template <class T> std::vector<T> read(const std::string& path, const Shape& expected) const;
    /// Reads a dataset of any shape.
    template <class T> Array<T> read_array(const std::string& path) const;
    /// Reads a scalar (rank 0) dataset.
    template <class T> T read_scalar(const std::string& path) const;

    /// The stored type of a dataset.
    TypeInfo dtype(const std::string& path) const;
    /// The extents of a dataset.
    Shape shape(const std::string& path) const;

  protected:
    using Object::Object;
};

/// An open group. Obtain one from Location::create_group / open_group.
class Group : public Location {
  public:
    /// An empty group (valid() is false), to assign to later.
    Group() = default;
    /// Adopts an open group id; `file` and `path` are used in messages.
    Group(Handle handle, std::string file, std::string path);
    /// Closes now (instead of at destruction); throws IoError on failure.
    void close();
};

/// Whether a file may be written after File::open.
enum class Access { read_only, read_write };
/// What File::create does when the file exists.
enum class Create { exclusive, truncate };

/// An open HDF5 file; its root group is the Location.
class File : public Location {
  public:
    /// An empty file (valid() is false), to assign to later.
    File() = default;
    /// Adopts an open file id; `name` is used in messages.
    File(Handle handle, std::string name);
    /// Creates a file. IoError (naming the file, with HDF5's reason) if it cannot be created,
    /// or if it exists and `mode` is exclusive.
    static File create(const std::string& path, Create mode = Create::exclusive);
    /// Opens an existing file. IoError "no such file" / "not an HDF5 file" / HDF5's reason.
    static File open(const std::string& path, Access access = Access::read_only);

    /// Writes HDF5's buffers to the operating system (H5Fflush; not an fsync).
    void flush();
    /// Closes now (instead of at destruction); throws IoError on failure.
    void close();
};

/// An open dataset. Obtain one from Location::open_dataset / create_dataset / write.
class Dataset : public Object {
  public:
    /// An empty dataset (valid() is false), to assign to later.
    Dataset() = default;
    /// Adopts an open dataset id; `file` and `path` are used in messages.
    Dataset(Handle handle, std::string file, std::string path);

    /// The stored element type.
    TypeInfo dtype() const;
    /// The current extents.
    Shape shape() const;
    /// Maximum extents (kUnlimited where unlimited).
    Shape max_shape() const;
    /// Chunk extents; empty when the layout is not chunked.
    Shape chunk() const;
    /// The deflate level if the deflate filter is set, else nullopt.
    std::optional<int> deflate_level() const;

    /// Overwrites the whole dataset with `data` (element_count(shape()) values of dtype T).
    template <class T> void write(const std::vector<T>& data);
    /// Writes the row block starting at `first_row` (rows along dimension 0). `data` holds
    /// whole rows; the dataset grows along dimension 0 if the block ends past it (IoError if
    /// it cannot grow: its max_shape is fixed).
    template <class T> void write_rows(std::uint64_t first_row, const std::vector<T>& data);
    /// Reads the whole dataset (row-major); IoError if its dtype is not T.
    template <class T> std::vector<T> read() const;
    /// Reads `count` rows starting at `first_row`; IoError if out of range or the dtype is not T.
    template <class T> std::vector<T> read_rows(std::uint64_t first_row, std::uint64_t count) const;
    /// Changes the extents within max_shape (H5Dset_extent).
    void resize(const Shape& shape);
    /// Closes now (instead of at destruction); throws IoError on failure.
    void close();

  private:
    void write_block(Dtype dtype, const Shape& offset, const Shape& count, const void* data);
    void read_block(Dtype dtype, const Shape& offset, const Shape& count, void* out) const;
    void check_dtype(Dtype expected) const;
    friend class Location;
};

/// Whether `path` is an existing, readable HDF5 file (false for a missing or other file).
bool is_hdf5_file(const std::string& path);

/// What reads accept from a file that may come from elsewhere. Process-wide (set once in main).
struct ReadPolicy {
    /// Follow external links, and read virtual datasets and datasets stored in external files:
    /// all three make sp read files the user never named. Default: refused (IoError).
    bool allow_external = false;
    /// The largest single read, in bytes of memory. 0 (default): reads under 64 MiB always
    /// proceed, larger ones must fit in available_memory() at the time of the read.
    std::uint64_t max_read_bytes = 0;
};

/// Sets the process-wide ReadPolicy (thread-safe).
void set_read_policy(const ReadPolicy& policy);
/// The current ReadPolicy.
ReadPolicy read_policy();
/// Bytes this process can still allocate: /proc/meminfo MemAvailable, capped by the cgroup's
/// memory limit minus its usage (v2 memory.max, v1 memory.limit_in_bytes) and by RLIMIT_AS;
/// free physical memory where /proc/meminfo is missing.
std::uint64_t available_memory();

} // namespace sp::h5
