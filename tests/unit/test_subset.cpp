// data/subset: the SplitMix64 stream and its bounded draws, proportional stratified counts,
// stratified and first-n selection (exact, sorted, seeded), and copying a subset's images.
#include "sp/data/subset.hpp"
#include "sp/util/error.hpp"
#include "sp/util/rng.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

using sp::ConfigError;
using sp::DataError;

namespace {

using Indices = std::vector<std::int64_t>;

// Labels of `sizes[c]` images per class, interleaved so that class members are not contiguous.
Indices labels_of(const std::vector<std::int64_t>& sizes) {
    Indices labels;
    std::vector<std::int64_t> left = sizes;
    for (bool any = true; any;) {
        any = false;
        for (std::size_t c = 0; c < left.size(); ++c) {
            if (left[c] == 0) continue;
            labels.push_back(static_cast<std::int64_t>(c));
            --left[c];
            any = true;
        }
    }
    return labels;
}

std::vector<std::int64_t> per_class(const Indices& idx, const Indices& labels, std::size_t k) {
    std::vector<std::int64_t> counts(k, 0);
    for (const std::int64_t i : idx)
        ++counts[static_cast<std::size_t>(labels[static_cast<std::size_t>(i)])];
    return counts;
}

template <class E, class F> std::string error_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected an exception";
    return "";
}

// ---- stratified_counts: proportional, largest remainder, ties to the lower class ------------

TEST(StratifiedCounts, HandComputedCases) {
    struct Case {
        std::vector<std::int64_t> sizes;
        std::int64_t n;
        std::vector<std::int64_t> expected;
    };
    const std::vector<Case> cases = {
        {{10, 20, 30}, 12, {2, 4, 6}},    // exact proportions
        {{10, 20, 30}, 60, {10, 20, 30}}, // everything
        {{10, 20, 30}, 0, {0, 0, 0}},     // nothing
        {{5, 5, 5}, 7, {3, 2, 2}},        // equal remainders: the lower class index wins
        {{3, 7}, 5, {2, 3}},              // 1.5 / 3.5: the tie goes to class 0
        {{1, 1, 1, 1}, 2, {1, 1, 0, 0}},  // singletons
        {{0, 10}, 4, {0, 4}},             // an empty class gets nothing
        {{1, 2, 97}, 10, {0, 0, 10}},     // remainders 10, 20, 70 of 100
        {{100, 100, 100}, 10, {4, 3, 3}}, // balanced classes: as equal as possible
        {{6000, 6000}, 5001, {2501, 2500}},
    };
    for (const Case& c : cases) {
        EXPECT_EQ(sp::stratified_counts(c.sizes, c.n), c.expected) << "n = " << c.n;
    }
}

TEST(StratifiedCounts, NeverExceedsAClassAndSumsToN) {
    const std::vector<std::int64_t> sizes = {1, 3, 50, 7, 0, 2, 19};
    for (std::int64_t n = 0; n <= 82; ++n) {
        const auto counts = sp::stratified_counts(sizes, n);
        std::int64_t sum = 0;
        for (std::size_t c = 0; c < sizes.size(); ++c) {
            EXPECT_LE(counts[c], sizes[c]);
            sum += counts[c];
        }
        EXPECT_EQ(sum, n);
    }
}

TEST(StratifiedCounts, TooManyIsAConfigErrorNamingTheSetting) {
    const std::string m = error_of<ConfigError>([] {
        sp::stratified_counts({10, 20}, 31, "dataset.train_subset");
    });
    EXPECT_NE(m.find("dataset.train_subset"), std::string::npos) << m;
    EXPECT_NE(m.find("31"), std::string::npos) << m;
    EXPECT_NE(m.find("30"), std::string::npos) << m;
}

// ---- select_stratified: exact counts, sorted, a function of the seed ------------------------

TEST(SelectStratified, ExactCountsSortedAndUnique) {
    const Indices labels = labels_of({10, 20, 30});
    const Indices idx = sp::select_stratified(labels, 3, 12, /*seed=*/7);
    ASSERT_EQ(idx.size(), 12U);
    EXPECT_TRUE(std::is_sorted(idx.begin(), idx.end()));
    EXPECT_EQ(std::set<std::int64_t>(idx.begin(), idx.end()).size(), idx.size());
    EXPECT_EQ(per_class(idx, labels, 3), (std::vector<std::int64_t>{2, 4, 6}));
    for (const std::int64_t i : idx) {
        EXPECT_GE(i, 0);
        EXPECT_LT(i, 60);
    }
}

TEST(SelectStratified, SameSeedSameSubsetOtherSeedOtherSubset) {
    const Indices labels = labels_of({100, 100, 100, 100});
    const Indices a = sp::select_stratified(labels, 4, 40, 1);
    EXPECT_EQ(a, sp::select_stratified(labels, 4, 40, 1));
    EXPECT_NE(a, sp::select_stratified(labels, 4, 40, 2));
    EXPECT_EQ(per_class(a, labels, 4), (std::vector<std::int64_t>{10, 10, 10, 10}));
}

TEST(SelectStratified, PinnedOutputForAFixedSeed) {
    // Guards the documented algorithm (SplitMix64, rejection-bounded draws, partial Fisher-Yates
    // per class in class order): another standard library must give the same subset.
    const Indices labels = labels_of({4, 4}); // 0 1 0 1 0 1 0 1
    const Indices idx = sp::select_stratified(labels, 2, 4, 0);
    sp::SplitMixRng rng(0);
    Indices expected;
    for (const Indices& members : {Indices{0, 2, 4, 6}, Indices{1, 3, 5, 7}}) {
        Indices m = members;
        for (std::uint64_t i = 0; i < 2; ++i) {
            const std::uint64_t j = i + rng.below(4 - i);
            std::swap(m[i], m[j]);
            expected.push_back(m[i]);
        }
    }
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(idx, expected);
}

TEST(SelectStratified, AllImagesWhenNIsTheCount) {
    const Indices labels = labels_of({3, 5, 2});
    Indices all(labels.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::int64_t>(i);
    EXPECT_EQ(sp::select_stratified(labels, 3, 10, 99), all);
    EXPECT_TRUE(sp::select_stratified(labels, 3, 0, 99).empty());
}

TEST(SelectStratified, Errors) {
    const Indices labels = labels_of({3, 5, 2});
    const std::string m = error_of<ConfigError>(
        [&] { sp::select_stratified(labels, 3, 11, 1, "dataset.eval_subset"); });
    EXPECT_NE(m.find("dataset.eval_subset"), std::string::npos) << m;
    const std::string bad = error_of<DataError>([] { sp::select_stratified({0, 1, 3}, 3, 1, 1); });
    EXPECT_NE(bad.find("label 3 of image 2"), std::string::npos) << bad;
    EXPECT_THROW(sp::select_stratified({0, -1}, 3, 1, 1), DataError);
}

// ---- select_first ---------------------------------------------------------------------------

TEST(SelectFirst, FirstNAndErrors) {
    EXPECT_EQ(sp::select_first(10, 3), (Indices{0, 1, 2}));
    EXPECT_EQ(sp::select_first(3, 3), (Indices{0, 1, 2}));
    EXPECT_TRUE(sp::select_first(3, 0).empty());
    const std::string m =
        error_of<ConfigError>([] { sp::select_first(3, 4, "dataset.train_subset"); });
    EXPECT_EQ(m, "dataset.train_subset: 4 exceeds the 3 images available");
    EXPECT_THROW(sp::select_first(3, -1), ConfigError);
}

// ---- apply_subset ---------------------------------------------------------------------------

TEST(ApplySubset, CopiesPixelsAndLabelsInTheGivenOrder) {
    sp::ImageSet s;
    s.count = 4;
    s.channels = 2;
    s.height = 1;
    s.width = 2;
    for (int i = 0; i < 16; ++i) s.pixels.push_back(static_cast<std::uint8_t>(i));
    s.labels = {5, 6, 7, 8};
    const sp::ImageSet sub = sp::apply_subset(s, {3, 1});
    EXPECT_EQ(sub.count, 2);
    EXPECT_EQ(sub.image_bytes(), 4);
    EXPECT_EQ(sub.labels, (Indices{8, 6}));
    EXPECT_EQ(sub.pixels, (std::vector<std::uint8_t>{12, 13, 14, 15, 4, 5, 6, 7}));
    EXPECT_EQ(sp::apply_subset(s, {}).count, 0);
    EXPECT_THROW(sp::apply_subset(s, {4}), sp::InternalError);
}

} // namespace
