#include "sp/sweep/preflight.hpp"

#include "sp/data/load.hpp"
#include "sp/util/error.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace sp {
namespace {

enum class PathKind { none, file, directory, other };

// What is at `path` (following links); `none` when nothing is, or a component is not a folder.
PathKind kind_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return PathKind::none;
    if (S_ISDIR(st.st_mode)) return PathKind::directory;
    if (S_ISREG(st.st_mode)) return PathKind::file;
    return PathKind::other;
}

// Why the file at `path` cannot be read, or "" when it can.
std::string file_problem(const std::string& path) {
    switch (kind_of(path)) {
    case PathKind::none:
        return "no such file";
    case PathKind::directory:
        return "is a directory, expected a file";
    case PathKind::other:
        return "is not a regular file";
    case PathKind::file:
        break;
    }
    if (::access(path.c_str(), R_OK) != 0)
        return std::string("cannot be read: ") + std::strerror(errno);
    return "";
}

// Why the results directory `dir` cannot be written (or created), or "" when it can.
std::string output_problem(const std::string& dir) {
    namespace fs = std::filesystem;
    const auto writable = [](const std::string& d) {
        return ::access(d.c_str(), W_OK | X_OK) == 0;
    };
    switch (kind_of(dir)) {
    case PathKind::directory:
        return writable(dir) ? "" : "directory is not writable";
    case PathKind::file:
    case PathKind::other:
        return "exists and is not a directory";
    case PathKind::none:
        break;
    }
    // The run creates it: the nearest existing ancestor must be a writable directory.
    fs::path p = fs::path(dir).lexically_normal();
    for (;;) {
        fs::path parent = p.has_relative_path() ? p.parent_path() : p;
        if (parent.empty()) parent = ".";
        if (parent == p) return "cannot be created: no existing ancestor";
        p = parent;
        switch (kind_of(p.string())) {
        case PathKind::none:
            continue;
        case PathKind::directory:
            return writable(p.string()) ? ""
                                        : "cannot be created: " + p.string() + " is not writable";
        case PathKind::file:
        case PathKind::other:
            return "cannot be created: " + p.string() + " is not a directory";
        }
    }
}

// "1-20", "3", "1-3,5,7-9" for increasing 0-based indices (printed 1-based).
std::string ranges_text(const std::vector<std::size_t>& indices) {
    std::string out;
    for (std::size_t i = 0; i < indices.size();) {
        std::size_t j = i;
        while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
        if (!out.empty()) out += ",";
        out += std::to_string(indices[i] + 1);
        if (j > i) out += "-" + std::to_string(indices[j] + 1);
        i = j + 1;
    }
    return out;
}

} // namespace

std::vector<MissingInput> missing_inputs(const Plan& plan) {
    std::vector<MissingInput> missing;
    const auto add = [&](const std::string& key, const std::string& path,
                         const std::string& problem, const std::string& dataset,
                         std::size_t index) {
        for (MissingInput& m : missing) {
            if (m.key == key && m.path == path && m.problem == problem && m.dataset == dataset) {
                if (m.replicates.back() != index) m.replicates.push_back(index);
                return;
            }
        }
        missing.push_back({key, path, problem, dataset, {index}});
    };
    for (const Replicate& r : plan.replicates) {
        const DatasetConfig& d = r.config.dataset;
        const bool have_cache = !d.cache.empty() && kind_of(d.cache) != PathKind::none;
        if (have_cache) {
            if (const std::string why = file_problem(d.cache); !why.empty())
                add("dataset.cache", d.cache, why, d.name, r.index);
        }
        if (d.name != "synthetic" && !have_cache) {
            const std::string root = dataset_root(d);
            if (root.empty()) {
                add("dataset.root", "", d.name + " has no default location (set dataset.root)",
                    d.name, r.index);
            } else if (const PathKind k = kind_of(root); k != PathKind::directory) {
                add("dataset.root", root,
                    k == PathKind::none ? "no such directory" : "is not a directory", d.name,
                    r.index);
            }
            if (!d.cache.empty() && (root.empty() || kind_of(root) != PathKind::directory))
                add("dataset.cache", d.cache, "no such file (and no source to read instead)",
                    d.name, r.index);
        }
        if (!r.config.model.pretrained.empty()) {
            if (const std::string why = file_problem(r.config.model.pretrained); !why.empty())
                add("model.pretrained", r.config.model.pretrained, why, "", r.index);
        }
        if (const std::string why = output_problem(r.config.output.dir); !why.empty())
            add("output.dir", r.config.output.dir, why, "", r.index);
    }
    return missing;
}

std::string missing_inputs_text(const std::vector<MissingInput>& missing) {
    std::string out = std::to_string(missing.size()) +
                      (missing.size() == 1 ? " input is" : " inputs are") +
                      " missing or unusable; nothing was run or written:";
    for (const MissingInput& m : missing) {
        out += "\n  " + m.key + ": " + (m.path.empty() ? "" : m.path + ": ") + m.problem +
               " (replicate" + (m.replicates.size() == 1 ? " " : "s ") + ranges_text(m.replicates) +
               (m.dataset.empty() ? "" : ", " + m.dataset) + ")";
    }
    return out;
}

void require_inputs(const Plan& plan) {
    const std::vector<MissingInput> missing = missing_inputs(plan);
    if (!missing.empty()) throw DataError(missing_inputs_text(missing));
}

} // namespace sp
