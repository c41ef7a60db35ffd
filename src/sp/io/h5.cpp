#include "sp/io/h5.hpp"

#include "sp/io/h5_detail.hpp"
#include "sp/util/error.hpp"
#include "sp/util/log.hpp"
#include "sp/util/strings.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace sp::h5 {
namespace detail {

void quiet() noexcept {
    thread_local const bool silenced = [] {
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
        return true;
    }();
    static_cast<void>(silenced);
}

namespace {

herr_t append_entry(unsigned /*n*/, const H5E_error2_t* err, void* data) {
    auto* out = static_cast<std::string*>(data);
    if (!out->empty()) *out += "; ";
    *out += err->func_name != nullptr ? err->func_name : "?";
    *out += "(): ";
    *out += err->desc != nullptr ? err->desc : "";
    char minor[256] = {};
    if (H5Eget_msg(err->min_num, nullptr, minor, sizeof minor) > 0) {
        *out += " [";
        *out += minor;
        *out += "]";
    }
    return 0;
}

} // namespace

std::string error_stack() {
    quiet();
    // Walk a copy: H5Eget_msg inside the walk must not disturb the stack being walked.
    const hid_t copy = H5Eget_current_stack();
    std::string text;
    if (copy >= 0) {
        H5Ewalk2(copy, H5E_WALK_DOWNWARD, append_entry, &text);
        H5Eclose_stack(copy);
    }
    H5Eclear2(H5E_DEFAULT);
    return text.empty() ? "no HDF5 error stack" : "HDF5: " + text;
}

void fail(const std::string& where, const std::string& what) {
    throw IoError(where + ": " + what + ": " + error_stack());
}

std::string join_path(const std::string& base, const std::string& relative) {
    if (relative.empty() || relative == ".") return base;
    if (relative.front() == '/') return relative;
    if (base.empty() || base == "/") return "/" + relative;
    return base + "/" + relative;
}

TypeRef file_type(Dtype dtype, const std::string& where) {
    switch (dtype) {
    case Dtype::float32:
        return {H5T_IEEE_F32LE, {}};
    case Dtype::float64:
        return {H5T_IEEE_F64LE, {}};
    case Dtype::int32:
        return {H5T_STD_I32LE, {}};
    case Dtype::int64:
        return {H5T_STD_I64LE, {}};
    case Dtype::uint8:
        return {H5T_STD_U8LE, {}};
    case Dtype::uint64:
        return {H5T_STD_U64LE, {}};
    case Dtype::string:
        return memory_type(dtype, where);
    }
    throw InternalError("unknown sp::h5::Dtype");
}

TypeRef memory_type(Dtype dtype, const std::string& where) {
    switch (dtype) {
    case Dtype::float32:
        return {H5T_NATIVE_FLOAT, {}};
    case Dtype::float64:
        return {H5T_NATIVE_DOUBLE, {}};
    case Dtype::int32:
        return {H5T_NATIVE_INT32, {}};
    case Dtype::int64:
        return {H5T_NATIVE_INT64, {}};
    case Dtype::uint8:
        return {H5T_NATIVE_UINT8, {}};
    case Dtype::uint64:
        return {H5T_NATIVE_UINT64, {}};
    case Dtype::string: {
        Handle t(check(H5Tcopy(H5T_C_S1), where, "cannot copy string type"), HandleKind::datatype);
        check(H5Tset_size(t.id(), H5T_VARIABLE), where, "cannot make string type");
        check(H5Tset_cset(t.id(), H5T_CSET_UTF8), where, "cannot make string type");
        const hid_t id = t.id();
        return {id, std::move(t)};
    }
    }
    throw InternalError("unknown sp::h5::Dtype");
}

TypeInfo classify(hid_t type) {
    TypeInfo info;
    const std::size_t size = H5Tget_size(type);
    switch (H5Tget_class(type)) {
    case H5T_INTEGER: {
        const bool is_signed = H5Tget_sign(type) != H5T_SGN_NONE;
        info.name = std::string(is_signed ? "int" : "uint") + std::to_string(size * 8);
        if (is_signed && size == 4) info.dtype = Dtype::int32;
        if (is_signed && size == 8) info.dtype = Dtype::int64;
        if (!is_signed && size == 1) info.dtype = Dtype::uint8;
        if (!is_signed && size == 8) info.dtype = Dtype::uint64;
        break;
    }
    case H5T_FLOAT:
        info.name = "float" + std::to_string(size * 8);
        if (size == 4) info.dtype = Dtype::float32;
        if (size == 8) info.dtype = Dtype::float64;
        break;
    case H5T_STRING:
        info.name = "string";
        info.dtype = Dtype::string;
        break;
    case H5T_ENUM:
        info.name = "enum";
        break;
    case H5T_COMPOUND:
        info.name = "compound";
        break;
    case H5T_ARRAY:
        info.name = "array";
        break;
    case H5T_VLEN:
        info.name = "vlen";
        break;
    case H5T_OPAQUE:
        info.name = "opaque";
        break;
    case H5T_REFERENCE:
        info.name = "reference";
        break;
    case H5T_BITFIELD:
        info.name = "bitfield";
        break;
    case H5T_TIME:
        info.name = "time";
        break;
    default:
        info.name = "unknown";
        break;
    }
    return info;
}

std::vector<hsize_t> to_hsize(const Shape& shape) {
    std::vector<hsize_t> out;
    out.reserve(shape.size());
    for (const std::uint64_t d : shape) out.push_back(d == kUnlimited ? H5S_UNLIMITED : d);
    return out;
}

Handle make_space(const Shape& shape, const Shape& max_shape, const std::string& where) {
    if (shape.empty()) {
        return Handle(check(H5Screate(H5S_SCALAR), where, "cannot create dataspace"),
                      HandleKind::dataspace);
    }
    const std::vector<hsize_t> dims = to_hsize(shape);
    const std::vector<hsize_t> max = to_hsize(max_shape);
    return Handle(check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(),
                                         max.empty() ? nullptr : max.data()),
                        where, "cannot create dataspace"),
                  HandleKind::dataspace);
}

Shape space_shape(hid_t space, const std::string& where) {
    const int rank = check(H5Sget_simple_extent_ndims(space), where, "cannot read extents");
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    if (rank > 0) {
        check(H5Sget_simple_extent_dims(space, dims.data(), nullptr), where, "cannot read extents");
    }
    return Shape(dims.begin(), dims.end());
}

void read_strings(hid_t obj, bool is_dataset, hid_t stored_type, hid_t mem_space, hid_t file_space,
                  std::size_t count, std::string* out, const std::string& where) {
    if (count == 0) return;
    const H5T_cset_t cset = H5Tget_cset(stored_type);
    Handle mem(check(H5Tcopy(H5T_C_S1), where, "cannot copy string type"), HandleKind::datatype);
    // Keep the stored character set: HDF5 refuses ASCII <-> UTF-8 string conversions.
    check(H5Tset_cset(mem.id(), cset == H5T_CSET_ERROR ? H5T_CSET_ASCII : cset), where,
          "cannot make string type");
    const htri_t variable = check(H5Tis_variable_str(stored_type), where, "cannot inspect type");
    if (variable > 0) {
        check(H5Tset_size(mem.id(), H5T_VARIABLE), where, "cannot make string type");
        std::vector<char*> ptrs(count, nullptr);
        if (is_dataset) {
            check(H5Dread(obj, mem.id(), mem_space, file_space, H5P_DEFAULT, ptrs.data()), where,
                  "cannot read strings");
        } else {
            check(H5Aread(obj, mem.id(), ptrs.data()), where, "cannot read strings");
        }
        for (std::size_t i = 0; i < count; ++i) out[i] = ptrs[i] != nullptr ? ptrs[i] : "";
        // Release HDF5's allocations with the space that describes the buffer.
        Handle buf_space = make_space({count}, {}, where);
#if H5_VERSION_GE(1, 12, 0)
        H5Treclaim(mem.id(), buf_space.id(), H5P_DEFAULT, ptrs.data());
#else
        H5Dvlen_reclaim(mem.id(), buf_space.id(), H5P_DEFAULT, ptrs.data());
#endif
        return;
    }
    const std::size_t size = H5Tget_size(stored_type);
    check(H5Tset_size(mem.id(), size), where, "cannot make string type");
    check(H5Tset_strpad(mem.id(), H5Tget_strpad(stored_type)), where, "cannot make string type");
    std::vector<char> buf(count * size);
    if (is_dataset) {
        check(H5Dread(obj, mem.id(), mem_space, file_space, H5P_DEFAULT, buf.data()), where,
              "cannot read strings");
    } else {
        check(H5Aread(obj, mem.id(), buf.data()), where, "cannot read strings");
    }
    const bool space_padded = H5Tget_strpad(stored_type) == H5T_STR_SPACEPAD;
    for (std::size_t i = 0; i < count; ++i) {
        std::string s(buf.data() + i * size, size);
        const auto nul = s.find('\0');
        if (nul != std::string::npos) s.resize(nul);
        if (space_padded) s.erase(s.find_last_not_of(' ') + 1);
        out[i] = std::move(s);
    }
}

// Files sp writes need HDF5 >= 1.8 to read (every maintained reader does); in exchange,
// attributes may exceed 64 KiB (dense attribute storage). File locking stays on where the file
// system supports it and is skipped, instead of failing, where it does not (Lustre, NFS).
Handle file_access_plist(const std::string& where, bool for_writing) {
    Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), where, "cannot create property list"),
                HandleKind::property_list);
    if (for_writing) {
        check(H5Pset_libver_bounds(fapl.id(), H5F_LIBVER_V18, H5F_LIBVER_LATEST), where,
              "cannot set property");
    }
#if (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7) || H5_VERSION_GE(1, 12, 1)
    check(H5Pset_file_locking(fapl.id(), 1, 1), where, "cannot set property");
#endif
    return fapl;
}

} // namespace detail

using detail::check;
using detail::fail;

// ---- free functions -------------------------------------------------------------------------

std::string to_string(Dtype dtype) {
    switch (dtype) {
    case Dtype::float32:
        return "float32";
    case Dtype::float64:
        return "float64";
    case Dtype::int32:
        return "int32";
    case Dtype::int64:
        return "int64";
    case Dtype::uint8:
        return "uint8";
    case Dtype::uint64:
        return "uint64";
    case Dtype::string:
        return "string";
    }
    return "unknown";
}

std::optional<Dtype> parse_dtype(std::string_view name) {
    for (const Dtype d : {Dtype::float32, Dtype::float64, Dtype::int32, Dtype::int64, Dtype::uint8,
                          Dtype::uint64, Dtype::string}) {
        if (to_string(d) == name) return d;
    }
    return std::nullopt;
}

std::string to_string(const Shape& shape) {
    std::string out = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i > 0) out += ", ";
        out += shape[i] == kUnlimited ? "inf" : std::to_string(shape[i]);
    }
    return out + "]";
}

std::uint64_t element_count(const Shape& shape) {
    std::uint64_t n = 1;
    for (const std::uint64_t d : shape) n *= d;
    return n;
}

bool is_hdf5_file(const std::string& path) {
    detail::quiet();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
#if H5_VERSION_GE(1, 12, 0)
    const htri_t r = H5Fis_accessible(path.c_str(), H5P_DEFAULT);
#else
    const htri_t r = H5Fis_hdf5(path.c_str());
#endif
    if (r < 0) H5Eclear2(H5E_DEFAULT);
    return r > 0;
}

// ---- Handle ---------------------------------------------------------------------------------

namespace {

herr_t close_id(hid_t id, HandleKind kind) {
    switch (kind) {
    case HandleKind::file:
        return H5Fclose(id);
    case HandleKind::group:
        return H5Gclose(id);
    case HandleKind::dataset:
        return H5Dclose(id);
    case HandleKind::dataspace:
        return H5Sclose(id);
    case HandleKind::datatype:
        return H5Tclose(id);
    case HandleKind::attribute:
        return H5Aclose(id);
    case HandleKind::property_list:
        return H5Pclose(id);
    case HandleKind::object:
        return H5Oclose(id);
    }
    return -1;
}

const char* kind_name(HandleKind kind) {
    switch (kind) {
    case HandleKind::file:
        return "file";
    case HandleKind::group:
        return "group";
    case HandleKind::dataset:
        return "dataset";
    case HandleKind::dataspace:
        return "dataspace";
    case HandleKind::datatype:
        return "datatype";
    case HandleKind::attribute:
        return "attribute";
    case HandleKind::property_list:
        return "property list";
    case HandleKind::object:
        return "object";
    }
    return "object";
}

} // namespace

Handle::~Handle() { close_quietly(); }

Handle::Handle(Handle&& other) noexcept : id_(other.id_), kind_(other.kind_) { other.id_ = -1; }

Handle& Handle::operator=(Handle&& other) noexcept {
    if (this != &other) {
        close_quietly();
        id_ = std::exchange(other.id_, -1);
        kind_ = other.kind_;
    }
    return *this;
}

Id Handle::release() noexcept { return std::exchange(id_, -1); }

void Handle::close(const std::string& where) {
    if (id_ < 0) return;
    detail::quiet();
    const hid_t id = std::exchange(id_, -1);
    // A file closed with H5F_CLOSE_STRONG has already closed its objects: nothing left to do.
    if (H5Iis_valid(id) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return;
    }
    if (close_id(id, kind_) < 0) {
        fail(where.empty() ? std::string("HDF5") : where,
             std::string("cannot close ") + kind_name(kind_));
    }
}

void Handle::close_quietly() noexcept {
    if (id_ < 0) return;
    try {
        close();
    } catch (const std::exception& e) {
        log::warn(e.what());
    }
}

// ---- Location -------------------------------------------------------------------------------

bool Location::exists(const std::string& path) const {
    const std::string full = detail::join_path(path_, path);
    const hid_t lapl = detail::link_access();
    std::string prefix;
    // H5Lexists fails (rather than answering false) when an intermediate link is missing, so
    // walk the path one component at a time; each link's type is checked on the way, so an
    // external link is refused (ReadPolicy) before anything behind it is opened.
    for (const std::string& part : split(full, '/')) {
        if (part.empty()) continue;
        prefix += "/" + part;
        const htri_t r = H5Lexists(id(), prefix.c_str(), lapl);
        if (r <= 0) {
            detail::throw_if_link_refused(file_ + ": " + prefix);
            H5Eclear2(H5E_DEFAULT);
            return false;
        }
        detail::check_link(id(), prefix, file_);
    }
    if (prefix.empty()) return true;
    // A soft link may still lead through an external link elsewhere in the file: the link
    // access list's callback refuses that traversal.
    const htri_t r = H5Oexists_by_name(id(), prefix.c_str(), lapl);
    if (r < 0) {
        detail::throw_if_link_refused(file_ + ": " + prefix);
        H5Eclear2(H5E_DEFAULT);
    }
    return r > 0;
}

ObjectType Location::object_type(const std::string& path) const {
    if (!exists(path)) return ObjectType::none;
    const std::string full = detail::join_path(path_, path);
    const hid_t oid = H5Oopen(id(), full.c_str(), detail::link_access());
    if (oid < 0) detail::throw_if_link_refused(where(path));
    const Handle obj(check(oid, where(path), "cannot open object"), HandleKind::object);
    switch (H5Iget_type(obj.id())) {
    case H5I_GROUP:
        return ObjectType::group;
    case H5I_DATASET:
        return ObjectType::dataset;
    default:
        return ObjectType::other;
    }
}

std::vector<std::string> Location::links() const {
    H5G_info_t info{};
    check(H5Gget_info(id(), &info), where(), "cannot list group");
    std::vector<std::string> names;
    for (hsize_t i = 0; i < info.nlinks; ++i) {
        const ssize_t len = check(
            H5Lget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT),
            where(), "cannot list group");
        std::string name(static_cast<std::size_t>(len) + 1, '\0');
        check(H5Lget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(),
                                 H5P_DEFAULT),
              where(), "cannot list group");
        name.resize(static_cast<std::size_t>(len));
        names.push_back(std::move(name));
    }
    return names;
}

namespace {

Handle link_create_plist(const std::string& where) {
    Handle lcpl(check(H5Pcreate(H5P_LINK_CREATE), where, "cannot create property list"),
                HandleKind::property_list);
    check(H5Pset_create_intermediate_group(lcpl.id(), 1), where, "cannot set property");
    check(H5Pset_char_encoding(lcpl.id(), H5T_CSET_UTF8), where, "cannot set name encoding");
    return lcpl;
}

} // namespace

Group Location::create_group(const std::string& path) {
    const std::string full = detail::join_path(path_, path);
    const std::string w = file_ + ": " + full;
    if (exists(full)) throw IoError(w + ": cannot create group: already exists");
    const Handle lcpl = link_create_plist(w);
    Handle g(check(H5Gcreate2(id(), full.c_str(), lcpl.id(), H5P_DEFAULT, H5P_DEFAULT), w,
                   "cannot create group"),
             HandleKind::group);
    return Group(std::move(g), file_, full);
}

Group Location::open_group(const std::string& path) const {
    const std::string full = detail::join_path(path_, path);
    const std::string w = file_ + ": " + full;
    const ObjectType type = object_type(full);
    if (type == ObjectType::none) throw IoError(w + ": no such group");
    if (type != ObjectType::group) throw IoError(w + ": not a group");
    Handle g(check(H5Gopen2(id(), full.c_str(), H5P_DEFAULT), w, "cannot open group"),
             HandleKind::group);
    return Group(std::move(g), file_, full);
}

Group Location::require_group(const std::string& path) {
    return exists(path) ? open_group(path) : create_group(path);
}

Dataset Location::open_dataset(const std::string& path) const {
    const std::string full = detail::join_path(path_, path);
    const std::string w = file_ + ": " + full;
    const ObjectType type = object_type(full);
    if (type == ObjectType::none) throw IoError(w + ": no such dataset");
    if (type != ObjectType::dataset) throw IoError(w + ": not a dataset");
    Handle d(check(H5Dopen2(id(), full.c_str(), H5P_DEFAULT), w, "cannot open dataset"),
             HandleKind::dataset);
    detail::check_storage(d.id(), w);
    return Dataset(std::move(d), file_, full);
}

void Location::remove(const std::string& path) {
    const std::string full = detail::join_path(path_, path);
    const std::string w = file_ + ": " + full;
    if (!exists(full)) throw IoError(w + ": cannot remove: no such object");
    check(H5Ldelete(id(), full.c_str(), H5P_DEFAULT), w, "cannot remove");
}

TypeInfo Location::dtype(const std::string& path) const { return open_dataset(path).dtype(); }

Shape Location::shape(const std::string& path) const { return open_dataset(path).shape(); }

// ---- Group, File ----------------------------------------------------------------------------

Group::Group(Handle handle, std::string file, std::string path)
    : Location(std::move(handle), std::move(file), std::move(path)) {}

void Group::close() { handle_.close(where()); }

File::File(Handle handle, std::string name) : Location(std::move(handle), std::move(name), "/") {}

File File::create(const std::string& path, Create mode) {
    detail::quiet();
    const Handle fapl = detail::file_access_plist(path, true);
    const unsigned flags = mode == Create::exclusive ? H5F_ACC_EXCL : H5F_ACC_TRUNC;
    const hid_t id = H5Fcreate(path.c_str(), flags, H5P_DEFAULT, fapl.id());
    if (id < 0) fail(path, "cannot create HDF5 file");
    return File(Handle(id, HandleKind::file), path);
}

File File::open(const std::string& path, Access access) {
    detail::quiet();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) throw IoError::missing(path);
        throw IoError::system(path, "cannot open", errno);
    }
    if (!S_ISREG(st.st_mode)) throw IoError(path + ": not a regular file");
    if (::access(path.c_str(), R_OK) != 0) throw IoError::system(path, "cannot read", errno);
    if (!is_hdf5_file(path)) throw IoError(path + ": not an HDF5 file");
    const Handle fapl = detail::file_access_plist(path, false);
    const unsigned flags = access == Access::read_only ? H5F_ACC_RDONLY : H5F_ACC_RDWR;
    const hid_t id = H5Fopen(path.c_str(), flags, fapl.id());
    if (id < 0) fail(path, "cannot open HDF5 file");
    return File(Handle(id, HandleKind::file), path);
}

void File::flush() { check(H5Fflush(id(), H5F_SCOPE_GLOBAL), file_, "cannot flush"); }

void File::close() { handle_.close(file_); }

} // namespace sp::h5
