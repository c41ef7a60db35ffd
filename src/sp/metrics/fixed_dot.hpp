#pragma once
/// Private to src/sp/metrics: a double dot product summed in a fixed order (eight interleaved
/// partial sums, then a fixed tree), so that the same inputs give the same bits wherever it is
/// called, whatever the thread split or block shape around it. The partial sums are named locals
/// (not an array), so that the compiler keeps them in registers: an array of sums was kept in
/// memory, and every step waited for the previous store.

#include <cstddef>

namespace sp::detail {

/// sum_k p[k] q[k], products and sums in double; T is double or float (a float row gives the bits
/// its double copy would).
template <class P, class Q> inline double fixed_dot_t(const P* p, const Q* q, std::size_t len) {
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    std::size_t k = 0;
    auto m = [&](std::size_t i) { return static_cast<double>(p[i]) * static_cast<double>(q[i]); };
    for (; k + 8 <= len; k += 8) {
        a0 += m(k);
        a1 += m(k + 1);
        a2 += m(k + 2);
        a3 += m(k + 3);
        a4 += m(k + 4);
        a5 += m(k + 5);
        a6 += m(k + 6);
        a7 += m(k + 7);
    }
    const std::size_t rest = len - k; // 0 to 7: element k + l goes to partial sum l
    if (rest > 0) a0 += m(k);
    if (rest > 1) a1 += m(k + 1);
    if (rest > 2) a2 += m(k + 2);
    if (rest > 3) a3 += m(k + 3);
    if (rest > 4) a4 += m(k + 4);
    if (rest > 5) a5 += m(k + 5);
    if (rest > 6) a6 += m(k + 6);
    return ((a0 + a4) + (a1 + a5)) + ((a2 + a6) + (a3 + a7));
}

inline double fixed_dot(const double* p, const double* q, std::size_t len) {
    return fixed_dot_t(p, q, len);
}

inline double fixed_dot(const float* p, const float* q, std::size_t len) {
    return fixed_dot_t(p, q, len);
}

inline double fixed_dot(const float* p, const double* q, std::size_t len) {
    return fixed_dot_t(p, q, len);
}

/// s[k] += double(x[k]) * a for k < len (independent elements: no order to fix).
inline void add_scaled(double* s, const float* x, double a, std::size_t len) {
    std::size_t k = 0;
    for (; k + 4 <= len; k += 4) {
        const double v0 = static_cast<double>(x[k]) * a;
        const double v1 = static_cast<double>(x[k + 1]) * a;
        const double v2 = static_cast<double>(x[k + 2]) * a;
        const double v3 = static_cast<double>(x[k + 3]) * a;
        s[k] += v0;
        s[k + 1] += v1;
        s[k + 2] += v2;
        s[k + 3] += v3;
    }
    for (; k < len; ++k) s[k] += static_cast<double>(x[k]) * a;
}

} // namespace sp::detail
