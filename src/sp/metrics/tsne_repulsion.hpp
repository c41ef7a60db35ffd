#pragma once
// Internal to metrics/tsne: the repulsive part of the t-SNE gradient for a 2-D map.
//
// Each function takes the map `y` (n x 2 doubles, row-major), writes neg[2i], neg[2i+1] =
// sum_j w_ij^2 (y_i - y_j) (approximated as the method does) with w_ij = 1 / (1 + |y_i - y_j|^2),
// and returns Z = sum_{i != j} w_ij. Deterministic whatever the thread count.

#include <complex>
#include <cstdint>
#include <vector>

namespace sp::tsne_detail {

/// The bounding box of the map's points.
struct MapBounds {
    double lo_x = 0.0;
    double lo_y = 0.0;
    double hi_x = 0.0;
    double hi_y = 0.0;
};

/// The bounding box of the n points of `y` (n >= 1), coordinates visited in point order.
MapBounds map_bounds(const double* y, std::int64_t n);

double repulsion_exact(const double* y, std::int64_t n, double* neg);

double repulsion_barnes_hut(const double* y, std::int64_t n, double theta, double* neg);

/// Barnes-Hut with scikit-learn 1.2's quadtree (rectangular root, one point per leaf, float32
/// cells and barycentres, points within 1e-6 merged): the sklearn compat mode's repulsion.
double repulsion_barnes_hut_sklearn(const double* y, std::int64_t n, double theta, double* neg);

/// FIt-SNE interpolation; keeps its buffers between iterations. With `exact_when_cheaper`, an
/// iteration whose grid would cost more than the n^2 pairs (small n, or a wide map) uses
/// repulsion_exact instead: the choice depends only on n and the map, so it is deterministic.
class FftRepulsion {
  public:
    explicit FftRepulsion(bool exact_when_cheaper = true)
        : exact_when_cheaper_(exact_when_cheaper) {}
    double operator()(const double* y, std::int64_t n, double* neg);

  private:
    // rfft2 of the three kernels for the grid of kernel_boxes_ boxes of width kernel_box_
    // (3 x 6b x (3b + 1)), kept while the grid stays the same.
    std::vector<std::complex<float>> kernel_hat_;
    std::int64_t kernel_boxes_ = 0;
    double kernel_box_ = 0.0;
    std::vector<double> sums_;            // charges per node, summed in double
    std::vector<std::int64_t> order_;     // points by box row
    std::vector<std::int64_t> row_start_; // per box row, its first point in order_
    std::vector<float> charges_;          // the summed charges
    std::vector<double> z_;               // per point, sum_j w_ij
    std::vector<double> weights_;         // per point, 9 interpolation weights
    std::vector<std::int64_t> box_;       // per point, box index
    bool exact_when_cheaper_ = true;
};

/// Z = sum_{i != j} w_ij exactly (O(n^2) time, O(n) memory).
double exact_normaliser(const double* y, std::int64_t n);

} // namespace sp::tsne_detail
