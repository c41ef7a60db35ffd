#pragma once
// Shared by the oracle tests (tests/oracle/): the Python that runs the oracle scripts, the binary
// files that carry data to them, the parsing of what they print, and the labelled embeddings most
// metric oracles take.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sp::test {

/// The interpreter of the oracle scripts: $SP_PYTHON, else Debian's /usr/bin/python3.
std::string python();

/// True when python() imports `modules` (a Python import list, e.g. "sklearn, numpy").
bool python_has(const std::string& modules);

/// Writes `bytes` bytes at `data` to `path` (replacing it); a failed write fails the test.
void write_bytes(const std::string& path, const void* data, std::size_t bytes);

/// Writes the elements of `v` in native byte order to `path`, as NumPy's fromfile reads them.
template <typename T> void write_binary(const std::string& path, const std::vector<T>& v) {
    write_bytes(path, v.data(), v.size() * sizeof(T));
}

/// An oracle's printed values by name: one line `name v1 v2 ...` each.
using OracleValues = std::map<std::string, std::vector<double>>;

/// Parses lines `name v1 v2 ...` (values as strtod reads them; a later line of a name wins).
OracleValues parse_values(const std::string& text);

/// Parses lines `JOB:name v1 v2 ...` into one map per job; lines without `JOB:` or with a job
/// number >= `jobs` are ignored.
std::vector<OracleValues> parse_jobs(const std::string& text, std::size_t jobs);

/// Runs the oracle script `script` (a path under the source tree) once for all `jobs` (their
/// arguments joined by "::", one interpreter start), expects exit 0, and parses its
/// `JOB:name ...` lines (parse_jobs).
std::vector<OracleValues> run_oracle_jobs(const std::string& script,
                                          const std::vector<std::vector<std::string>>& jobs);

/// The values printed for `name`; an empty vector, and a test failure, when there are none.
const std::vector<double>& field(const OracleValues& o, const std::string& name);

/// Labelled embeddings, row-major: the input of most metric oracles.
struct LabelledEmbeddings {
    std::int64_t n = 0;               ///< rows
    std::int64_t d = 0;               ///< values per row
    std::int64_t classes = 0;         ///< label range
    std::vector<float> x;             ///< n x d
    std::vector<std::int64_t> labels; ///< n
};

} // namespace sp::test
