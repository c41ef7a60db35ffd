#include "sp/data/subset.hpp"

#include "sp/util/error.hpp"
#include "sp/util/rng.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace sp {

namespace {

void check_n(std::int64_t total, std::int64_t n, const std::string& what) {
    if (n < 0) throw ConfigError(what + ": must be >= 0, got " + std::to_string(n));
    if (n > total) {
        throw ConfigError(what + ": " + std::to_string(n) + " exceeds the " +
                          std::to_string(total) + " images available");
    }
}

} // namespace

std::vector<std::int64_t> select_first(std::int64_t count, std::int64_t n,
                                       const std::string& what) {
    check_n(count, n, what);
    std::vector<std::int64_t> out(static_cast<std::size_t>(n));
    std::iota(out.begin(), out.end(), std::int64_t{0});
    return out;
}

std::vector<std::int64_t> stratified_counts(const std::vector<std::int64_t>& class_sizes,
                                            std::int64_t n, const std::string& what) {
    std::int64_t total = 0;
    for (const std::int64_t s : class_sizes) {
        SP_CHECK(s >= 0, "negative class size");
        total += s;
    }
    check_n(total, n, what);
    std::vector<std::int64_t> counts(class_sizes.size(), 0);
    if (total == 0) return counts;
    std::vector<std::int64_t> remainder(class_sizes.size(), 0);
    std::int64_t assigned = 0;
    for (std::size_t c = 0; c < class_sizes.size(); ++c) {
        // n and the sizes are image counts (< 2^31 in practice), so the product fits in 64 bits.
        const std::int64_t scaled = n * class_sizes[c];
        counts[c] = scaled / total;
        remainder[c] = scaled % total;
        assigned += counts[c];
    }
    std::vector<std::size_t> order(class_sizes.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return remainder[a] > remainder[b]; });
    // Fewer than classes-many images remain, and a class with remainder > 0 is below its size.
    for (std::size_t i = 0; assigned < n; ++i, ++assigned) ++counts[order[i]];
    return counts;
}

std::vector<std::int64_t> select_stratified(const std::vector<std::int64_t>& labels,
                                            std::int64_t classes, std::int64_t n,
                                            std::uint64_t seed, const std::string& what) {
    SP_CHECK(classes >= 1, "select_stratified needs at least one class");
    std::vector<std::vector<std::int64_t>> members(static_cast<std::size_t>(classes));
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const std::int64_t y = labels[i];
        if (y < 0 || y >= classes) {
            throw DataError(what + ": label " + std::to_string(y) + " of image " +
                            std::to_string(i) + " is outside [0, " + std::to_string(classes) + ")");
        }
        members[static_cast<std::size_t>(y)].push_back(static_cast<std::int64_t>(i));
    }
    std::vector<std::int64_t> sizes;
    sizes.reserve(members.size());
    for (const auto& m : members) sizes.push_back(static_cast<std::int64_t>(m.size()));
    const std::vector<std::int64_t> counts = stratified_counts(sizes, n, what);

    SplitMixRng rng(seed);
    std::vector<std::int64_t> out;
    out.reserve(static_cast<std::size_t>(n));
    for (std::size_t c = 0; c < members.size(); ++c) {
        std::vector<std::int64_t>& m = members[c];
        const auto size = static_cast<std::uint64_t>(m.size());
        const auto take = static_cast<std::uint64_t>(counts[c]);
        for (std::uint64_t i = 0; i < take; ++i) {
            const std::uint64_t j = i + rng.below(size - i);
            std::swap(m[i], m[j]);
            out.push_back(m[i]);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

ImageSet apply_subset(const ImageSet& set, const std::vector<std::int64_t>& indices) {
    ImageSet out;
    out.count = static_cast<std::int64_t>(indices.size());
    out.channels = set.channels;
    out.height = set.height;
    out.width = set.width;
    const auto bytes = static_cast<std::size_t>(set.image_bytes());
    out.pixels.resize(indices.size() * bytes);
    out.labels.reserve(indices.size());
    for (std::size_t k = 0; k < indices.size(); ++k) {
        const std::int64_t i = indices[k];
        SP_CHECK(i >= 0 && i < set.count, "subset index " + std::to_string(i) + " outside [0, " +
                                              std::to_string(set.count) + ")");
        if (bytes > 0) std::memcpy(out.pixels.data() + k * bytes, set.image(i), bytes);
        out.labels.push_back(set.labels[static_cast<std::size_t>(i)]);
    }
    return out;
}

} // namespace sp
