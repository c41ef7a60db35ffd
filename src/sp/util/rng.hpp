#pragma once
/// Seed derivation. Every random stream in sp starts from a seed computed here, never from time,
/// rank or the order of execution.
///
///     std::uint64_t s = sp::mix_seed(sp::mix_seed(sweep_seed, replicate_seed), stream_tag);
///
/// The mixer is SplitMix64's output function (Steele, Lea, Flood 2014; the finalizer of
/// java.util.SplittableRandom), documented in sweeps/README.md so any tool can recompute seeds.

#include <cstdint>

namespace sp {

/// SplitMix64 finalizer of `x + 0x9E3779B97F4A7C15`: a bijection on 64-bit integers.
constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
    std::uint64_t z = x + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31U);
}

/// Combines a parent seed with a child coordinate: `splitmix64(parent ^ splitmix64(child))`.
/// Not symmetric: mix_seed(a, b) != mix_seed(b, a) in general.
constexpr std::uint64_t mix_seed(std::uint64_t parent, std::uint64_t child) noexcept {
    return splitmix64(parent ^ splitmix64(child));
}

} // namespace sp
