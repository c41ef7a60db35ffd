// Files from elsewhere: links into other files, virtual and external storage, and declared
// extents larger than memory (ReadPolicy in h5.hpp).
#include "sp/io/h5.hpp"

#include "sp/io/h5_detail.hpp"
#include "sp/util/error.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>

namespace sp::h5 {
namespace {

std::atomic<bool> g_allow_external{false};
std::atomic<std::uint64_t> g_max_read_bytes{0};

// Reads under this size never probe the system's memory: every attribute and most datasets.
constexpr std::uint64_t kAlwaysAllowedBytes = std::uint64_t{64} << 20U;
constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();

const char* const kAdvice =
    "sp does not follow HDF5 links into other files or read virtual or externally stored "
    "datasets in its inputs (sp_analyze and sp_validate take --allow-external-links; "
    "results-schema/README.md, \"Reading files from elsewhere\")";

// What the external-link callback refused last on this thread ("FILE:/object").
thread_local std::string t_refused_link;

herr_t external_link_gate(const char* /*parent_file*/, const char* /*parent_group*/,
                          const char* child_file, const char* child_object, unsigned* /*flags*/,
                          hid_t /*fapl*/, void* /*data*/) {
    if (g_allow_external.load()) return 0;
    t_refused_link = std::string(child_file != nullptr ? child_file : "?") + ":" +
                     (child_object != nullptr ? child_object : "?");
    return -1; // HDF5: the traversal fails
}

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
    if (a != 0 && b > kNoLimit / a) return kNoLimit;
    return a * b;
}

std::string human_bytes(std::uint64_t bytes) {
    if (bytes == kNoLimit) return "more than 16 EiB";
    const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    auto value = static_cast<double>(bytes);
    int u = 0;
    while (value >= 1024.0 && u < 6) {
        value /= 1024.0;
        ++u;
    }
    char buf[64];
    if (u == 0) {
        std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
    } else {
        std::snprintf(buf, sizeof buf, "%.1f %s", value, units[u]);
    }
    return buf;
}

// The first number in `path` (a /proc or /sys file), or nullopt ("max", missing, unreadable).
std::optional<std::uint64_t> read_number(const std::string& path) {
    std::ifstream in(path);
    std::uint64_t v = 0;
    if (in >> v) return v;
    return std::nullopt;
}

std::optional<std::uint64_t> meminfo_available() {
    std::ifstream in("/proc/meminfo");
    std::string key;
    std::uint64_t kib = 0;
    std::string unit;
    while (in >> key >> kib) {
        std::getline(in, unit);
        if (key == "MemAvailable:") return saturating_mul(kib, 1024);
    }
    return std::nullopt;
}

// limit - usage of this process's memory cgroup (v2, else v1), or nullopt without a limit.
std::optional<std::uint64_t> cgroup_headroom() {
    std::ifstream in("/proc/self/cgroup");
    std::string line;
    std::string v2_path;
    std::string v1_path;
    while (std::getline(in, line)) {
        const auto a = line.find(':');
        const auto b = line.find(':', a == std::string::npos ? a : a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        const std::string controllers = line.substr(a + 1, b - a - 1);
        const std::string path = line.substr(b + 1);
        if (line.compare(0, a, "0") == 0 && controllers.empty()) v2_path = path;
        std::stringstream list(controllers);
        for (std::string c; std::getline(list, c, ',');) {
            if (c == "memory") v1_path = path;
        }
    }
    std::optional<std::uint64_t> best;
    const auto consider = [&](const std::string& dir, const char* limit_name,
                              const char* usage_name) {
        const auto limit = read_number(dir + "/" + limit_name);
        if (!limit) return;
        const std::uint64_t usage = read_number(dir + "/" + usage_name).value_or(0);
        const std::uint64_t room = *limit > usage ? *limit - usage : 0;
        if (!best || room < *best) best = room;
    };
    // A limit may sit on any ancestor (a Slurm job's cgroup above its step's); inside a
    // container the cgroup namespace makes our own cgroup the root of /sys/fs/cgroup.
    const auto walk_up = [&](const std::string& root, std::string path, const char* limit_name,
                             const char* usage_name) {
        while (true) {
            consider(root + path, limit_name, usage_name);
            const auto slash = path.find_last_of('/');
            if (path.empty() || slash == std::string::npos) break;
            path.erase(slash);
        }
    };
    walk_up("/sys/fs/cgroup", v2_path == "/" ? std::string() : v2_path, "memory.max",
            "memory.current");
    walk_up("/sys/fs/cgroup/memory", v1_path == "/" ? std::string() : v1_path,
            "memory.limit_in_bytes", "memory.usage_in_bytes");
    return best;
}

} // namespace

void set_read_policy(const ReadPolicy& policy) {
    g_allow_external.store(policy.allow_external);
    g_max_read_bytes.store(policy.max_read_bytes);
}

ReadPolicy read_policy() { return {g_allow_external.load(), g_max_read_bytes.load()}; }

std::uint64_t available_memory() {
    std::uint64_t bytes = kNoLimit;
    if (const auto m = meminfo_available()) {
        bytes = *m;
    } else {
        const long pages = ::sysconf(_SC_AVPHYS_PAGES);
        const long page = ::sysconf(_SC_PAGESIZE);
        if (pages > 0 && page > 0) {
            bytes =
                saturating_mul(static_cast<std::uint64_t>(pages), static_cast<std::uint64_t>(page));
        }
    }
    if (const auto room = cgroup_headroom()) bytes = std::min(bytes, *room);
    rlimit as{};
    if (::getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
        bytes = std::min<std::uint64_t>(bytes, as.rlim_cur);
    }
    return bytes;
}

namespace detail {

hid_t link_access() {
    static const hid_t lapl = [] {
        quiet();
        const hid_t id = H5Pcreate(H5P_LINK_ACCESS);
        if (id < 0) fail("HDF5", "cannot create link access property list");
        if (H5Pset_elink_cb(id, external_link_gate, nullptr) < 0) {
            fail("HDF5", "cannot set the external link callback");
        }
        return id;
    }();
    return lapl;
}

void throw_if_link_refused(const std::string& where) {
    if (t_refused_link.empty()) return;
    const std::string target = std::move(t_refused_link);
    t_refused_link.clear();
    H5Eclear2(H5E_DEFAULT);
    throw IoError(where + ": leads through an external link to " + target +
                  ": refused: " + kAdvice);
}

void check_link(hid_t loc, const std::string& path, const std::string& file) {
    H5L_info_t info{};
    check(H5Lget_info(loc, path.c_str(), &info, link_access()), file + ": " + path,
          "cannot inspect link");
    if (info.type == H5L_TYPE_HARD || info.type == H5L_TYPE_SOFT) return;
    if (g_allow_external.load()) return;
    std::string what = "a user-defined link (type " + std::to_string(info.type) + ")";
    if (info.type == H5L_TYPE_EXTERNAL) {
        what = "an external link";
        std::string buf(info.u.val_size, '\0');
        const char* target_file = nullptr;
        const char* target_object = nullptr;
        unsigned flags = 0;
        if (!buf.empty() &&
            H5Lget_val(loc, path.c_str(), buf.data(), buf.size(), link_access()) >= 0 &&
            H5Lunpack_elink_val(buf.data(), buf.size(), &flags, &target_file, &target_object) >=
                0 &&
            target_file != nullptr && target_object != nullptr) {
            what += std::string(" to ") + target_file + ":" + target_object;
        }
        H5Eclear2(H5E_DEFAULT);
    }
    throw IoError(file + ": " + path + ": is " + what + ": refused: " + kAdvice);
}

void check_storage(hid_t dataset, const std::string& where) {
    if (g_allow_external.load()) return;
    const Handle dcpl(check(H5Dget_create_plist(dataset), where, "cannot read creation properties"),
                      HandleKind::property_list);
    if (H5Pget_layout(dcpl.id()) == H5D_VIRTUAL) {
        throw IoError(
            where + ": is a virtual dataset (its data lives in other files): refused: " + kAdvice);
    }
    const int external = check(H5Pget_external_count(dcpl.id()), where, "cannot read storage");
    if (external > 0) {
        throw IoError(where + ": stores its data in " + std::to_string(external) +
                      " external file(s): refused: " + kAdvice);
    }
}

void check_read_size(const std::string& where, const Shape& shape, std::uint64_t bytes_per_element,
                     const std::string& dtype_name) {
    std::uint64_t count = 1;
    for (const std::uint64_t d : shape) count = saturating_mul(count, d);
    const std::uint64_t bytes = saturating_mul(count, bytes_per_element);
    const std::uint64_t set_limit = g_max_read_bytes.load();
    if (set_limit == 0 && bytes < kAlwaysAllowedBytes) return;
    const std::uint64_t limit = set_limit != 0 ? set_limit : available_memory();
    if (bytes <= limit) return;
    throw IoError(where + ": shape " + to_string(shape) + " of " + dtype_name + " needs " +
                  human_bytes(bytes) + " of memory to read, more than the " + human_bytes(limit) +
                  (set_limit != 0 ? " allowed" : " available") +
                  ": refused (a damaged file, or one not meant for this machine?)");
}

std::uint64_t memory_bytes_per_element(Dtype dtype, hid_t stored_type) {
    if (dtype != Dtype::string) return element_size(dtype); // numbers: as stored
    // The std::string itself, plus HDF5's pointer (variable length) or the fixed-length buffer
    // read_strings() fills first.
    std::uint64_t extra = sizeof(char*);
    if (stored_type >= 0 && H5Tis_variable_str(stored_type) == 0) extra = H5Tget_size(stored_type);
    H5Eclear2(H5E_DEFAULT);
    return sizeof(std::string) + extra;
}

} // namespace detail
} // namespace sp::h5
