#include "support/valid.hpp"

#include "sp/io/schema.hpp"

#include <gtest/gtest.h>

namespace sp::test {

void expect_valid(const std::string& path) {
    io::SchemaSet schemas;
    const auto report = io::validate(path, schemas);
    EXPECT_TRUE(report.valid()) << path << ": " << ::testing::PrintToString(report.lines());
}

} // namespace sp::test
