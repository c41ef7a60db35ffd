// Objects and their attributes: scalar and 1-D attributes of every dtype, queries, removal.
#include "sp/io/h5.hpp"

#include "sp/io/h5_detail.hpp"
#include "sp/util/error.hpp"

#include <utility>

namespace sp::h5 {

using detail::check;

Object::Object(Handle handle, std::string file, std::string path)
    : handle_(std::move(handle)), file_(std::move(file)), path_(std::move(path)) {
    detail::quiet();
}

std::string Object::where() const { return file_ + ": " + path_; }

std::string Object::where(const std::string& relative) const {
    return file_ + ": " + detail::join_path(path_, relative);
}

namespace {

std::string attr_where(const std::string& file, const std::string& path, const std::string& name) {
    return file + ": " + path + "@" + name;
}

herr_t collect_attribute(hid_t /*loc*/, const char* name, const H5A_info_t* /*info*/, void* data) {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
}

} // namespace

bool Object::has_attribute(const std::string& name) const {
    return check(H5Aexists(id(), name.c_str()), attr_where(file_, path_, name),
                 "cannot look up attribute") > 0;
}

std::vector<std::string> Object::attribute_names() const {
    std::vector<std::string> names;
    hsize_t idx = 0;
    check(H5Aiterate2(id(), H5_INDEX_NAME, H5_ITER_INC, &idx, collect_attribute, &names), where(),
          "cannot list attributes");
    return names;
}

namespace {

Handle open_attribute(const Object& obj, const std::string& name) {
    const std::string w = attr_where(obj.file_name(), obj.path(), name);
    if (!obj.has_attribute(name)) throw IoError(w + ": no such attribute");
    return Handle(check(H5Aopen(obj.id(), name.c_str(), H5P_DEFAULT), w, "cannot open attribute"),
                  HandleKind::attribute);
}

} // namespace

TypeInfo Object::attribute_type(const std::string& name) const {
    const Handle attr = open_attribute(*this, name);
    const Handle type(
        check(H5Aget_type(attr.id()), attr_where(file_, path_, name), "cannot read attribute type"),
        HandleKind::datatype);
    return detail::classify(type.id());
}

Shape Object::attribute_shape(const std::string& name) const {
    const Handle attr = open_attribute(*this, name);
    const std::string w = attr_where(file_, path_, name);
    const Handle space(check(H5Aget_space(attr.id()), w, "cannot read attribute extents"),
                       HandleKind::dataspace);
    return detail::space_shape(space.id(), w);
}

void Object::write_attribute_data(const std::string& name, Dtype dtype, const Shape& shape,
                                  const void* data) {
    const std::string w = attr_where(file_, path_, name);
    if (has_attribute(name)) check(H5Adelete(id(), name.c_str()), w, "cannot replace attribute");
    const detail::TypeRef ftype = detail::file_type(dtype, w);
    const detail::TypeRef mtype = detail::memory_type(dtype, w);
    const Handle space = detail::make_space(shape, {}, w);
    const Handle acpl(check(H5Pcreate(H5P_ATTRIBUTE_CREATE), w, "cannot create property list"),
                      HandleKind::property_list);
    check(H5Pset_char_encoding(acpl.id(), H5T_CSET_UTF8), w, "cannot set name encoding");
    Handle attr(check(H5Acreate2(id(), name.c_str(), ftype.id, space.id(), acpl.id(), H5P_DEFAULT),
                      w, "cannot create attribute"),
                HandleKind::attribute);
    // H5Awrite rejects a null buffer, which is what an empty vector has.
    if (element_count(shape) == 0) {
        attr.close(w);
        return;
    }
    if (dtype == Dtype::string) {
        const auto* strings = static_cast<const std::string*>(data);
        std::vector<const char*> ptrs;
        for (std::uint64_t i = 0; i < element_count(shape); ++i) ptrs.push_back(strings[i].c_str());
        check(H5Awrite(attr.id(), mtype.id, ptrs.data()), w, "cannot write attribute");
    } else {
        check(H5Awrite(attr.id(), mtype.id, data), w, "cannot write attribute");
    }
    attr.close(w);
}

void Object::remove_attribute(const std::string& name) {
    const std::string w = attr_where(file_, path_, name);
    if (!has_attribute(name)) throw IoError(w + ": no such attribute");
    check(H5Adelete(id(), name.c_str()), w, "cannot delete attribute");
}

template <class T> void Object::write_attribute(const std::string& name, const T& value) {
    write_attribute_data(name, dtype_of<T>(), {}, &value);
}

template <class T>
void Object::write_attribute(const std::string& name, const std::vector<T>& values) {
    write_attribute_data(name, dtype_of<T>(), {values.size()}, values.data());
}

void Object::write_attribute(const std::string& name, const char* value) {
    write_attribute(name, std::string(value));
}

template <class T>
std::vector<T> Object::read_attribute_ranked(const std::string& name, std::size_t rank) const {
    const std::string w = attr_where(file_, path_, name);
    const Handle attr = open_attribute(*this, name);
    const Handle type(check(H5Aget_type(attr.id()), w, "cannot read attribute type"),
                      HandleKind::datatype);
    const TypeInfo found = detail::classify(type.id());
    if (found.dtype != dtype_of<T>()) {
        throw IoError(w + ": dtype is " + found.name + ", expected " + to_string(dtype_of<T>()));
    }
    const Handle space(check(H5Aget_space(attr.id()), w, "cannot read attribute extents"),
                       HandleKind::dataspace);
    const Shape shape = detail::space_shape(space.id(), w);
    if (shape.size() != rank) {
        throw IoError(w + ": shape is " + to_string(shape) + ", expected " +
                      (rank == 0 ? "a scalar" : "a 1-D array"));
    }
    detail::check_read_size(w, shape, detail::memory_bytes_per_element(dtype_of<T>(), type.id()),
                            to_string(dtype_of<T>()));
    std::vector<T> out(element_count(shape));
    if (out.empty()) return out;
    if constexpr (std::is_same_v<T, std::string>) {
        detail::read_strings(attr.id(), false, type.id(), H5S_ALL, H5S_ALL, out.size(), out.data(),
                             w);
    } else {
        check(H5Aread(attr.id(), detail::memory_type(dtype_of<T>(), w).id, out.data()), w,
              "cannot read attribute");
    }
    return out;
}

template <class T> T Object::read_attribute(const std::string& name) const {
    return read_attribute_ranked<T>(name, 0).front();
}

template <class T> std::vector<T> Object::read_attribute_vector(const std::string& name) const {
    return read_attribute_ranked<T>(name, 1);
}

#define SP_H5_ATTRIBUTE_INSTANTIATE(T)                                                             \
    template void Object::write_attribute<T>(const std::string&, const T&);                        \
    template void Object::write_attribute<T>(const std::string&, const std::vector<T>&);           \
    template T Object::read_attribute<T>(const std::string&) const;                                \
    template std::vector<T> Object::read_attribute_vector<T>(const std::string&) const;
SP_H5_ATTRIBUTE_INSTANTIATE(float)
SP_H5_ATTRIBUTE_INSTANTIATE(double)
SP_H5_ATTRIBUTE_INSTANTIATE(std::int32_t)
SP_H5_ATTRIBUTE_INSTANTIATE(std::int64_t)
SP_H5_ATTRIBUTE_INSTANTIATE(std::uint8_t)
SP_H5_ATTRIBUTE_INSTANTIATE(std::uint64_t)
SP_H5_ATTRIBUTE_INSTANTIATE(std::string)
#undef SP_H5_ATTRIBUTE_INSTANTIATE

} // namespace sp::h5
