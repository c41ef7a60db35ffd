// main() for the tests under mpiexec: MPI comes up before gtest and goes down after it, and the
// outcome is reduced over ranks. This main() takes precedence over the one in GTest::gtest_main,
// which sp_add_gtest links: the linker only pulls gtest_main.o from that static library to define
// a main that is still missing.
#include "mpi_test.hpp"

#include "sp/mpi/environment.hpp"
#include "sp/mpi/native.hpp"
#include "sp/util/log.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace sp::test {
namespace {

const sp::mpi::Comm* g_world = nullptr;

// On ranks other than 0, in place of gtest's printer: failures only, each naming its rank.
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
  public:
    explicit RankFailurePrinter(int rank) : rank_(rank) {}

    // The test's name is kept from OnTestStart: UnitTest::current_test_info() would deadlock
    // here, since gtest holds its own mutex while it reports a part result.
    void OnTestStart(const ::testing::TestInfo& test) override {
        test_ = std::string(test.test_suite_name()) + "." + test.name();
    }

    void OnTestPartResult(const ::testing::TestPartResult& result) override {
        if (!result.failed()) return;
        std::fprintf(stderr, "[rank %d] %s: %s:%d: Failure\n%s\n", rank_, test_.c_str(),
                     result.file_name() != nullptr ? result.file_name() : "?", result.line_number(),
                     result.message());
        std::fflush(stderr);
    }

  private:
    int rank_;
    std::string test_ = "(outside a test)";
};

} // namespace

const sp::mpi::Comm& world() {
    SP_CHECK(g_world != nullptr, "sp::test::world() used outside mpi_test_main's main()");
    return *g_world;
}

void MpiTest::TearDown() {
    const std::vector<std::int64_t> failed = world().allgather(HasFailure() ? 1 : 0);
    std::string others;
    for (std::size_t r = 0; r < failed.size(); ++r) {
        if (failed[r] != 0 && static_cast<int>(r) != world().rank()) {
            others += (others.empty() ? "" : ", ") + std::to_string(r);
        }
    }
    if (!others.empty()) {
        ADD_FAILURE() << "failed on rank(s) " << others
                      << " (their messages are on stderr, prefixed [rank N])";
    }
}

} // namespace sp::test

namespace {

// SP_TEST_MPI_THREAD_LEVEL=funneled (or single, serialized): MPI is initialised here at that level
// before the Environment, which adopts it, so that the tests see what sp does where MPI provides
// less than the MPI_THREAD_MULTIPLE it asks for. Returns whether main must finalize MPI.
bool init_at_requested_level(int& argc, char**& argv) {
    const char* level = std::getenv("SP_TEST_MPI_THREAD_LEVEL");
    if (level == nullptr || *level == '\0') return false;
    const std::string name = level;
    const int required = name == "single"       ? MPI_THREAD_SINGLE
                         : name == "funneled"   ? MPI_THREAD_FUNNELED
                         : name == "serialized" ? MPI_THREAD_SERIALIZED
                                                : -1;
    if (required < 0) {
        std::fprintf(stderr,
                     "SP_TEST_MPI_THREAD_LEVEL=%s: expected single, funneled or "
                     "serialized\n",
                     level);
        std::exit(2);
    }
    int provided = -1;
    if (MPI_Init_thread(&argc, &argv, required, &provided) != MPI_SUCCESS) std::exit(2);
    return true;
}

} // namespace

int main(int argc, char** argv) {
    const bool finalize = init_at_requested_level(argc, argv);
    bool passed_everywhere = false;
    {
        sp::mpi::Environment env(argc, argv);
        const sp::mpi::Comm& world = env.world();
        sp::test::g_world = &world;
        sp::log::set_rank(world.rank());

        ::testing::InitGoogleTest(&argc, argv);
        ::testing::TestEventListeners& listeners = ::testing::UnitTest::GetInstance()->listeners();
        if (world.rank() != 0) {
            delete listeners.Release(listeners.default_result_printer());
            delete listeners.Release(listeners.default_xml_generator());
            listeners.Append(new sp::test::RankFailurePrinter(world.rank()));
        }

        const int result = RUN_ALL_TESTS();
        passed_everywhere = world.all_of(result == 0);
        sp::test::g_world = nullptr;
    }
    if (finalize) MPI_Finalize();
    return passed_everywhere ? 0 : 1;
}
