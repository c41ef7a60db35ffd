#pragma once
// Internal to metrics/tsne: the repulsive part of the t-SNE gradient for a 2-D map.
//
// Each function takes the map `y` (n x 2 doubles, row-major), writes neg[2i], neg[2i+1] =
// sum_j w_ij^2 (y_i - y_j) (approximated as the method does) with w_ij = 1 / (1 + |y_i - y_j|^2),
// and returns Z = sum_{i != j} w_ij. Deterministic whatever the thread count.

#include <cstdint>
#include <vector>

namespace sp::tsne_detail {

double repulsion_exact(const double* y, std::int64_t n, double* neg);

double repulsion_barnes_hut(const double* y, std::int64_t n, double theta, double* neg);

/// FIt-SNE interpolation; keeps its buffers between iterations.
class FftRepulsion {
  public:
    double operator()(const double* y, std::int64_t n, double* neg);

  private:
    std::vector<double> grid_;      // charges per partition, then summed
    std::vector<double> weights_;   // per point, 9 interpolation weights
    std::vector<std::int64_t> box_; // per point, box index
};

/// Z = sum_{i != j} w_ij exactly (O(n^2) time, O(n) memory).
double exact_normaliser(const double* y, std::int64_t n);

} // namespace sp::tsne_detail
