#include "sp/util/memory.hpp"

#include <malloc.h>

#include <cstdlib>

namespace sp {

bool tune_allocator() {
#if defined(__GLIBC__)
    // The user's own tuning wins.
    if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr ||
        std::getenv("GLIBC_TUNABLES") != nullptr) {
        return true;
    }
    // 32 MiB is glibc's largest mmap threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX); buffers
    // above it still get their own mapping.
    bool ok = mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024) == 1;
    ok = mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024) == 1 && ok;
    ok = mallopt(M_TOP_PAD, 256 * 1024 * 1024) == 1 && ok;
    return ok;
#else
    return false;
#endif
}

} // namespace sp
