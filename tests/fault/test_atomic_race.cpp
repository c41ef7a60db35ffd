// Two writers of one path at the same time (two sweeps sharing an output directory both write
// summary.h5 and summary.md): whatever the interleaving, the final name only ever holds one
// writer's complete file, as a reader polling it throughout sees, and no temporary is left.
#include "sp/io/atomic.hpp"
#include "sp/io/h5.hpp"
#include "sp/util/error.hpp"

#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace h5 = sp::h5;
namespace io = sp::io;
using sp::test::TempDir;
using sp::test::temporaries_of;

namespace {

constexpr int kIterations = 200;
constexpr int kWriters = 2;

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

// ---- what each writer writes: distinguishable, of varying size, checkable in full ----

// "writer W iteration I\n", then bytes that depend on (W, I, position), then "end W I\n".
std::string text_content(int writer, int iteration) {
    const std::string head =
        "writer " + std::to_string(writer) + " iteration " + std::to_string(iteration) + "\n";
    std::string body(std::size_t{48 << 10} + std::size_t(iteration % 7) * 4096, '\0');
    for (std::size_t k = 0; k < body.size(); ++k) {
        body[k] = static_cast<char>(
            'a' + (k * 7 + std::size_t(writer) * 13 + std::size_t(iteration)) % 26);
    }
    return head + body + "end " + std::to_string(writer) + " " + std::to_string(iteration) + "\n";
}

// Empty if `text` is exactly some writer's content of some iteration, else why not.
std::string check_text(const std::string& text) {
    int writer = -1;
    int iteration = -1;
    if (std::sscanf(text.c_str(), "writer %d iteration %d\n", &writer, &iteration) != 2 ||
        writer < 0 || writer >= kWriters || iteration < 0 || iteration >= kIterations) {
        return "no valid header (" + std::to_string(text.size()) + " bytes)";
    }
    if (text != text_content(writer, iteration)) {
        return "not writer " + std::to_string(writer) + "'s iteration " +
               std::to_string(iteration) + " (" + std::to_string(text.size()) + " bytes)";
    }
    return "";
}

std::vector<float> h5_values(int writer, int iteration) {
    std::vector<float> v(std::size_t{4096} + std::size_t(iteration % 5) * 1024);
    for (std::size_t k = 0; k < v.size(); ++k) {
        v[k] = static_cast<float>(writer * 1000000 + iteration * 1000 + static_cast<int>(k % 1000));
    }
    return v;
}

void write_h5(const std::string& path, int writer, int iteration) {
    io::AtomicH5File out(path);
    out.file().write_attribute("writer", std::int32_t{writer});
    // The data goes in between the two attributes: a file published half-written would lack the
    // second or disagree with it.
    const std::vector<float> v = h5_values(writer, iteration);
    out.file().write<float>("/data", v, {v.size()});
    out.file().write_attribute("iteration", std::int32_t{iteration});
    out.commit();
}

std::string check_h5(const std::string& path) {
    try {
        const h5::File f = h5::File::open(path);
        const auto writer = f.read_attribute<std::int32_t>("writer");
        const auto iteration = f.read_attribute<std::int32_t>("iteration");
        if (writer < 0 || writer >= kWriters || iteration < 0 || iteration >= kIterations) {
            return "bad attributes";
        }
        if (f.read<float>("/data") != h5_values(writer, iteration)) {
            return "/data is not writer " + std::to_string(writer) + "'s iteration " +
                   std::to_string(iteration);
        }
        return "";
    } catch (const sp::Error& e) {
        return e.what();
    }
}

// Which writer's final iteration the file holds, or -1.
int final_text_writer(const std::string& path) {
    const std::string text = sp::test::read_file(path);
    for (int w = 0; w < kWriters; ++w) {
        if (text == text_content(w, kIterations - 1)) return w;
    }
    return -1;
}

int final_h5_writer(const std::string& path) {
    if (!check_h5(path).empty()) return -1;
    const h5::File f = h5::File::open(path);
    if (f.read_attribute<std::int32_t>("iteration") != kIterations - 1) return -1;
    return f.read_attribute<std::int32_t>("writer");
}

// ---- the race: kWriters processes (or threads) released together, a reader polling ----

struct Outcome {
    int reads = 0;                   // complete files the reader checked while the writers ran
    std::vector<std::string> faults; // what the reader saw that was not one writer's file
};

// Runs `write(writer, iteration)` for every iteration in kWriters forked processes released at
// once, while this process reads `path` with `check` until all have exited. Each child exits 0
// only if every write succeeded.
Outcome race_processes(const std::string& path, const std::function<void(int, int)>& write,
                       const std::function<std::string(const std::string&)>& check) {
    int go[2];
    EXPECT_EQ(::pipe(go), 0);
    std::vector<pid_t> pids;
    for (int w = 0; w < kWriters; ++w) {
        const pid_t pid = ::fork();
        EXPECT_GE(pid, 0);
        if (pid == 0) {
            ::close(go[1]);
            char c = 0;
            if (::read(go[0], &c, 1) != 0) ::_exit(5); // released when the parent closes it
            try {
                for (int i = 0; i < kIterations; ++i) write(w, i);
            } catch (const std::exception&) {
                ::_exit(3);
            }
            ::_exit(0);
        }
        pids.push_back(pid);
    }
    ::close(go[0]);
    ::close(go[1]); // both writers start now
    Outcome out;
    std::size_t running = pids.size();
    std::vector<bool> done(pids.size(), false);
    while (running > 0) {
        if (exists(path)) {
            const std::string why = check(path);
            if (!why.empty()) out.faults.push_back(why);
            ++out.reads;
        }
        for (std::size_t k = 0; k < pids.size(); ++k) {
            if (done[k]) continue;
            int status = 0;
            if (::waitpid(pids[k], &status, WNOHANG) == pids[k]) {
                done[k] = true;
                --running;
                EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
                    << "writer " << k << " failed (status " << status << ")";
            }
        }
    }
    return out;
}

std::string text_check(const std::string& path) {
    try {
        return check_text(sp::test::read_file(path));
    } catch (const std::exception& e) {
        return e.what();
    }
}

TEST(AtomicRace, TwoProcessesWritingOneTextFile) {
    TempDir dir;
    const std::string path = dir.file("out/summary.md");
    const Outcome o = race_processes(
        path, [&](int w, int i) { io::write_file_atomic(path, text_content(w, i)); }, text_check);
    EXPECT_TRUE(o.faults.empty()) << o.faults.size() << " bad reads, first: " << o.faults.front();
    EXPECT_NE(final_text_writer(path), -1) << "the final file is not a writer's last content";
    EXPECT_TRUE(temporaries_of(path).empty());
    RecordProperty("reads", o.reads);
}

TEST(AtomicRace, TwoProcessesWritingOneHdf5File) {
    TempDir dir;
    const std::string path = dir.file("out/summary.h5");
    const Outcome o = race_processes(
        path, [&](int w, int i) { write_h5(path, w, i); }, check_h5);
    EXPECT_TRUE(o.faults.empty()) << o.faults.size() << " bad reads, first: " << o.faults.front();
    EXPECT_NE(final_h5_writer(path), -1) << "the final file is not a writer's last content";
    EXPECT_TRUE(temporaries_of(path).empty());
    RecordProperty("reads", o.reads);
}

// Threads of one process share the pid in the temporary name: the random part keeps them apart.
TEST(AtomicRace, TwoThreadsWritingOneFile) {
    TempDir dir;
    const std::string text = dir.file("t.txt");
    const std::string hdf5 = dir.file("t.h5");
    std::atomic<bool> go{false};
    std::atomic<int> failures{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
        writers.emplace_back([&, w] {
            while (!go.load()) std::this_thread::yield();
            try {
                for (int i = 0; i < kIterations; ++i) {
                    io::write_file_atomic(text, text_content(w, i));
                    if (i % 4 == 0) write_h5(hdf5, w, i);
                }
            } catch (const std::exception&) {
                ++failures;
            }
        });
    }
    go.store(true);
    for (std::thread& t : writers) t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_NE(final_text_writer(text), -1);
    EXPECT_EQ(check_h5(hdf5), "");
    EXPECT_TRUE(temporaries_of(text).empty());
    EXPECT_TRUE(temporaries_of(hdf5).empty());
}

} // namespace
