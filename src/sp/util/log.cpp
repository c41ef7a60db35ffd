#include "sp/util/log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace sp::log {
namespace {

Level initial_level() {
    const char* env = std::getenv("SP_LOG_LEVEL");
    if (env == nullptr) return Level::info;
    if (std::strcmp(env, "debug") == 0) return Level::debug;
    if (std::strcmp(env, "warn") == 0) return Level::warn;
    if (std::strcmp(env, "error") == 0) return Level::error;
    if (std::strcmp(env, "quiet") == 0) return Level::quiet;
    return Level::info;
}

std::atomic<int> g_level{static_cast<int>(initial_level())};
std::atomic<int> g_rank{-1};
std::mutex g_mutex;

void emit(Level lvl, const char* tag, const std::string& message) {
    if (static_cast<int>(lvl) < g_level.load()) return;
    const int rank = g_rank.load();
    std::lock_guard<std::mutex> lock(g_mutex);
    // One fprintf per line so lines from ranks sharing a terminal do not interleave mid-line.
    if (rank >= 0) {
        std::fprintf(stderr, "[sp r%d]%s %s\n", rank, tag, message.c_str());
    } else {
        std::fprintf(stderr, "[sp]%s %s\n", tag, message.c_str());
    }
    std::fflush(stderr);
}

} // namespace

void set_level(Level level) { g_level.store(static_cast<int>(level)); }
Level level() { return static_cast<Level>(g_level.load()); }
void set_rank(int rank) { g_rank.store(rank); }

void debug(const std::string& message) { emit(Level::debug, " debug:", message); }
void info(const std::string& message) { emit(Level::info, "", message); }
void warn(const std::string& message) { emit(Level::warn, " warning:", message); }
void error(const std::string& message) { emit(Level::error, " error:", message); }

} // namespace sp::log
