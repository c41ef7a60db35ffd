#pragma once
// The CPUs this process may run on, read from the kernel's own listing in /proc/self/status
// ("Cpus_allowed_list: 0-3,8,10-11"): an oracle for sp's affinity-based thread counts.

#include <set>

namespace sp::test {

std::set<int> allowed_cpus();

} // namespace sp::test
