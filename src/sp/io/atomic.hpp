#pragma once
/// Atomic file creation: a final name only ever holds a complete file, written by one writer.
///
///     sp::io::write_file_atomic("results/summary.md", text);
///
///     sp::io::AtomicH5File out("results/abc.h5");   // writes results/abc.h5.tmp.<pid>.<random>
///     out.file().write<float>("/eval/embeddings", values, {n, d});
///     out.commit();   // flush, close, fsync, rename to results/abc.h5, fsync the directory
///     // Leaving scope without commit() (an exception, a failed replicate) removes the temporary;
///     // a killed process leaves at most its own temporary, never a partial results/abc.h5.
///
/// Every writer writes its own temporary, "<path>.tmp.<pid>.<random hex>" in the directory of
/// `path`, created exclusively (O_EXCL), so two writers of one path (two sweeps sharing an output
/// directory, two ranks) never write into, publish or remove each other's file: the final name
/// holds the complete file of whichever writer renamed last. A writer removes only its own
/// temporary. Temporaries left by killed writers are never removed automatically (sp cannot tell
/// a dead writer's from a live one's on another node); delete `*.tmp.*` by hand when no sp job
/// writes into the directory.
///
/// Missing parent directories are created. Files get mode 0666 & ~umask and directories
/// 0777 & ~umask, both without the world-writable bit even when the umask allows it.
/// Every failure is an IoError naming the path and the system's reason (strerror).

#include "sp/io/h5.hpp"

#include <string>
#include <string_view>

namespace sp::io {

/// What every temporary name of `path` starts with: "<path>.tmp.".
std::string temp_prefix_for(const std::string& path);

/// Creates a new, empty file "<path>.tmp.<pid>.<random hex>" beside `path` (and any missing parent
/// directories), exclusively: the name is this caller's alone. Returns the name. The caller
/// writes it, then publish_file() or removes it. IoError if it cannot be created.
std::string create_temp_for(const std::string& path);

/// Creates `dir` and any missing parents (like mkdir -p). IoError if a component exists and is
/// not a directory, or cannot be created.
void make_directories(const std::string& dir);

/// Writes `bytes` to `path` atomically: a unique temporary (create_temp_for), fsync of the
/// descriptor written, rename, fsync of the directory. An existing file at `path` is replaced
/// only once the new one is complete; on failure the temporary is removed.
void write_file_atomic(const std::string& path, std::string_view bytes);

/// Makes a complete file at `temp` durable and visible as `path`: fsync `temp`, rename it to
/// `path`, fsync the directory. For writers that produce `temp` themselves: `temp` must be the
/// caller's own (create_temp_for), closed; on failure the caller removes it.
void publish_file(const std::string& temp, const std::string& path);

/// An HDF5 file created atomically: written as a unique temporary, visible as `path` after
/// commit().
class AtomicH5File {
  public:
    /// Creates the temporary (create_temp_for) and any missing parent directories. IoError if
    /// it cannot.
    explicit AtomicH5File(std::string path);
    /// Without commit(): closes and removes the temporary. Never throws; failures are logged.
    ~AtomicH5File();
    /// Takes over `other`'s file; `other` no longer removes or commits anything.
    AtomicH5File(AtomicH5File&& other) noexcept;
    AtomicH5File& operator=(AtomicH5File&&) = delete;
    AtomicH5File(const AtomicH5File&) = delete;
    AtomicH5File& operator=(const AtomicH5File&) = delete;

    /// The open file being written (valid until commit()).
    h5::File& file();
    /// The final name.
    const std::string& path() const noexcept { return path_; }
    /// The temporary name being written (this writer's own).
    const std::string& temp_path() const noexcept { return temp_; }
    /// Whether commit() has published the file.
    bool committed() const noexcept { return committed_; }

    /// H5Fflush, close (every object of the file still open is closed too), then fsync of that
    /// same temporary, rename to path(), fsync of the directory. IoError on failure; the
    /// temporary is then removed at destruction.
    void commit();

  private:
    std::string path_;
    std::string temp_;
    h5::File file_;
    bool committed_ = false;
    bool active_ = true;
};

} // namespace sp::io
