#include "sp/stats/sweep_record.hpp"

#include "sp/config/sweep.hpp"
#include "sp/io/atomic.hpp"
#include "sp/util/clock.hpp"
#include "sp/util/error.hpp"
#include "sp/util/hash.hpp"
#include "sp/util/strings.hpp"
#include "sp/util/version.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace sp {
namespace {

constexpr std::int64_t kRecordVersion = 1;

bool shell_safe(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("@%+=:,./_-").find(c) != std::string_view::npos;
}

std::string shell_quote(const std::string& word) {
    if (!word.empty() && std::all_of(word.begin(), word.end(), shell_safe)) return word;
    std::string out = "'";
    for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

/// A sweep name as a file name part: characters outside [A-Za-z0-9._-] become '_'.
std::string file_safe(const std::string& name) {
    std::string out = name;
    for (char& c : out) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
            c = '_';
    }
    return out;
}

std::string record_file_name(const SweepRecord& r) {
    std::vector<std::string> ids;
    for (const PlannedReplicate& p : r.replicates) ids.push_back(p.id);
    std::sort(ids.begin(), ids.end());
    return file_safe(r.sweep_name) + "-" + std::to_string(r.sweep_seed) + "-" +
           sha256_hex(join(ids, "\n"), /*bytes=*/4) + ".toml";
}

toml::array string_array(const std::vector<std::string>& values) {
    toml::array a;
    for (const std::string& v : values) a.push_back(v);
    return a;
}

toml::table replicate_table(const PlannedReplicate& p) {
    toml::table coordinates;
    for (const auto& [axis, label] : p.coordinates) coordinates.insert(axis, label);
    return toml::table{{"id", p.id},
                       {"seed", static_cast<std::int64_t>(p.seed)},
                       {"coordinates", std::move(coordinates)}};
}

// ---- reading ----------------------------------------------------------------------------------

std::string need_string(const toml::table& t, const std::string& key, const std::string& where) {
    const auto v = t[key].value<std::string>();
    if (!v) throw DataError(where + ": " + key + ": missing or not a string");
    return *v;
}

std::uint64_t need_seed(const toml::table& t, const std::string& key, const std::string& where) {
    const auto v = t[key].value<std::int64_t>();
    if (!v || *v < 0) throw DataError(where + ": " + key + ": missing or not an integer >= 0");
    return static_cast<std::uint64_t>(*v);
}

std::vector<std::string> need_strings(const toml::table& t, const std::string& key,
                                      const std::string& where) {
    const toml::array* a = t[key].as_array();
    if (a == nullptr) throw DataError(where + ": " + key + ": missing or not an array");
    std::vector<std::string> out;
    for (const toml::node& n : *a) {
        const auto s = n.value<std::string>();
        if (!s) throw DataError(where + ": " + key + ": holds a value that is not a string");
        out.push_back(*s);
    }
    return out;
}

PlannedReplicate parse_planned(const toml::node& node, const std::string& where) {
    const toml::table* t = node.as_table();
    if (t == nullptr) throw DataError(where + ": replicate: an entry is not a table");
    PlannedReplicate p;
    p.id = need_string(*t, "id", where + ": replicate");
    p.seed = need_seed(*t, "seed", where + ": replicate " + p.id);
    if (const toml::table* c = (*t)["coordinates"].as_table()) {
        for (const auto& [axis, label] : *c) {
            const auto s = label.value<std::string>();
            if (!s) throw DataError(where + ": replicate " + p.id + ": coordinates: not strings");
            p.coordinates.emplace_back(std::string(axis.str()), *s);
        }
    }
    return p;
}

} // namespace

std::string sweep_file_text(const std::string& path) {
    if (path.empty()) return embedded_quick_toml();
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw ConfigError(path + ": is a directory, expected a sweep file (.toml)");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(path + ": cannot read sweep file: " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string command_line(int argc, const char* const* argv) {
    std::vector<std::string> words;
    for (int i = 0; i < argc; ++i) words.push_back(shell_quote(argv[i]));
    return join(words, " ");
}

std::vector<SweepRecord> make_sweep_records(const Plan& plan, const std::string& sweep_toml,
                                            const std::string& command_line,
                                            const std::vector<std::string>& overrides) {
    std::map<std::string, SweepRecord> by_dir;
    for (const Replicate& r : plan.replicates) {
        SweepRecord& rec = by_dir[r.config.output.dir];
        rec.directory = r.config.output.dir;
        rec.replicates.push_back({r.id, r.seed, r.coordinates});
    }
    std::vector<SweepRecord> out;
    const std::string started = utc_now_iso8601();
    for (auto& [dir, rec] : by_dir) {
        rec.sweep_name = plan.name;
        rec.sweep_seed = plan.sweep_seed;
        rec.sweep_file = plan.file;
        rec.sweep_toml = sweep_toml;
        rec.command_line = command_line;
        rec.overrides = overrides;
        rec.sp_version = version();
        rec.git_revision = git_revision();
        rec.started = started;
        rec.file_name = record_file_name(rec);
        out.push_back(std::move(rec));
    }
    return out;
}

std::string sweep_record_toml(const SweepRecord& r) {
    toml::array replicates;
    for (const PlannedReplicate& p : r.replicates) replicates.push_back(replicate_table(p));
    const toml::table t{{"record_version", kRecordVersion},
                        {"sweep_name", r.sweep_name},
                        {"sweep_seed", static_cast<std::int64_t>(r.sweep_seed)},
                        {"sweep_file", r.sweep_file},
                        {"sweep_toml", r.sweep_toml},
                        {"command_line", r.command_line},
                        {"overrides", string_array(r.overrides)},
                        {"sp_version", r.sp_version},
                        {"git_revision", r.git_revision},
                        {"started", r.started},
                        {"replicate", std::move(replicates)}};
    std::ostringstream os;
    os << "# sp sweep record (results-schema/README.md): what sp_sweep planned for this results\n"
          "# directory; sp_reduce reads it to list missing and failed replicates.\n"
       << t << "\n";
    return os.str();
}

void write_sweep_record(const SweepRecord& r) {
    io::write_file_atomic(r.directory + "/sweeps/" + r.file_name, sweep_record_toml(r));
}

SweepRecord parse_sweep_record(const std::string& text, const std::string& where) {
    toml::table t;
    try {
        t = toml::parse(text, where);
    } catch (const toml::parse_error& e) {
        throw DataError(where + ":" + std::to_string(e.source().begin.line) + ":" +
                        std::to_string(e.source().begin.column) + ": " +
                        std::string(e.description()));
    }
    if (t["record_version"].value<std::int64_t>() != kRecordVersion)
        throw DataError(where + ": record_version: missing or not " +
                        std::to_string(kRecordVersion));
    SweepRecord r;
    r.sweep_name = need_string(t, "sweep_name", where);
    r.sweep_seed = need_seed(t, "sweep_seed", where);
    r.sweep_file = need_string(t, "sweep_file", where);
    r.sweep_toml = need_string(t, "sweep_toml", where);
    r.command_line = need_string(t, "command_line", where);
    r.overrides = need_strings(t, "overrides", where);
    r.sp_version = need_string(t, "sp_version", where);
    r.git_revision = need_string(t, "git_revision", where);
    r.started = need_string(t, "started", where);
    const toml::array* reps = t["replicate"].as_array();
    if (reps == nullptr) throw DataError(where + ": replicate: missing or not an array of tables");
    for (const toml::node& n : *reps) r.replicates.push_back(parse_planned(n, where));
    return r;
}

std::vector<SweepRecord> read_sweep_records(const std::string& dir,
                                            std::vector<std::string>& unreadable) {
    const std::filesystem::path folder = std::filesystem::path(dir) / "sweeps";
    std::error_code ec;
    if (!std::filesystem::is_directory(folder, ec)) return {};
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
        const std::string name = entry.path().filename().string();
        if (entry.is_regular_file() && entry.path().extension() == ".toml") names.push_back(name);
    }
    if (ec) unreadable.push_back("sweeps/: " + ec.message());
    std::sort(names.begin(), names.end());
    std::vector<SweepRecord> out;
    for (const std::string& name : names) {
        const std::string path = (folder / name).string();
        try {
            std::ifstream in(path, std::ios::binary);
            if (!in) throw DataError(path + ": cannot read");
            std::ostringstream text;
            text << in.rdbuf();
            SweepRecord r = parse_sweep_record(text.str(), path);
            r.directory = dir;
            r.file_name = name;
            out.push_back(std::move(r));
        } catch (const DataError& e) {
            unreadable.push_back("sweeps/" + name + ": " + e.what());
        }
    }
    return out;
}

} // namespace sp
