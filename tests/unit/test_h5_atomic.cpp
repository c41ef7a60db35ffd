// io/atomic: a final name only ever holds a complete file; each writer writes and removes only
// its own uniquely named temporary; permissions respect the umask and are never world-writable;
// failures name the path and the system's reason. (Concurrent writers: tests/fault/
// test_atomic_race.cpp; kills: tests/fault/test_atomic_kill.cpp.)
#include "sp/io/atomic.hpp"
#include "sp/io/h5.hpp"
#include "sp/util/error.hpp"

#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace h5 = sp::h5;
namespace io = sp::io;
using sp::IoError;
using sp::test::read_file;
using sp::test::TempDir;
using sp::test::temporaries_of;

namespace {

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

unsigned mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777U;
}

// Sets the umask for the scope of the object.
class UmaskGuard {
  public:
    explicit UmaskGuard(mode_t mask) : saved_(::umask(mask)) {}
    ~UmaskGuard() { ::umask(saved_); }
    UmaskGuard(const UmaskGuard&) = delete;
    UmaskGuard& operator=(const UmaskGuard&) = delete;

  private:
    mode_t saved_;
};

template <class F> std::string io_error_message(F&& f) {
    try {
        f();
    } catch (const IoError& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected sp::IoError";
    return "";
}

// ---- write_file_atomic --------------------------------------------------------------------------

TEST(AtomicText, WritesReplacesAndLeavesNoTemporary) {
    TempDir dir;
    const std::string path = dir.file("out/deeper/summary.md");
    io::write_file_atomic(path, "first\n");
    EXPECT_EQ(read_file(path), "first\n");
    EXPECT_TRUE(temporaries_of(path).empty());
    io::write_file_atomic(path, std::string(1 << 20, 'z'));
    EXPECT_EQ(read_file(path).size(), 1U << 20U);
    io::write_file_atomic(path, "");
    EXPECT_EQ(read_file(path), "");
    EXPECT_TRUE(temporaries_of(path).empty());
}

// Rule: a writer never removes or writes another writer's temporary (a live writer's looks the
// same as a dead one's); its own is gone after it returns.
TEST(AtomicText, OtherWritersTemporariesAreLeftAlone) {
    TempDir dir;
    const std::string path = dir.file("a.txt");
    const std::string legacy = dir.write("a.txt.tmp", "an older release's temporary");
    const std::string other = dir.write("a.txt.tmp.1.0123456789abcdef", "another writer's");
    io::write_file_atomic(path, "fresh");
    EXPECT_EQ(read_file(path), "fresh");
    EXPECT_EQ(read_file(legacy), "an older release's temporary");
    EXPECT_EQ(read_file(other), "another writer's");
    EXPECT_EQ(temporaries_of(path), (std::vector<std::string>{legacy, other}));
}

// Rule: temporaries are "<path>.tmp.<pid>.<random>" beside `path`, created exclusively: every
// call gets a new name.
TEST(AtomicText, TemporaryNamesAreUniqueAndBesideThePath) {
    TempDir dir;
    const std::string path = dir.file("sub/x.h5");
    std::vector<std::string> names;
    for (int i = 0; i < 20; ++i) names.push_back(io::create_temp_for(path));
    const std::string prefix = io::temp_prefix_for(path) + std::to_string(::getpid()) + ".";
    for (const std::string& n : names) {
        EXPECT_EQ(n.rfind(prefix, 0), 0U) << n;
        EXPECT_EQ(n.size(), prefix.size() + 16) << n;
        EXPECT_EQ(read_file(n), "") << n;
    }
    std::sort(names.begin(), names.end());
    EXPECT_EQ(std::unique(names.begin(), names.end()), names.end());
    EXPECT_EQ(temporaries_of(path), names);
    for (const std::string& n : names) ::unlink(n.c_str());
}

// Rule: mode is 0666 & ~umask, minus o+w even when the umask would allow it.
TEST(AtomicText, PermissionsFollowUmaskNeverWorldWritable) {
    TempDir dir;
    const struct {
        mode_t umask;
        unsigned file_mode;
        unsigned dir_mode;
    } cases[] = {{022, 0644, 0755},
                 {0, 0664, 0775},
                 {077, 0600, 0700},
                 {002, 0664, 0775},
                 {027, 0640, 0750}};
    int i = 0;
    for (const auto& c : cases) {
        const std::string sub = dir.file("u" + std::to_string(i++));
        const std::string path = sub + "/file.txt";
        {
            const UmaskGuard guard(c.umask);
            io::write_file_atomic(path, "x");
        }
        EXPECT_EQ(mode_of(path), c.file_mode) << "umask " << std::oct << c.umask;
        EXPECT_EQ(mode_of(sub), c.dir_mode) << "umask " << std::oct << c.umask;
    }
}

TEST(AtomicText, FailuresNameThePathAndReason) {
    TempDir dir;
    const std::string blocker = dir.write("plain", "a file, not a directory");
    std::string m = io_error_message([&] { io::write_file_atomic(blocker + "/sub/x.txt", "x"); });
    EXPECT_NE(m.find(blocker), std::string::npos) << m;
    EXPECT_NE(m.find("not a directory"), std::string::npos) << m;

    const std::string target_dir = dir.file("target");
    io::make_directories(target_dir + "/child");
    m = io_error_message([&] { io::write_file_atomic(target_dir, "x"); });
    EXPECT_NE(m.find(target_dir), std::string::npos) << m;
    EXPECT_NE(m.find("Is a directory"), std::string::npos) << m;
    EXPECT_TRUE(temporaries_of(target_dir).empty());
}

TEST(AtomicText, MakeDirectoriesIsIdempotent) {
    TempDir dir;
    const std::string deep = dir.file("a/b/c");
    io::make_directories(deep);
    io::make_directories(deep);
    io::make_directories(deep + "/");
    struct stat st {};
    ASSERT_EQ(::stat(deep.c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
}

// ---- AtomicH5File -------------------------------------------------------------------------------

TEST(AtomicH5, CommitPublishesCompleteFileAndNoTemporary) {
    TempDir dir;
    const std::string path = dir.file("results/abc.h5");
    {
        io::AtomicH5File out(path);
        io::AtomicH5File rival(path); // another writer of the same path, at the same time
        EXPECT_EQ(out.temp_path().rfind(io::temp_prefix_for(path), 0), 0U) << out.temp_path();
        EXPECT_NE(out.temp_path(), rival.temp_path());
        EXPECT_TRUE(exists(out.temp_path()));
        out.file().write_attribute("schema_version", std::int32_t{1});
        out.file().write<float>("/eval/embeddings", std::vector<float>(20, 0.5F), {4, 5});
        EXPECT_FALSE(exists(path)) << "visible before commit";
        out.commit();
        EXPECT_TRUE(out.committed());
    }
    EXPECT_TRUE(exists(path));
    EXPECT_TRUE(temporaries_of(path).empty()) << "the rival's temporary was not removed";
    const h5::File f = h5::File::open(path);
    EXPECT_EQ(f.read_attribute<std::int32_t>("schema_version"), 1);
    EXPECT_EQ(f.read<float>("/eval/embeddings", {4, 5}), std::vector<float>(20, 0.5F));
}

TEST(AtomicH5, NoCommitLeavesNothing) {
    TempDir dir;
    const std::string path = dir.file("r.h5");
    {
        io::AtomicH5File out(path);
        out.file().write<double>("/x", {1, 2, 3});
    }
    EXPECT_FALSE(exists(path));
    EXPECT_TRUE(temporaries_of(path).empty());
    try {
        io::AtomicH5File out(path);
        out.file().write<double>("/x", {1, 2, 3});
        throw std::runtime_error("replicate failed");
    } catch (const std::runtime_error&) {
    }
    EXPECT_FALSE(exists(path));
    EXPECT_TRUE(temporaries_of(path).empty());
}

// Rule: the previous complete file stays visible until the new one is committed.
TEST(AtomicH5, ReplacesAnExistingFileOnlyAtCommit) {
    TempDir dir;
    const std::string path = dir.file("ckpt.h5");
    auto write_generation = [&](std::int32_t generation, bool commit) {
        io::AtomicH5File out(path);
        out.file().write_attribute("generation", generation);
        if (exists(path)) {
            EXPECT_EQ(h5::File::open(path).read_attribute<std::int32_t>("generation"),
                      generation - 1);
        }
        if (commit) out.commit();
    };
    write_generation(1, true);
    write_generation(2, false);
    EXPECT_EQ(h5::File::open(path).read_attribute<std::int32_t>("generation"), 1);
    write_generation(2, true);
    EXPECT_EQ(h5::File::open(path).read_attribute<std::int32_t>("generation"), 2);
}

// Rule: objects the caller still holds at commit are closed with the file, silently.
TEST(AtomicH5, CommitWithOpenObjectsClosesThemQuietly) {
    TempDir dir;
    const std::string path = dir.file("open.h5");
    ::testing::internal::CaptureStderr();
    {
        io::AtomicH5File out(path);
        h5::Group eval = out.file().create_group("/eval");
        h5::Dataset labels = eval.write<std::int64_t>("labels", {1, 2, 3});
        labels.write_attribute("unit", "");
        out.commit();
    }
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
    EXPECT_EQ(h5::File::open(path).read<std::int64_t>("/eval/labels"),
              (std::vector<std::int64_t>{1, 2, 3}));
}

TEST(AtomicH5, PermissionsFollowUmaskNeverWorldWritable) {
    TempDir dir;
    for (const auto& [mask, expected] :
         {std::pair<mode_t, unsigned>{022, 0644}, {0, 0664}, {077, 0600}}) {
        const std::string path = dir.file("m" + std::to_string(expected) + ".h5");
        {
            const UmaskGuard guard(mask);
            io::AtomicH5File out(path);
            EXPECT_EQ(mode_of(out.temp_path()), expected);
            out.commit();
        }
        EXPECT_EQ(mode_of(path), expected) << "umask " << std::oct << mask;
    }
}

TEST(AtomicH5, StaleTemporaryAndMoves) {
    TempDir dir;
    const std::string path = dir.file("m.h5");
    const std::string stale = dir.write("m.h5.tmp.7.00000000000000ff", "left by a killed run");
    io::AtomicH5File first(path);
    first.file().write_attribute("k", "v");
    io::AtomicH5File second(std::move(first));
    second.commit();
    EXPECT_EQ(h5::File::open(path).read_attribute<std::string>("k"), "v");
    EXPECT_THROW(second.commit(), sp::InternalError);
    EXPECT_EQ(read_file(stale), "left by a killed run");
    EXPECT_EQ(temporaries_of(path), std::vector<std::string>{stale});
}

TEST(AtomicH5, FailuresNameThePath) {
    TempDir dir;
    const std::string blocker = dir.write("f", "x");
    const std::string m = io_error_message([&] { io::AtomicH5File out(blocker + "/r.h5"); });
    EXPECT_NE(m.find(blocker), std::string::npos) << m;
    const std::string target_dir = dir.file("d");
    io::make_directories(target_dir + "/x");
    io::AtomicH5File out(target_dir);
    const std::string m2 = io_error_message([&] { out.commit(); });
    EXPECT_NE(m2.find(target_dir), std::string::npos) << m2;
    EXPECT_NE(m2.find("cannot rename"), std::string::npos) << m2;
}

} // namespace
