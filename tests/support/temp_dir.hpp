#pragma once
// RAII temporary directory for tests: unique per test, removed with everything in it.

#include <string>
#include <vector>

namespace sp::test {

class TempDir {
  public:
    /// Creates a fresh directory under $TMPDIR (or /tmp) named after `tag` and the current test.
    explicit TempDir(const std::string& tag = "sp");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    /// path()/name
    std::string file(const std::string& name) const { return path_ + "/" + name; }
    /// Writes `contents` to path()/name and returns the full path.
    std::string write(const std::string& name, const std::string& contents) const;

  private:
    std::string path_;
};

/// The whole contents of a file; throws std::runtime_error if it cannot be read.
std::string read_file(const std::string& path);

/// The atomic writers' temporaries of `path` present now ("<path>.tmp.*", io/atomic.hpp, and
/// the "<path>.tmp" of older releases), sorted; empty when there are none.
std::vector<std::string> temporaries_of(const std::string& path);

} // namespace sp::test
