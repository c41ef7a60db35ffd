// Repulsive forces of t-SNE: exact, Barnes-Hut and FFT-accelerated interpolation (FIt-SNE).
// Every function writes per-point values and sums across points in point order, so results do
// not depend on how at::parallel_for splits the work.
#include "sp/metrics/tsne_repulsion.hpp"
#include "sp/util/error.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace sp::tsne_detail {
namespace {

double sum_in_order(const std::vector<double>& v) {
    double s = 0.0;
    for (const double x : v) s += x;
    return s;
}

// ---- Barnes-Hut ------------------------------------------------------------------------------

// Leaves hold up to this many points, handled pair by pair when the cell is too close.
constexpr std::int64_t kLeafSize = 8;
// Cells stop splitting below this depth: only coincident points can still share a cell there.
constexpr int kMaxDepth = 48;

struct Node {
    double cx = 0.0; // centre of mass
    double cy = 0.0;
    double size = 0.0;      // side of the (square) cell
    std::int64_t begin = 0; // points [begin, end) in the tree's order
    std::int64_t end = 0;
    std::int64_t child = -1; // first of 4 consecutive children, -1 for a leaf
};

struct QuadTree {
    std::vector<Node> nodes;
    std::vector<std::int64_t> order; // tree order -> point
    std::vector<std::int64_t> slot;  // point -> tree order
    std::vector<double> px;          // coordinates in tree order
    std::vector<double> py;
};

/// Built on one thread: the same tree whatever the thread count.
QuadTree build_tree(const double* y, std::int64_t n) {
    QuadTree t;
    const auto un = static_cast<std::size_t>(n);
    t.order.resize(un);
    for (std::size_t i = 0; i < un; ++i) t.order[i] = static_cast<std::int64_t>(i);
    const MapBounds box = map_bounds(y, n);
    const double side = std::max({box.hi_x - box.lo_x, box.hi_y - box.lo_y, 1e-300}) * (1.0 + 1e-9);
    struct Pending {
        std::int64_t node;
        double x0;
        double y0;
        int depth;
    };
    t.nodes.reserve(un / 2 + 16);
    t.nodes.push_back(Node{});
    t.nodes[0].size = side;
    t.nodes[0].begin = 0;
    t.nodes[0].end = n;
    std::vector<Pending> stack{{0, box.lo_x, box.lo_y, 0}};
    std::vector<std::int64_t> scratch;
    while (!stack.empty()) {
        const Pending cur = stack.back();
        stack.pop_back();
        Node node = t.nodes[static_cast<std::size_t>(cur.node)];
        double sx = 0.0;
        double sy = 0.0;
        for (std::int64_t s = node.begin; s < node.end; ++s) {
            const std::int64_t i = t.order[static_cast<std::size_t>(s)];
            sx += y[2 * i];
            sy += y[2 * i + 1];
        }
        const auto count = static_cast<double>(node.end - node.begin);
        node.cx = sx / count;
        node.cy = sy / count;
        if (node.end - node.begin > kLeafSize && cur.depth < kMaxDepth) {
            const double half = node.size / 2.0;
            const double mx = cur.x0 + half;
            const double my = cur.y0 + half;
            // Stable partition into quadrants (0: x<mx,y<my; 1: x>=mx,y<my; 2; 3).
            std::array<std::int64_t, 5> off{};
            scratch.assign(static_cast<std::size_t>(node.end - node.begin), 0);
            auto quadrant = [&](std::int64_t i) {
                return (y[2 * i] >= mx ? 1 : 0) + (y[2 * i + 1] >= my ? 2 : 0);
            };
            for (std::int64_t s = node.begin; s < node.end; ++s)
                ++off[static_cast<std::size_t>(quadrant(t.order[static_cast<std::size_t>(s)])) + 1];
            for (std::size_t q = 0; q < 4; ++q) off[q + 1] += off[q];
            std::array<std::int64_t, 4> fill{off[0], off[1], off[2], off[3]};
            for (std::int64_t s = node.begin; s < node.end; ++s) {
                const std::int64_t i = t.order[static_cast<std::size_t>(s)];
                scratch[static_cast<std::size_t>(fill[static_cast<std::size_t>(quadrant(i))]++)] =
                    i;
            }
            std::copy(scratch.begin(), scratch.end(),
                      t.order.begin() + static_cast<std::ptrdiff_t>(node.begin));
            node.child = static_cast<std::int64_t>(t.nodes.size());
            for (std::size_t q = 0; q < 4; ++q) {
                Node c;
                c.size = half;
                c.begin = node.begin + off[q];
                c.end = node.begin + off[q + 1];
                t.nodes.push_back(c);
                if (c.end > c.begin) {
                    stack.push_back({node.child + static_cast<std::int64_t>(q),
                                     cur.x0 + ((q & 1U) != 0 ? half : 0.0),
                                     cur.y0 + ((q & 2U) != 0 ? half : 0.0), cur.depth + 1});
                }
            }
        }
        t.nodes[static_cast<std::size_t>(cur.node)] = node;
    }
    t.slot.resize(un);
    t.px.resize(un);
    t.py.resize(un);
    for (std::size_t s = 0; s < un; ++s) {
        const auto i = static_cast<std::size_t>(t.order[s]);
        t.slot[i] = static_cast<std::int64_t>(s);
        t.px[s] = y[2 * i];
        t.py[s] = y[2 * i + 1];
    }
    return t;
}

} // namespace

MapBounds map_bounds(const double* y, std::int64_t n) {
    MapBounds b;
    b.lo_x = std::numeric_limits<double>::infinity();
    b.lo_y = b.lo_x;
    b.hi_x = -b.lo_x;
    b.hi_y = -b.lo_x;
    for (std::int64_t i = 0; i < n; ++i) {
        b.lo_x = std::min(b.lo_x, y[2 * i]);
        b.hi_x = std::max(b.hi_x, y[2 * i]);
        b.lo_y = std::min(b.lo_y, y[2 * i + 1]);
        b.hi_y = std::max(b.hi_y, y[2 * i + 1]);
    }
    return b;
}

double repulsion_exact(const double* y, std::int64_t n, double* neg) {
    std::vector<double> z(static_cast<std::size_t>(n), 0.0);
    at::parallel_for(0, n, 16, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) {
            const double yx = y[2 * i];
            const double yy = y[2 * i + 1];
            double fx = 0.0;
            double fy = 0.0;
            double zi = 0.0;
            for (std::int64_t j = 0; j < n; ++j) {
                if (j == i) continue;
                const double dx = yx - y[2 * j];
                const double dy = yy - y[2 * j + 1];
                const double w = 1.0 / (1.0 + dx * dx + dy * dy);
                zi += w;
                fx += w * w * dx;
                fy += w * w * dy;
            }
            neg[2 * i] = fx;
            neg[2 * i + 1] = fy;
            z[static_cast<std::size_t>(i)] = zi;
        }
    });
    return sum_in_order(z);
}

double exact_normaliser(const double* y, std::int64_t n) {
    // Row i sums w_ij over j > i; rows t and n-1-t share a task to balance the triangle.
    std::vector<double> z(static_cast<std::size_t>(n), 0.0);
    auto row = [&](std::int64_t i) {
        const double yx = y[2 * i];
        const double yy = y[2 * i + 1];
        double s = 0.0;
        for (std::int64_t j = i + 1; j < n; ++j) {
            const double dx = yx - y[2 * j];
            const double dy = yy - y[2 * j + 1];
            s += 1.0 / (1.0 + dx * dx + dy * dy);
        }
        z[static_cast<std::size_t>(i)] = s;
    };
    at::parallel_for(0, (n + 1) / 2, 8, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t t = b; t < e; ++t) {
            row(t);
            if (n - 1 - t != t) row(n - 1 - t);
        }
    });
    return 2.0 * sum_in_order(z);
}

double repulsion_barnes_hut(const double* y, std::int64_t n, double theta, double* neg) {
    const QuadTree tree = build_tree(y, n);
    const double theta2 = theta * theta;
    std::vector<double> z(static_cast<std::size_t>(n), 0.0);
    at::parallel_for(0, n, 64, [&](std::int64_t b, std::int64_t e) {
        std::vector<std::int64_t> stack;
        for (std::int64_t i = b; i < e; ++i) {
            const double yx = y[2 * i];
            const double yy = y[2 * i + 1];
            const std::int64_t me = tree.slot[static_cast<std::size_t>(i)];
            double fx = 0.0;
            double fy = 0.0;
            double zi = 0.0;
            stack.clear();
            stack.push_back(0);
            while (!stack.empty()) {
                const Node& node = tree.nodes[static_cast<std::size_t>(stack.back())];
                stack.pop_back();
                const std::int64_t count = node.end - node.begin;
                if (count == 0) continue;
                const bool holds_me = me >= node.begin && me < node.end;
                const double dx = yx - node.cx;
                const double dy = yy - node.cy;
                const double d2 = dx * dx + dy * dy;
                // scikit-learn's criterion, max_width^2 / dist^2 < theta^2; never a cell
                // holding the point itself.
                if (!holds_me && node.size * node.size < theta2 * d2) {
                    const double w = 1.0 / (1.0 + d2);
                    const auto c = static_cast<double>(count);
                    zi += c * w;
                    fx += c * w * w * dx;
                    fy += c * w * w * dy;
                } else if (node.child < 0) {
                    for (std::int64_t s = node.begin; s < node.end; ++s) {
                        if (s == me) continue;
                        const double ex = yx - tree.px[static_cast<std::size_t>(s)];
                        const double ey = yy - tree.py[static_cast<std::size_t>(s)];
                        const double w = 1.0 / (1.0 + ex * ex + ey * ey);
                        zi += w;
                        fx += w * w * ex;
                        fy += w * w * ey;
                    }
                } else {
                    for (std::int64_t q = 3; q >= 0; --q) stack.push_back(node.child + q);
                }
            }
            neg[2 * i] = fx;
            neg[2 * i + 1] = fy;
            z[static_cast<std::size_t>(i)] = zi;
        }
    });
    return sum_in_order(z);
}

// ---- Barnes-Hut as scikit-learn 1.2 builds and walks its tree --------------------------------
// The algorithm of sklearn/neighbors/_quad_tree.pyx (insert_point, _insert_point_in_new_child,
// summarize) and manifold/_barnes_hut_tsne.pyx (compute_gradient_negative), in float32 where
// scikit-learn is: cell bounds, centres, incrementally updated barycentres, the squared offsets
// and the opening test. The per-point sums are taken in double.

namespace {

constexpr float kSkDuplicate = 1e-6F; // _quad_tree.pyx EPSILON
// sp's guard, not scikit-learn's: two points more than 1e-6 apart that float32 halving cannot
// separate (adjacent floats above 8 in magnitude) would split a leaf forever; past this depth
// they share the leaf as duplicates do.
constexpr int kSkMaxDepth = 160;

struct SkCell {
    float lo[2] = {0.0F, 0.0F};
    float hi[2] = {0.0F, 0.0F};
    float centre[2] = {0.0F, 0.0F};
    float barycentre[2] = {0.0F, 0.0F};
    float squared_max_width = 0.0F;
    std::int64_t size = 0; // cumulative_size
    std::array<std::int64_t, 4> children{-1, -1, -1, -1};
    bool leaf = true;
};

class SkQuadTree {
  public:
    explicit SkQuadTree(const std::vector<float>& p) {
        const std::size_t n = p.size() / 2;
        const float* first = p.data();
        if (n == 0 || first == nullptr) throw InternalError("t-SNE quadtree of no points");
        float m[2] = {first[0], first[1]};
        float big[2] = {first[0], first[1]};
        for (std::size_t i = 0; i < n; ++i) {
            for (std::size_t ax = 0; ax < 2; ++ax) {
                m[ax] = std::min(m[ax], p[2 * i + ax]);
                big[ax] = std::max(big[ax], p[2 * i + ax]);
            }
        }
        cells_.reserve(2 * n + 1);
        cells_.emplace_back();
        SkCell& root = cells_[0];
        for (std::size_t ax = 0; ax < 2; ++ax) {
            // M = np.maximum(M * (1. + 1e-3 * np.sign(M)), M + 1e-3), in float32.
            const float sign = big[ax] > 0.0F ? 1.0F : (big[ax] < 0.0F ? -1.0F : 0.0F);
            const float scaled = big[ax] * (1.0F + 1e-3F * sign);
            const float hi = std::max(scaled, big[ax] + 1e-3F);
            root.lo[ax] = m[ax];
            root.hi[ax] = hi;
            root.centre[ax] = (hi + m[ax]) / 2.0F;
            const float width = hi - m[ax];
            root.squared_max_width = std::max(root.squared_max_width, width * width);
        }
        for (std::size_t i = 0; i < n; ++i) insert(&p[2 * i]);
    }

    /// Appends the summary of the tree seen from `point`: (dx, dy, d2, size) per summarised cell,
    /// in scikit-learn's order (children 0..3 depth first).
    void summarise(const float* point, float squared_theta, std::vector<float>& out) const {
        stack_summarise(point, squared_theta, 0, out);
    }

  private:
    void stack_summarise(const float* point, float squared_theta, std::int64_t id,
                         std::vector<float>& out) const {
        const SkCell& cell = cells_[static_cast<std::size_t>(id)];
        const float dx = point[0] - cell.barycentre[0];
        const float dy = point[1] - cell.barycentre[1];
        float d2 = 0.0F;
        d2 += dx * dx;
        d2 += dy * dy;
        const bool duplicate = std::fabs(dx) <= kSkDuplicate && std::fabs(dy) <= kSkDuplicate;
        if (duplicate && cell.leaf) return; // no self interaction
        if (cell.leaf || (d2 > 0.0F && cell.squared_max_width / d2 < squared_theta)) {
            out.insert(out.end(), {dx, dy, d2, static_cast<float>(cell.size)});
            return;
        }
        for (const std::int64_t c : cell.children) {
            if (c >= 0) stack_summarise(point, squared_theta, c, out);
        }
    }

    static int child_slot(const float* point, const SkCell& cell) {
        return (point[0] >= cell.centre[0] ? 2 : 0) + (point[1] >= cell.centre[1] ? 1 : 0);
    }

    std::int64_t new_child(const float* point, std::int64_t parent, std::int64_t size) {
        const auto child_id = static_cast<std::int64_t>(cells_.size());
        cells_.emplace_back();
        SkCell& cell = cells_[static_cast<std::size_t>(parent)];
        SkCell& child = cells_.back();
        cell.leaf = false;
        for (std::size_t ax = 0; ax < 2; ++ax) {
            if (point[ax] >= cell.centre[ax]) {
                child.lo[ax] = cell.centre[ax];
                child.hi[ax] = cell.hi[ax];
            } else {
                child.lo[ax] = cell.lo[ax];
                child.hi[ax] = cell.centre[ax];
            }
            child.centre[ax] = (child.lo[ax] + child.hi[ax]) / 2.0F;
            const float width = child.hi[ax] - child.lo[ax];
            child.barycentre[ax] = point[ax];
            child.squared_max_width = std::max(child.squared_max_width, width * width);
        }
        child.size = size;
        cell.children[static_cast<std::size_t>(child_slot(point, cell))] = child_id;
        return child_id;
    }

    void insert(const float* point) {
        std::int64_t id = 0;
        for (int depth = 0;; ++depth) {
            SkCell& cell = cells_[static_cast<std::size_t>(id)];
            const std::int64_t count = cell.size;
            if (count == 0) {
                cell.size = 1;
                cell.barycentre[0] = point[0];
                cell.barycentre[1] = point[1];
                return;
            }
            if (!cell.leaf) {
                for (std::size_t ax = 0; ax < 2; ++ax) {
                    cell.barycentre[ax] =
                        (static_cast<float>(count) * cell.barycentre[ax] + point[ax]) /
                        static_cast<float>(count + 1);
                }
                cell.size += 1;
                const std::int64_t next =
                    cell.children[static_cast<std::size_t>(child_slot(point, cell))];
                if (next < 0) {
                    new_child(point, id, 1);
                    return;
                }
                id = next;
                continue;
            }
            if ((std::fabs(point[0] - cell.barycentre[0]) <= kSkDuplicate &&
                 std::fabs(point[1] - cell.barycentre[1]) <= kSkDuplicate) ||
                depth > kSkMaxDepth) {
                cell.size += 1;
                return;
            }
            // Split the leaf: its point (or duplicates) moves into a new child, then retry here.
            const float held[2] = {cell.barycentre[0], cell.barycentre[1]};
            new_child(held, id, count);
        }
    }

    std::vector<SkCell> cells_;
};

} // namespace

double repulsion_barnes_hut_sklearn(const double* y, std::int64_t n, double theta, double* neg) {
    std::vector<float> p(static_cast<std::size_t>(2 * n));
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<float>(y[i]);
    const SkQuadTree tree(p);
    const auto theta_f = static_cast<float>(theta);
    const float squared_theta = theta_f * theta_f;
    std::vector<double> z(static_cast<std::size_t>(n), 0.0);
    at::parallel_for(0, n, 64, [&](std::int64_t b, std::int64_t e) {
        std::vector<float> summary;
        for (std::int64_t i = b; i < e; ++i) {
            summary.clear();
            tree.summarise(&p[static_cast<std::size_t>(2 * i)], squared_theta, summary);
            double fx = 0.0;
            double fy = 0.0;
            double zi = 0.0;
            for (std::size_t s = 0; s < summary.size(); s += 4) {
                const double w = 1.0 / (1.0 + static_cast<double>(summary[s + 2]));
                const double size = summary[s + 3];
                zi += size * w;
                fx += size * w * w * summary[s];
                fy += size * w * w * summary[s + 1];
            }
            neg[2 * i] = fx;
            neg[2 * i + 1] = fy;
            z[static_cast<std::size_t>(i)] = zi;
        }
    });
    return sum_in_order(z);
}

} // namespace sp::tsne_detail
