#pragma once
/// Content hashing for stable identifiers: SHA-256 (FIPS 180-4), implemented here so that IDs do
/// not depend on a crypto library's presence or version; MD5 (RFC 1321) only to compare files
/// with the MD5 sums their publishers give (CIFAR-10, Tiny ImageNet), never for identity.
///
///     std::string id = sp::sha256_hex("text", 8);                  // "982d9e3eb996f559"
///     std::string w = sp::file_sha256_hex("weights/resnet18.pt");   // streamed, 64 hex digits
///     std::string a = sp::file_md5_hex("cifar-10-binary.tar.gz");   // 32 hex digits

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

/// Incremental MD5 (RFC 1321), for checking downloads against published MD5 sums only: MD5 is
/// broken for collisions, so nothing in sp identifies anything by it.
class Md5 {
  public:
    Md5();
    /// Appends `data` to the message.
    void update(std::string_view data);
    /// Lower-case hex of the digest; the object must not be used afterwards.
    std::string finish_hex();

  private:
    std::array<std::uint32_t, 4> state_;
    std::array<std::uint8_t, 64> block_{};
    std::size_t block_used_ = 0;
    std::uint64_t length_ = 0; ///< message bytes so far
};

/// Lower-case hex MD5 of `data`.
std::string md5_hex(std::string_view data);

/// Lower-case hex SHA-256 of the file at `path`, read in 1 MiB pieces (never held whole).
/// Throws IoError naming the file if it is missing, a directory or unreadable.
std::string file_sha256_hex(const std::string& path);

/// Lower-case hex MD5 of the file at `path`, read in pieces. Throws IoError as file_sha256_hex.
std::string file_md5_hex(const std::string& path);

} // namespace sp
