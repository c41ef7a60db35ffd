#include "support/cpus.hpp"

#include <fstream>
#include <sstream>
#include <string>

namespace sp::test {

std::set<int> allowed_cpus() {
    std::ifstream status("/proc/self/status");
    std::string line;
    std::set<int> cpus;
    while (std::getline(status, line)) {
        if (line.rfind("Cpus_allowed_list:", 0) != 0) continue;
        std::stringstream list(line.substr(line.find(':') + 1));
        std::string range;
        while (std::getline(list, range, ',')) {
            const std::size_t dash = range.find('-');
            const int first = std::stoi(range.substr(0, dash));
            const int last = dash == std::string::npos ? first : std::stoi(range.substr(dash + 1));
            for (int c = first; c <= last; ++c) cpus.insert(c);
        }
    }
    return cpus;
}

} // namespace sp::test
