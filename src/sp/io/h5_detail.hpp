#pragma once
// Private to src/sp/io: helpers shared by h5.cpp, h5_dataset.cpp and atomic.cpp. Includes <hdf5.h>.

#include "sp/io/h5.hpp"
#include "sp/util/error.hpp"

#include <hdf5.h>

#include <string>
#include <type_traits>
#include <vector>

namespace sp::h5::detail {

static_assert(std::is_same_v<hid_t, Id>, "sp::h5::Id must be hid_t");

/// Switches off HDF5's automatic error printing for the calling thread (per-thread setting in
/// thread-safe builds), once.
void quiet() noexcept;

/// HDF5's current error stack as one line ("HDF5: H5Dopen2(): ...; ..."), then clears it.
std::string error_stack();

/// Throws IoError("<where>: <what>: <error stack>").
[[noreturn]] void fail(const std::string& where, const std::string& what);

/// Returns `result`, or throws (see fail) if it is negative (HDF5's failure convention).
template <class R> R check(R result, const std::string& where, const char* what) {
    static_assert(std::is_signed_v<R>);
    if (result < 0) fail(where, what);
    return result;
}

/// `base`/`relative`, or `relative` when it is absolute. "." names `base` itself.
std::string join_path(const std::string& base, const std::string& relative);

/// A datatype id with the handle that owns it when it is not a predefined type.
struct TypeRef {
    hid_t id = -1;
    Handle owned;
};

/// The type sp stores `dtype` as in files: little-endian IEEE/two's complement numbers,
/// variable-length UTF-8 strings.
TypeRef file_type(Dtype dtype, const std::string& where);
/// The in-memory type matching sp's C++ type for `dtype` (std::string: variable-length UTF-8).
TypeRef memory_type(Dtype dtype, const std::string& where);
/// Describes a stored datatype.
TypeInfo classify(hid_t type);

/// A dataspace of `shape` (scalar when empty) with optional maximum extents.
Handle make_space(const Shape& shape, const Shape& max_shape, const std::string& where);
/// The current extents of a dataspace.
Shape space_shape(hid_t space, const std::string& where);

/// The file access properties sp opens and creates files with (`for_writing`: creation).
Handle file_access_plist(const std::string& where, bool for_writing);

std::vector<hsize_t> to_hsize(const Shape& shape);

// ---- files from elsewhere (h5_policy.cpp; see ReadPolicy) ----

/// The link access property list every lookup uses: its external-link callback refuses the
/// traversal unless ReadPolicy::allow_external, noting what was refused for
/// throw_if_link_refused. Created once, never closed.
hid_t link_access();
/// Throws IoError("<where>: ... external link to FILE:OBJECT ...") if the last failed lookup on
/// this thread failed because link_access() refused an external link (then forgets it).
void throw_if_link_refused(const std::string& where);
/// Throws IoError naming `file` and `path` if the link `path` (absolute, existing) of `loc` is
/// an external or user-defined link and the policy refuses them.
void check_link(hid_t loc, const std::string& path, const std::string& file);
/// Throws IoError naming `where` if dataset `dataset` is virtual or stored in external files and
/// the policy refuses them.
void check_storage(hid_t dataset, const std::string& where);
/// Throws IoError naming `where`, `shape` and `dtype_name` if reading `shape` elements of
/// `bytes_per_element` bytes of memory each exceeds what the policy allows.
void check_read_size(const std::string& where, const Shape& shape, std::uint64_t bytes_per_element,
                     const std::string& dtype_name);
/// Bytes of memory one element of `stored_type` takes when sp reads it as `dtype`.
/// Bytes one element of `dtype` takes in the file (a variable-length string: its heap reference).
std::uint64_t element_size(Dtype dtype);

std::uint64_t memory_bytes_per_element(Dtype dtype, hid_t stored_type);

/// Reads strings from a dataset (`is_dataset`) or attribute `obj` whose file type is
/// `stored_type`, selected by `mem_space`/`file_space` (H5S_ALL for attributes), into `out`.
void read_strings(hid_t obj, bool is_dataset, hid_t stored_type, hid_t mem_space, hid_t file_space,
                  std::size_t count, std::string* out, const std::string& where);

} // namespace sp::h5::detail
