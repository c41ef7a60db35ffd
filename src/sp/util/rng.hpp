#pragma once
/// Seed derivation and sp's one random-number generator. Every random stream in sp starts from a
/// seed computed here, never from time, rank or the order of execution.
///
///     std::uint64_t s = sp::mix_seed(sp::mix_seed(sweep_seed, replicate_seed), stream_tag);
///     sp::SplitMixRng rng(s);
///     std::uint64_t k = rng.below(10);   // uniform in [0, 10)
///
/// The mixer is SplitMix64's output function (Steele, Lea, Flood 2014; the finalizer of
/// java.util.SplittableRandom), documented in sweeps/README.md so any tool can recompute seeds.
/// Randomness comes from SplitMixRng, never from std:: distributions or std::shuffle, whose
/// outputs differ between standard libraries: the same seed gives the same draws with any
/// compiler.

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

/// SplitMix64 as a stream (Steele, Lea, Flood 2014): output i (from 0) is splitmix64(seed + i *
/// 0x9E3779B97F4A7C15), i.e. the reference generator seeded with `seed`.
class SplitMixRng {
  public:
    explicit SplitMixRng(std::uint64_t seed) noexcept : state_(seed) {}

    /// The next 64 random bits.
    std::uint64_t next() noexcept {
        // splitmix64(x) finalizes x + golden gamma, so feeding the pre-increment state gives
        // the reference SplitMix64 sequence.
        const std::uint64_t out = splitmix64(state_);
        state_ += 0x9E3779B97F4A7C15ULL;
        return out;
    }

    /// A uniform integer in [0, n) for n >= 1, without modulo bias: draws r until
    /// r >= 2^64 mod n and returns r mod n (OpenBSD's arc4random_uniform rule). 0 for n <= 1,
    /// without a draw.
    std::uint64_t below(std::uint64_t n) noexcept {
        if (n <= 1) return 0;
        // 2^64 mod n, computed in 64-bit arithmetic as (2^64 - n) mod n.
        const std::uint64_t threshold = (0 - n) % n;
        for (;;) {
            const std::uint64_t r = next();
            if (r >= threshold) return r % n;
        }
    }

    /// A uniform double in the open interval (0, 1): (double(next() >> 11) + 0.5) * 2^-53, the
    /// centre of one of 2^53 equal cells, so never 0 (safe under log) and never 1. One draw.
    double uniform() noexcept { return (static_cast<double>(next() >> 11U) + 0.5) * 0x1.0p-53; }

  private:
    std::uint64_t state_;
};

} // namespace sp
