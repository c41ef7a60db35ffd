#pragma once
/// Private to src/sp/metrics: a double dot product summed in a fixed order (eight interleaved
/// partial sums, then a fixed tree), so that the same inputs give the same bits wherever it is
/// called, whatever the thread split or block shape around it.

#include <cstddef>

namespace sp::detail {

inline double fixed_dot(const double* p, const double* q, std::size_t len) {
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::size_t k = 0;
    for (; k + 8 <= len; k += 8) {
        for (std::size_t l = 0; l < 8; ++l) acc[l] += p[k + l] * q[k + l];
    }
    for (std::size_t l = 0; k < len; ++k, ++l) acc[l] += p[k] * q[k];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

} // namespace sp::detail
