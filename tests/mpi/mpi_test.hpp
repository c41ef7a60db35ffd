#pragma once
// Support for the tests that run under mpiexec (mpi_test_main.cpp provides main and these).
//
// Only rank 0 prints gtest's report; the other ranks print just their failures, on stderr,
// prefixed "[rank N]". Every test derives from MpiTest, whose TearDown tells each rank which ranks
// failed, so a test fails in rank 0's report if it failed anywhere; main returns non-zero on every
// rank if any test failed on any rank, so mpiexec exits non-zero. An ASSERT_ that returns early on
// one rank only, before a collective the others enter, hangs until ctest's timeout: check with
// EXPECT_ before collectives, or make the early return collective.

#include "sp/mpi/comm.hpp"

#include <gtest/gtest.h>

namespace sp::test {

/// The test program's world communicator, made by the Environment in main.
const sp::mpi::Comm& world();

/// Base fixture for tests under mpiexec: after each test, reduces the outcome over ranks.
/// Collective, like the tests themselves: every rank runs every test, in the same order.
class MpiTest : public ::testing::Test {
  protected:
    void TearDown() override;
};

} // namespace sp::test
