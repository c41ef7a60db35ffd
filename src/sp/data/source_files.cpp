#include "sp/data/source_files.hpp"

#include "sp/util/error.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sys/stat.h>

namespace sp {
namespace {

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

} // namespace

std::string read_file_bytes(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) throw DataError(path + ": no such file");
        throw DataError(path + ": cannot read: " + std::strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) throw DataError(path + ": is a directory, expected a file");
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
    if (!f) throw DataError(path + ": cannot open: " + std::strerror(errno));
    std::string bytes;
    // st_size is only a hint (the file may change under us): read until EOF either way.
    bytes.resize(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 0));
    std::size_t got = std::fread(bytes.data(), 1, bytes.size(), f.get());
    bytes.resize(got);
    char buf[65536];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, f.get())) bytes.append(buf, n);
    if (std::ferror(f.get())) throw DataError(path + ": read error: " + std::strerror(errno));
    return bytes;
}

void SourceChecksum::add(std::string_view relative_path, std::string_view bytes) {
    SP_CHECK(!any_ || relative_path > last_path_,
             "source files must be checksummed in increasing order of path: " +
                 std::string(relative_path) + " after " + last_path_);
    any_ = true;
    last_path_ = relative_path;
    const std::string size = std::to_string(bytes.size());
    sha_.update(relative_path);
    sha_.update(std::string_view("\0", 1));
    sha_.update(size);
    sha_.update(std::string_view("\0", 1));
    sha_.update(bytes);
}

} // namespace sp
