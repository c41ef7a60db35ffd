#pragma once
/// What the dataset readers share: reading a whole source file, and the checksum that
/// identifies a dataset's source files (DataSplits.checksum).
///
///     sp::SourceChecksum sum;
///     sum.add("data_batch_1.bin", bytes);   // in sorted order of relative path
///     splits.checksum = sum.finish_hex();

#include "sp/util/hash.hpp"

#include <string>
#include <string_view>

namespace sp {

/// The whole contents of the file at `path`. Throws DataError naming it if it is missing, a
/// directory or unreadable.
std::string read_file_bytes(const std::string& path);

/// SHA-256 over a dataset's source files, fed one file at a time in strictly increasing order
/// of relative path: each file contributes its relative path, a NUL, its size in decimal, a NUL,
/// and its bytes. The order is checked (an InternalError if broken): it is what makes the
/// checksum independent of directory listing order and thread count.
class SourceChecksum {
  public:
    /// Appends one file.
    void add(std::string_view relative_path, std::string_view bytes);
    /// Lower-case hex digest; the object must not be used afterwards.
    std::string finish_hex() { return sha_.finish_hex(); }

  private:
    Sha256 sha_;
    std::string last_path_;
    bool any_ = false;
};

} // namespace sp
