#include "sp/util/hash.hpp"

#include "sp/util/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sys/stat.h>

namespace sp {
namespace {

constexpr std::array<std::uint32_t, 64> kRound = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr std::uint32_t rotr(std::uint32_t x, unsigned n) { return (x >> n) | (x << (32U - n)); }

void compress(std::array<std::uint32_t, 8>& h, const std::uint8_t* block) {
    std::array<std::uint32_t, 64> w{};
    for (unsigned i = 0; i < 16; ++i) {
        w[i] = (std::uint32_t{block[4 * i]} << 24U) | (std::uint32_t{block[4 * i + 1]} << 16U) |
               (std::uint32_t{block[4 * i + 2]} << 8U) | std::uint32_t{block[4 * i + 3]};
    }
    for (unsigned i = 16; i < 64; ++i) {
        const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3U);
        const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10U);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (unsigned i = 0; i < 64; ++i) {
        const std::uint32_t s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        const std::uint32_t ch = (e & f) ^ (~e & g);
        const std::uint32_t t1 = hh + s1 + ch + kRound[i] + w[i];
        const std::uint32_t s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        const std::uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        const std::uint32_t t2 = s0 + maj;
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

std::string to_hex(const std::array<std::uint8_t, 32>& digest, std::size_t bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < bytes && i < digest.size(); ++i) {
        out += kHex[digest[i] >> 4U];
        out += kHex[digest[i] & 0xFU];
    }
    return out;
}

// MD5 (RFC 1321, section 3.4): per-round shifts and the constants floor(abs(sin(i + 1)) * 2^32).
constexpr std::array<unsigned, 64> kMd5Shift = {
    7,  12, 17, 22, 7,  12, 17, 22, 7,  12, 17, 22, 7,  12, 17, 22, 5,  9,  14, 20, 5,  9,
    14, 20, 5,  9,  14, 20, 5,  9,  14, 20, 4,  11, 16, 23, 4,  11, 16, 23, 4,  11, 16, 23,
    4,  11, 16, 23, 6,  10, 15, 21, 6,  10, 15, 21, 6,  10, 15, 21, 6,  10, 15, 21};
constexpr std::array<std::uint32_t, 64> kMd5Sine = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};

constexpr std::uint32_t rotl(std::uint32_t x, unsigned n) { return (x << n) | (x >> (32U - n)); }

void md5_compress(std::array<std::uint32_t, 4>& h, const std::uint8_t* block) {
    std::array<std::uint32_t, 16> m{};
    for (unsigned i = 0; i < 16; ++i) { // little-endian words
        m[i] = std::uint32_t{block[4 * i]} | (std::uint32_t{block[4 * i + 1]} << 8U) |
               (std::uint32_t{block[4 * i + 2]} << 16U) | (std::uint32_t{block[4 * i + 3]} << 24U);
    }
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    for (unsigned i = 0; i < 64; ++i) {
        std::uint32_t f = 0;
        unsigned g = 0;
        if (i < 16) {
            f = (b & c) | (~b & d);
            g = i;
        } else if (i < 32) {
            f = (d & b) | (~d & c);
            g = (5 * i + 1) % 16;
        } else if (i < 48) {
            f = b ^ c ^ d;
            g = (3 * i + 5) % 16;
        } else {
            f = c ^ (b | ~d);
            g = (7 * i) % 16;
        }
        const std::uint32_t next = b + rotl(a + f + kMd5Sine[i] + m[g], kMd5Shift[i]);
        a = d;
        d = c;
        c = b;
        b = next;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
}

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

/// Feeds the file at `path` to `sink` in 1 MiB pieces.
template <typename Sink> void stream_file(const std::string& path, Sink&& sink) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) throw IoError(path + ": no such file");
        throw IoError(path + ": cannot read: " + std::strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) throw IoError(path + ": is a directory, expected a file");
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
    if (!f) throw IoError(path + ": cannot open: " + std::strerror(errno));
    std::string buf(std::size_t{1} << 20U, '\0');
    while (const std::size_t n = std::fread(buf.data(), 1, buf.size(), f.get()))
        sink(std::string_view(buf.data(), n));
    if (std::ferror(f.get())) throw IoError(path + ": read error: " + std::strerror(errno));
}

/// Feeds `data` to a hash of 64-byte blocks: completes the pending partial block, compresses
/// every full block with `compress(bytes)` in order, and keeps the tail as the new partial block.
template <class Compress>
void feed_blocks(std::array<std::uint8_t, 64>& block, std::size_t& used, std::uint64_t& length,
                 std::string_view data, Compress compress) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(data.data());
    std::size_t n = data.size();
    if (n == 0) return; // data() may be null, which memcpy must not see
    length += n;
    if (used > 0) {
        const std::size_t take = std::min(n, block.size() - used);
        std::memcpy(block.data() + used, bytes, take);
        used += take;
        bytes += take;
        n -= take;
        if (used < block.size()) return;
        compress(block.data());
        used = 0;
    }
    for (; n >= 64; n -= 64, bytes += 64) compress(bytes);
    if (n > 0) std::memcpy(block.data(), bytes, n);
    used = n;
}

} // namespace

std::array<std::uint8_t, 32> sha256(std::string_view data) {
    Sha256 h;
    h.update(data);
    return h.finish();
}

std::string sha256_hex(std::string_view data, std::size_t bytes) {
    return to_hex(sha256(data), bytes);
}

Sha256::Sha256()
    : state_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
             0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19} {}

void Sha256::update(std::string_view data) {
    feed_blocks(block_, block_used_, length_, data,
                [this](const std::uint8_t* b) { compress(state_, b); });
}

std::array<std::uint8_t, 32> Sha256::finish() {
    // Padding: 0x80, zeros, then the message length in bits as a big-endian 64-bit integer.
    const std::uint64_t bits = length_ * 8U;
    std::array<std::uint8_t, 72> pad{};
    pad[0] = 0x80;
    const std::size_t zeros = (block_used_ < 56 ? 56 : 120) - block_used_;
    for (unsigned i = 0; i < 8; ++i)
        pad[zeros + 7 - i] = static_cast<std::uint8_t>(bits >> (8U * i));
    update(std::string_view(reinterpret_cast<const char*>(pad.data()), zeros + 8));

    std::array<std::uint8_t, 32> out{};
    for (unsigned i = 0; i < 8; ++i) {
        for (unsigned j = 0; j < 4; ++j)
            out[4 * i + j] = static_cast<std::uint8_t>(state_[i] >> (24U - 8U * j));
    }
    return out;
}

std::string Sha256::finish_hex() { return to_hex(finish(), 32); }

Md5::Md5() : state_{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476} {}

void Md5::update(std::string_view data) {
    feed_blocks(block_, block_used_, length_, data,
                [this](const std::uint8_t* b) { md5_compress(state_, b); });
}

std::string Md5::finish_hex() {
    // As SHA-256's padding, but the bit length is little-endian.
    const std::uint64_t bits = length_ * 8U;
    std::array<std::uint8_t, 72> pad{};
    pad[0] = 0x80;
    const std::size_t zeros = (block_used_ < 56 ? 56 : 120) - block_used_;
    for (unsigned i = 0; i < 8; ++i) pad[zeros + i] = static_cast<std::uint8_t>(bits >> (8U * i));
    update(std::string_view(reinterpret_cast<const char*>(pad.data()), zeros + 8));
    std::array<std::uint8_t, 32> out{};
    for (unsigned i = 0; i < 4; ++i) {
        for (unsigned j = 0; j < 4; ++j)
            out[4 * i + j] = static_cast<std::uint8_t>(state_[i] >> (8U * j));
    }
    return to_hex(out, 16);
}

std::string md5_hex(std::string_view data) {
    Md5 h;
    h.update(data);
    return h.finish_hex();
}

std::string file_sha256_hex(const std::string& path) {
    Sha256 h;
    stream_file(path, [&](std::string_view piece) { h.update(piece); });
    return h.finish_hex();
}

std::string file_md5_hex(const std::string& path) {
    Md5 h;
    stream_file(path, [&](std::string_view piece) { h.update(piece); });
    return h.finish_hex();
}

} // namespace sp
