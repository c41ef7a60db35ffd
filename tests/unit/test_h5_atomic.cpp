// io/atomic: a final name only ever holds a complete file; permissions respect the umask and
// are never world-writable; failures name the path and the system's reason.
#include "sp/io/atomic.hpp"
#include "sp/io/h5.hpp"
#include "sp/util/error.hpp"

#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace h5 = sp::h5;
namespace io = sp::io;
using sp::IoError;
using sp::test::read_file;
using sp::test::TempDir;

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
    EXPECT_FALSE(exists(io::temp_path_for(path)));
    io::write_file_atomic(path, std::string(1 << 20, 'z'));
    EXPECT_EQ(read_file(path).size(), 1U << 20U);
    io::write_file_atomic(path, "");
    EXPECT_EQ(read_file(path), "");
    EXPECT_FALSE(exists(io::temp_path_for(path)));
}

TEST(AtomicText, StaleTemporaryIsReplaced) {
    TempDir dir;
    const std::string path = dir.file("a.txt");
    dir.write("a.txt.tmp", "left by a killed process");
    io::write_file_atomic(path, "fresh");
    EXPECT_EQ(read_file(path), "fresh");
    EXPECT_FALSE(exists(path + ".tmp"));
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
    EXPECT_FALSE(exists(io::temp_path_for(target_dir)));
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
        EXPECT_EQ(out.temp_path(), path + ".tmp");
        EXPECT_TRUE(exists(out.temp_path()));
        out.file().write_attribute("schema_version", std::int32_t{1});
        out.file().write<float>("/eval/embeddings", std::vector<float>(20, 0.5F), {4, 5});
        EXPECT_FALSE(exists(path)) << "visible before commit";
        out.commit();
        EXPECT_TRUE(out.committed());
    }
    EXPECT_TRUE(exists(path));
    EXPECT_FALSE(exists(path + ".tmp"));
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
    EXPECT_FALSE(exists(path + ".tmp"));
    try {
        io::AtomicH5File out(path);
        out.file().write<double>("/x", {1, 2, 3});
        throw std::runtime_error("replicate failed");
    } catch (const std::runtime_error&) {
    }
    EXPECT_FALSE(exists(path));
    EXPECT_FALSE(exists(path + ".tmp"));
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
    dir.write("m.h5.tmp", "garbage from a killed run");
    io::AtomicH5File first(path);
    first.file().write_attribute("k", "v");
    io::AtomicH5File second(std::move(first));
    second.commit();
    EXPECT_EQ(h5::File::open(path).read_attribute<std::string>("k"), "v");
    EXPECT_THROW(second.commit(), sp::InternalError);
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
