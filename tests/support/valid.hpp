#pragma once
// A file sp wrote passes its schema (results-schema/), as a GoogleTest expectation.

#include <string>

namespace sp::test {

/// EXPECT that `path` validates against the results schema; the report's lines on failure.
void expect_valid(const std::string& path);

} // namespace sp::test
