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

} // namespace sp
