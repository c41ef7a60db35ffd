#pragma once
/// Content hashing for stable identifiers: SHA-256 (FIPS 180-4), implemented here so that IDs do
/// not depend on a crypto library's presence or version.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace sp {

/// SHA-256 digest of `data`.
std::array<std::uint8_t, 32> sha256(std::string_view data);

/// Lower-case hex of the first `bytes` bytes of the SHA-256 digest of `data`.
std::string sha256_hex(std::string_view data, std::size_t bytes = 32);

/// Incremental SHA-256 for data that arrives in pieces (files too large to hold at once):
/// update() any number of times, then finish() once; the digest equals sha256() of the
/// concatenated pieces.
class Sha256 {
  public:
    Sha256();
    /// Appends `data` to the message.
    void update(std::string_view data);
    /// The digest of everything passed to update(); the object must not be used afterwards.
    std::array<std::uint8_t, 32> finish();
    /// Lower-case hex of finish().
    std::string finish_hex();

  private:
    std::array<std::uint32_t, 8> state_;
    std::array<std::uint8_t, 64> block_{};
    std::size_t block_used_ = 0;
    std::uint64_t length_ = 0; ///< message bytes so far
};

} // namespace sp
