#include "sp/io/atomic.hpp"

#include "sp/io/h5_detail.hpp"
#include "sp/util/error.hpp"
#include "sp/util/log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <utility>

namespace sp::io {
namespace {

std::string parent_dir(const std::string& path) {
    const std::string parent = std::filesystem::path(path).parent_path().string();
    return parent.empty() ? "." : parent;
}

// The creation mode already had the umask applied by the kernel; only the world-writable bit,
// which a umask of 0 or 002 would leave, is taken away.
void drop_world_write(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) throw IoError::system(path, "cannot stat", errno);
    if ((st.st_mode & S_IWOTH) != 0 &&
        ::chmod(path.c_str(), (st.st_mode & 07777U) & ~static_cast<mode_t>(S_IWOTH)) != 0) {
        throw IoError::system(path, "cannot set permissions", errno);
    }
}

// As drop_world_write, on the descriptor just created (no second lookup by name).
void drop_world_write(int fd, const std::string& path) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw IoError::system(path, "cannot stat", errno);
    if ((st.st_mode & S_IWOTH) != 0 &&
        ::fchmod(fd, (st.st_mode & 07777U) & ~static_cast<mode_t>(S_IWOTH)) != 0) {
        throw IoError::system(path, "cannot set permissions", errno);
    }
}

// 64 random bits for temporary names. Seeded per thread from the system's entropy: the pid in
// the name separates processes (a forked child inherits its parent's generator state), the
// random part separates threads and, with O_EXCL, any remaining collision is retried.
std::uint64_t name_bits() {
    thread_local std::mt19937_64 gen = [] {
        std::random_device rd;
        const std::uint64_t hi = rd();
        return std::mt19937_64((hi << 32U) ^ rd() ^ static_cast<std::uint64_t>(::getpid()));
    }();
    return gen();
}

struct TempFile {
    std::string name;
    int fd = -1;
};

// Creates "<path>.tmp.<pid>.<random>" exclusively and returns it open for writing.
TempFile create_unique(const std::string& path) {
    make_directories(parent_dir(path));
    for (int attempt = 0; attempt < 64; ++attempt) {
        char suffix[48];
        std::snprintf(suffix, sizeof suffix, "%ld.%016llx", static_cast<long>(::getpid()),
                      static_cast<unsigned long long>(name_bits()));
        TempFile t{temp_prefix_for(path) + suffix, -1};
        t.fd = ::open(t.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (t.fd < 0) {
            if (errno == EEXIST) continue;
            throw IoError::system(t.name, "cannot create", errno);
        }
        try {
            drop_world_write(t.fd, t.name);
        } catch (...) {
            ::close(t.fd);
            ::unlink(t.name.c_str());
            throw;
        }
        return t;
    }
    throw IoError(path + ": cannot create a temporary file with a unique name beside it");
}

void fsync_directory(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw IoError::system(dir, "cannot open directory to fsync it", errno);
    // Some file systems cannot fsync a directory (EINVAL); the rename is then as durable as
    // that file system makes it, which is all that can be had there.
    if (::fsync(fd) != 0 && errno != EINVAL) {
        const int err = errno;
        ::close(fd);
        throw IoError::system(dir, "cannot fsync directory", err);
    }
    ::close(fd);
}

void rename_durably(const std::string& temp, const std::string& path) {
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        throw IoError::system(path, "cannot rename " + temp + " to it", errno);
    }
    fsync_directory(parent_dir(path));
}

void write_all(int fd, std::string_view bytes, const std::string& path) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw IoError::system(path, "cannot write", errno);
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

} // namespace

std::string temp_prefix_for(const std::string& path) { return path + ".tmp."; }

std::string create_temp_for(const std::string& path) {
    TempFile t = create_unique(path);
    if (::close(t.fd) != 0) {
        const int err = errno;
        ::unlink(t.name.c_str());
        throw IoError::system(t.name, "cannot close", err);
    }
    return t.name;
}

void make_directories(const std::string& dir) {
    if (dir.empty()) return;
    std::string prefix = dir.front() == '/' ? "/" : "";
    std::size_t pos = 0;
    while (pos <= dir.size()) {
        const std::size_t end = std::min(dir.find('/', pos), dir.size());
        const std::string part = dir.substr(pos, end - pos);
        pos = end + 1;
        if (part.empty()) continue;
        if (!prefix.empty() && prefix.back() != '/') prefix += '/';
        prefix += part;
        struct stat st {};
        if (::stat(prefix.c_str(), &st) == 0) {
            if (!S_ISDIR(st.st_mode)) {
                throw IoError(prefix + ": cannot create directory: exists and is not a directory");
            }
            continue;
        }
        if (errno != ENOENT) throw IoError::system(prefix, "cannot create directory", errno);
        if (::mkdir(prefix.c_str(), 0777) != 0) {
            // Another process may have created it in between (ranks sharing an output tree).
            if (errno == EEXIST && ::stat(prefix.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
                continue;
            }
            throw IoError::system(prefix, "cannot create directory", errno);
        }
        drop_world_write(prefix);
    }
}

void publish_file(const std::string& temp, const std::string& path) {
    const int fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw IoError::system(temp, "cannot open to fsync", errno);
    if (::fsync(fd) != 0) {
        const int err = errno;
        ::close(fd);
        throw IoError::system(temp, "cannot fsync", err);
    }
    ::close(fd);
    rename_durably(temp, path);
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
    TempFile t = create_unique(path);
    try {
        write_all(t.fd, bytes, t.name);
        if (::fsync(t.fd) != 0) throw IoError::system(t.name, "cannot fsync", errno);
        const int rc = ::close(t.fd);
        t.fd = -1;
        if (rc != 0) throw IoError::system(t.name, "cannot close", errno);
        rename_durably(t.name, path);
    } catch (...) {
        if (t.fd >= 0) ::close(t.fd);
        ::unlink(t.name.c_str());
        throw;
    }
}

// ---- AtomicH5File ---------------------------------------------------------------------------

AtomicH5File::AtomicH5File(std::string path)
    : path_(std::move(path)), temp_(create_temp_for(path_)) {
    // The empty file made exclusively above reserves the unique name; HDF5 then creates its file
    // over it (H5F_ACC_TRUNC on a name only this writer uses).
    try {
        h5::detail::quiet();
        const h5::Handle fapl = h5::detail::file_access_plist(temp_, true);
        // Strong close: commit() must know that every object is closed and the file complete on
        // disk before it renames, even if the caller still holds a Group or Dataset.
        h5::detail::check(H5Pset_fclose_degree(fapl.id(), H5F_CLOSE_STRONG), temp_,
                          "cannot set property");
        const hid_t id = H5Fcreate(temp_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id());
        if (id < 0) h5::detail::fail(temp_, "cannot create HDF5 file");
        file_ = h5::File(h5::Handle(id, h5::HandleKind::file), temp_);
    } catch (...) {
        file_ = h5::File();
        ::unlink(temp_.c_str());
        throw;
    }
}

AtomicH5File::AtomicH5File(AtomicH5File&& other) noexcept
    : path_(std::move(other.path_)), temp_(std::move(other.temp_)), file_(std::move(other.file_)),
      committed_(other.committed_), active_(std::exchange(other.active_, false)) {}

AtomicH5File::~AtomicH5File() {
    if (!active_ || committed_) return;
    try {
        file_.close();
    } catch (const std::exception& e) {
        log::warn(e.what());
    }
    if (::unlink(temp_.c_str()) != 0 && errno != ENOENT) {
        log::warn(temp_ + ": cannot remove unfinished file: " + std::strerror(errno));
    }
}

h5::File& AtomicH5File::file() {
    SP_CHECK(active_ && !committed_, path_ + ": AtomicH5File::file() after commit()");
    return file_;
}

void AtomicH5File::commit() {
    SP_CHECK(active_ && !committed_, path_ + ": AtomicH5File::commit() called twice");
    file_.flush();
    file_.close();
    publish_file(temp_, path_);
    committed_ = true;
}

} // namespace sp::io
