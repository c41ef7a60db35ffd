// Datasets: creation (chunking, deflate, extendible extents), whole and row-block reads/writes.
#include "sp/io/h5.hpp"

#include "sp/io/h5_detail.hpp"
#include "sp/util/error.hpp"

#include <algorithm>
#include <utility>

namespace sp::h5 {

using detail::check;

namespace detail {

std::uint64_t element_size(Dtype dtype) {
    switch (dtype) {
    case Dtype::float32:
    case Dtype::int32:
        return 4;
    case Dtype::float64:
    case Dtype::int64:
    case Dtype::uint64:
        return 8;
    case Dtype::uint8:
        return 1;
    case Dtype::string:
        return 16; // a variable-length string is stored as a heap reference
    }
    return 8;
}

} // namespace detail

using detail::element_size;

namespace {

// Target chunk size. HDF5's default chunk cache is 1 MiB per dataset, so chunks of about that
// size are read and decompressed once per pass over the rows.
constexpr std::uint64_t kChunkBytes = 1U << 20U;

// Whole rows (all of dimensions 1..) of about kChunkBytes per chunk.
Shape auto_chunk(const Shape& shape, const Shape& max_shape, Dtype dtype) {
    Shape chunk(shape.size(), 1);
    std::uint64_t row_bytes = element_size(dtype);
    for (std::size_t i = 1; i < shape.size(); ++i) {
        chunk[i] = std::max<std::uint64_t>(shape[i], 1);
        row_bytes *= chunk[i];
    }
    std::uint64_t rows = std::max<std::uint64_t>(kChunkBytes / row_bytes, 1);
    if (max_shape[0] != kUnlimited) rows = std::min(rows, std::max<std::uint64_t>(shape[0], 1));
    chunk[0] = rows;
    return chunk;
}

// An expected shape, with kAnyDim shown as "*".
std::string expected_to_string(const Shape& shape) {
    std::string out = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i > 0) out += ", ";
        out += shape[i] == kAnyDim ? "*" : std::to_string(shape[i]);
    }
    return out + "]";
}

Shape zeros(std::size_t rank) { return Shape(rank, 0); }

// Refuses (IoError) a read of `count` elements of `dataset` that does not fit in memory, before
// anything is allocated (ReadPolicy).
void check_read_size(const Dataset& dataset, const Shape& count, Dtype dtype) {
    const std::string w = dataset.file_name() + ": " + dataset.path();
    Handle stored;
    if (dtype == Dtype::string) {
        stored =
            Handle(check(H5Dget_type(dataset.id()), w, "cannot read dtype"), HandleKind::datatype);
    }
    detail::check_read_size(w, count, detail::memory_bytes_per_element(dtype, stored.id()),
                            to_string(dtype));
}

} // namespace

// ---- creation -------------------------------------------------------------------------------

Dataset Location::create_dataset(const std::string& path, Dtype dtype, const Shape& shape,
                                 const DatasetOptions& options) {
    const std::string full = detail::join_path(path_, path);
    const std::string w = file_ + ": " + full;
    if (exists(full)) throw IoError(w + ": cannot create dataset: already exists");

    const Shape max_shape = options.max_shape.empty() ? shape : options.max_shape;
    if (max_shape.size() != shape.size()) {
        throw IoError(w + ": max_shape " + to_string(max_shape) + " does not match shape " +
                      to_string(shape));
    }
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (max_shape[i] < shape[i]) {
            throw IoError(w + ": max_shape " + to_string(max_shape) + " is smaller than shape " +
                          to_string(shape));
        }
    }
    if (options.deflate && (*options.deflate < 0 || *options.deflate > 9)) {
        throw IoError(w + ": deflate level " + std::to_string(*options.deflate) +
                      " is out of range 0-9");
    }
    if (!options.chunk.empty() && options.chunk.size() != shape.size()) {
        throw IoError(w + ": chunk " + to_string(options.chunk) + " does not match shape " +
                      to_string(shape));
    }
    if (std::find(options.chunk.begin(), options.chunk.end(), 0) != options.chunk.end()) {
        throw IoError(w + ": chunk " + to_string(options.chunk) + " has a zero extent");
    }
    const bool extendible = max_shape != shape;
    bool chunked = !options.chunk.empty() || options.deflate || options.shuffle || extendible;
    if (chunked && shape.empty()) {
        throw IoError(w + ": a scalar dataset cannot be chunked, compressed or extendible");
    }
    // HDF5 rejects chunks larger than a fixed extent, so a fixed dataset with no elements
    // (nothing to compress) is stored contiguously instead.
    if (chunked && !extendible && element_count(shape) == 0) chunked = false;

    const Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), w, "cannot create property list"),
                      HandleKind::property_list);
    if (chunked) {
        Shape chunk = options.chunk.empty() ? auto_chunk(shape, max_shape, dtype) : options.chunk;
        for (std::size_t i = 0; i < chunk.size(); ++i) {
            if (max_shape[i] != kUnlimited) chunk[i] = std::min(chunk[i], max_shape[i]);
        }
        const std::vector<hsize_t> dims = detail::to_hsize(chunk);
        check(H5Pset_chunk(dcpl.id(), static_cast<int>(dims.size()), dims.data()), w,
              "cannot set chunking");
        if (options.shuffle) check(H5Pset_shuffle(dcpl.id()), w, "cannot set shuffle filter");
        if (options.deflate) {
            if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) <= 0) {
                throw IoError(w + ": the deflate filter is not available in this HDF5 library");
            }
            check(H5Pset_deflate(dcpl.id(), static_cast<unsigned>(*options.deflate)), w,
                  "cannot set deflate filter");
        }
    }
    const detail::TypeRef ftype = detail::file_type(dtype, w);
    const Handle space = detail::make_space(shape, max_shape, w);
    Handle lcpl(check(H5Pcreate(H5P_LINK_CREATE), w, "cannot create property list"),
                HandleKind::property_list);
    check(H5Pset_create_intermediate_group(lcpl.id(), 1), w, "cannot set property");
    check(H5Pset_char_encoding(lcpl.id(), H5T_CSET_UTF8), w, "cannot set name encoding");
    Handle ds(check(H5Dcreate2(id(), full.c_str(), ftype.id, space.id(), lcpl.id(), dcpl.id(),
                               H5P_DEFAULT),
                    w, "cannot create dataset"),
              HandleKind::dataset);
    return Dataset(std::move(ds), file_, full);
}

template <class T>
Dataset Location::write(const std::string& path, const std::vector<T>& data, const Shape& shape,
                        const DatasetOptions& options) {
    SP_CHECK(data.size() == element_count(shape), where(path) + ": " + std::to_string(data.size()) +
                                                      " values for shape " + to_string(shape));
    Dataset ds = create_dataset(path, dtype_of<T>(), shape, options);
    ds.write_block(dtype_of<T>(), zeros(shape.size()), shape, data.data());
    return ds;
}

template <class T> Dataset Location::write(const std::string& path, const std::vector<T>& data) {
    return write(path, data, Shape{data.size()});
}

template <class T> Dataset Location::write_scalar(const std::string& path, const T& value) {
    return write(path, std::vector<T>{value}, Shape{});
}

// ---- reading through a Location -------------------------------------------------------------

template <class T> Array<T> Location::read_array(const std::string& path) const {
    const Dataset ds = open_dataset(path);
    ds.check_dtype(dtype_of<T>());
    Array<T> out;
    out.shape = ds.shape();
    check_read_size(ds, out.shape, dtype_of<T>());
    out.data.resize(element_count(out.shape));
    ds.read_block(dtype_of<T>(), zeros(out.shape.size()), out.shape, out.data.data());
    return out;
}

template <class T>
std::vector<T> Location::read(const std::string& path, const Shape& expected) const {
    const Dataset ds = open_dataset(path);
    ds.check_dtype(dtype_of<T>());
    const Shape shape = ds.shape();
    bool match = shape.size() == expected.size();
    for (std::size_t i = 0; match && i < shape.size(); ++i) {
        match = expected[i] == kAnyDim || expected[i] == shape[i];
    }
    if (!match) {
        throw IoError(ds.where() + ": shape is " + to_string(shape) + ", expected " +
                      expected_to_string(expected));
    }
    check_read_size(ds, shape, dtype_of<T>());
    std::vector<T> out(element_count(shape));
    ds.read_block(dtype_of<T>(), zeros(shape.size()), shape, out.data());
    return out;
}

template <class T> std::vector<T> Location::read(const std::string& path) const {
    return read<T>(path, Shape{kAnyDim});
}

template <class T> T Location::read_scalar(const std::string& path) const {
    return read<T>(path, Shape{}).front();
}

// ---- Dataset --------------------------------------------------------------------------------

Dataset::Dataset(Handle handle, std::string file, std::string path)
    : Object(std::move(handle), std::move(file), std::move(path)) {}

TypeInfo Dataset::dtype() const {
    const Handle type(check(H5Dget_type(id()), where(), "cannot read dtype"), HandleKind::datatype);
    return detail::classify(type.id());
}

Shape Dataset::shape() const {
    const Handle space(check(H5Dget_space(id()), where(), "cannot read extents"),
                       HandleKind::dataspace);
    return detail::space_shape(space.id(), where());
}

Shape Dataset::max_shape() const {
    const Handle space(check(H5Dget_space(id()), where(), "cannot read extents"),
                       HandleKind::dataspace);
    const int rank = check(H5Sget_simple_extent_ndims(space.id()), where(), "cannot read extents");
    std::vector<hsize_t> max(static_cast<std::size_t>(rank));
    if (rank > 0) {
        check(H5Sget_simple_extent_dims(space.id(), nullptr, max.data()), where(),
              "cannot read extents");
    }
    Shape out;
    for (const hsize_t m : max) out.push_back(m == H5S_UNLIMITED ? kUnlimited : m);
    return out;
}

Shape Dataset::chunk() const {
    const Handle dcpl(check(H5Dget_create_plist(id()), where(), "cannot read creation properties"),
                      HandleKind::property_list);
    if (H5Pget_layout(dcpl.id()) != H5D_CHUNKED) return {};
    std::vector<hsize_t> dims(32);
    const int rank = check(H5Pget_chunk(dcpl.id(), static_cast<int>(dims.size()), dims.data()),
                           where(), "cannot read chunking");
    return Shape(dims.begin(), dims.begin() + rank);
}

std::optional<int> Dataset::deflate_level() const {
    const Handle dcpl(check(H5Dget_create_plist(id()), where(), "cannot read creation properties"),
                      HandleKind::property_list);
    const int n = check(H5Pget_nfilters(dcpl.id()), where(), "cannot read filters");
    for (int i = 0; i < n; ++i) {
        unsigned flags = 0;
        unsigned values[8] = {};
        std::size_t n_values = 8;
        const H5Z_filter_t filter = H5Pget_filter2(dcpl.id(), static_cast<unsigned>(i), &flags,
                                                   &n_values, values, 0, nullptr, nullptr);
        check(filter, where(), "cannot read filters");
        if (filter == H5Z_FILTER_DEFLATE) return n_values > 0 ? static_cast<int>(values[0]) : 0;
    }
    return std::nullopt;
}

void Dataset::check_dtype(Dtype expected) const {
    const TypeInfo found = dtype();
    if (found.dtype != expected) {
        throw IoError(where() + ": dtype is " + found.name + ", expected " + to_string(expected));
    }
}

namespace {

/// The memory and file dataspaces for a block at `offset` of extent `count` of dataset `dataset`
/// (H5S_ALL for a scalar dataset); the handles keep both dataspaces alive.
struct Selection {
    Handle file_space;
    Handle mem_space;
    hid_t mem_id = H5S_ALL;
    hid_t file_id = H5S_ALL;
};

Selection select_block(hid_t dataset, const Shape& offset, const Shape& count,
                       const std::string& w) {
    Selection sel;
    sel.file_space =
        Handle(check(H5Dget_space(dataset), w, "cannot read extents"), HandleKind::dataspace);
    if (count.empty()) return sel;
    const std::vector<hsize_t> off = detail::to_hsize(offset);
    const std::vector<hsize_t> cnt = detail::to_hsize(count);
    check(H5Sselect_hyperslab(sel.file_space.id(), H5S_SELECT_SET, off.data(), nullptr, cnt.data(),
                              nullptr),
          w, "cannot select rows");
    sel.mem_space = detail::make_space(count, {}, w);
    sel.mem_id = sel.mem_space.id();
    sel.file_id = sel.file_space.id();
    return sel;
}

} // namespace

void Dataset::write_block(Dtype dtype, const Shape& offset, const Shape& count, const void* data) {
    const std::string w = where();
    const std::uint64_t n = element_count(count);
    // H5Dwrite rejects a null buffer even for an empty selection.
    if (n == 0) return;
    const detail::TypeRef mtype = detail::memory_type(dtype, w);
    const Selection sel = select_block(id(), offset, count, w);
    if (dtype == Dtype::string) {
        const auto* strings = static_cast<const std::string*>(data);
        std::vector<const char*> ptrs(n);
        for (std::uint64_t i = 0; i < n; ++i) ptrs[i] = strings[i].c_str();
        check(H5Dwrite(id(), mtype.id, sel.mem_id, sel.file_id, H5P_DEFAULT, ptrs.data()), w,
              "cannot write dataset");
    } else {
        check(H5Dwrite(id(), mtype.id, sel.mem_id, sel.file_id, H5P_DEFAULT, data), w,
              "cannot write dataset");
    }
}

void Dataset::read_block(Dtype dtype, const Shape& offset, const Shape& count, void* out) const {
    const std::string w = where();
    const std::uint64_t n = element_count(count);
    if (n == 0) return;
    const Selection sel = select_block(id(), offset, count, w);
    if (dtype == Dtype::string) {
        const Handle type(check(H5Dget_type(id()), w, "cannot read dtype"), HandleKind::datatype);
        detail::read_strings(id(), true, type.id(), sel.mem_id, sel.file_id, n,
                             static_cast<std::string*>(out), w);
    } else {
        check(H5Dread(id(), detail::memory_type(dtype, w).id, sel.mem_id, sel.file_id, H5P_DEFAULT,
                      out),
              w, "cannot read dataset");
    }
}

template <class T> void Dataset::write(const std::vector<T>& data) {
    check_dtype(dtype_of<T>());
    const Shape s = shape();
    SP_CHECK(data.size() == element_count(s),
             where() + ": " + std::to_string(data.size()) + " values for shape " + to_string(s));
    write_block(dtype_of<T>(), zeros(s.size()), s, data.data());
}

template <class T> void Dataset::write_rows(std::uint64_t first_row, const std::vector<T>& data) {
    check_dtype(dtype_of<T>());
    Shape s = shape();
    if (s.empty()) throw IoError(where() + ": cannot write rows into a scalar dataset");
    Shape block = s;
    const std::uint64_t row_elements = element_count(Shape(s.begin() + 1, s.end()));
    SP_CHECK(row_elements > 0 && data.size() % row_elements == 0,
             where() + ": " + std::to_string(data.size()) + " values are not whole rows of " +
                 std::to_string(row_elements));
    block[0] = data.size() / row_elements;
    const std::uint64_t end = first_row + block[0];
    if (end > s[0]) {
        const Shape max = max_shape();
        if (max[0] != kUnlimited && end > max[0]) {
            throw IoError(where() + ": rows [" + std::to_string(first_row) + ", " +
                          std::to_string(end) + ") do not fit: the dataset has " +
                          std::to_string(s[0]) + " rows and max shape " + to_string(max));
        }
        s[0] = end;
        resize(s);
    }
    Shape offset = zeros(s.size());
    offset[0] = first_row;
    write_block(dtype_of<T>(), offset, block, data.data());
}

template <class T> std::vector<T> Dataset::read() const {
    check_dtype(dtype_of<T>());
    const Shape s = shape();
    check_read_size(*this, s, dtype_of<T>());
    std::vector<T> out(element_count(s));
    read_block(dtype_of<T>(), zeros(s.size()), s, out.data());
    return out;
}

template <class T>
std::vector<T> Dataset::read_rows(std::uint64_t first_row, std::uint64_t count) const {
    check_dtype(dtype_of<T>());
    Shape s = shape();
    if (s.empty()) throw IoError(where() + ": cannot read rows from a scalar dataset");
    if (first_row > s[0] || count > s[0] - first_row) {
        throw IoError(where() + ": rows [" + std::to_string(first_row) + ", " +
                      std::to_string(first_row + count) + ") are out of range: the dataset has " +
                      std::to_string(s[0]) + " rows");
    }
    s[0] = count;
    check_read_size(*this, s, dtype_of<T>());
    Shape offset = zeros(s.size());
    offset[0] = first_row;
    std::vector<T> out(element_count(s));
    read_block(dtype_of<T>(), offset, s, out.data());
    return out;
}

void Dataset::resize(const Shape& new_shape) {
    const Shape s = shape();
    if (new_shape.size() != s.size()) {
        throw IoError(where() + ": cannot resize " + to_string(s) + " to " + to_string(new_shape) +
                      ": rank differs");
    }
    const std::vector<hsize_t> dims = detail::to_hsize(new_shape);
    check(H5Dset_extent(id(), dims.data()), where(),
          ("cannot resize to " + to_string(new_shape)).c_str());
}

void Dataset::close() { handle_.close(where()); }

#define SP_H5_DATASET_INSTANTIATE(T)                                                               \
    template Dataset Location::write<T>(const std::string&, const std::vector<T>&, const Shape&,   \
                                        const DatasetOptions&);                                    \
    template Dataset Location::write<T>(const std::string&, const std::vector<T>&);                \
    template Dataset Location::write_scalar<T>(const std::string&, const T&);                      \
    template std::vector<T> Location::read<T>(const std::string&) const;                           \
    template std::vector<T> Location::read<T>(const std::string&, const Shape&) const;             \
    template Array<T> Location::read_array<T>(const std::string&) const;                           \
    template T Location::read_scalar<T>(const std::string&) const;                                 \
    template void Dataset::write<T>(const std::vector<T>&);                                        \
    template void Dataset::write_rows<T>(std::uint64_t, const std::vector<T>&);                    \
    template std::vector<T> Dataset::read<T>() const;                                              \
    template std::vector<T> Dataset::read_rows<T>(std::uint64_t, std::uint64_t) const;
SP_H5_DATASET_INSTANTIATE(float)
SP_H5_DATASET_INSTANTIATE(double)
SP_H5_DATASET_INSTANTIATE(std::int32_t)
SP_H5_DATASET_INSTANTIATE(std::int64_t)
SP_H5_DATASET_INSTANTIATE(std::uint8_t)
SP_H5_DATASET_INSTANTIATE(std::uint64_t)
SP_H5_DATASET_INSTANTIATE(std::string)
#undef SP_H5_DATASET_INSTANTIATE

} // namespace sp::h5
