#include "support/oracle.hpp"

#include "support/run.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sp::test {

std::string python() {
    const char* env = std::getenv("SP_PYTHON");
    return env != nullptr && *env != '\0' ? env : "/usr/bin/python3";
}

bool python_has(const std::string& modules) {
    return run({python(), "-c", "import " + modules}).exit_code == 0;
}

void write_bytes(const std::string& path, const void* data, std::size_t bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
    EXPECT_TRUE(f.good()) << path;
}

namespace {

// One line `key v1 v2 ...`: the key, and the values into `values`.
std::string parse_line(const std::string& line, std::vector<double>& values) {
    std::istringstream words(line);
    std::string key;
    words >> key;
    std::string w;
    while (words >> w) values.push_back(std::strtod(w.c_str(), nullptr));
    return key;
}

} // namespace

OracleValues parse_values(const std::string& text) {
    OracleValues out;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        std::vector<double> values;
        const std::string name = parse_line(line, values);
        out[name] = values;
    }
    return out;
}

std::vector<OracleValues> parse_jobs(const std::string& text, std::size_t jobs) {
    std::vector<OracleValues> out(jobs);
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        std::vector<double> values;
        const std::string key = parse_line(line, values);
        const auto colon = key.find(':');
        if (colon == std::string::npos) continue;
        const auto job = static_cast<std::size_t>(std::stoul(key.substr(0, colon)));
        if (job >= jobs) continue;
        out[job][key.substr(colon + 1)] = values;
    }
    return out;
}

std::vector<OracleValues> run_oracle_jobs(const std::string& script,
                                          const std::vector<std::vector<std::string>>& jobs) {
    std::vector<std::string> argv{python(), source_path(script)};
    for (std::size_t j = 0; j < jobs.size(); ++j) {
        if (j > 0) argv.emplace_back("::");
        argv.insert(argv.end(), jobs[j].begin(), jobs[j].end());
    }
    const auto r = run(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return parse_jobs(r.out, jobs.size());
}

const std::vector<double>& field(const OracleValues& o, const std::string& name) {
    static const std::vector<double> empty;
    const auto it = o.find(name);
    EXPECT_NE(it, o.end()) << "oracle printed no " << name;
    return it == o.end() ? empty : it->second;
}

} // namespace sp::test
