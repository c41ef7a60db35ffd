#include "sp/data/readers.hpp"
#include "sp/data/source_files.hpp"
#include "sp/util/error.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <sys/stat.h>

namespace sp {
namespace {

constexpr std::uint32_t kImagesMagic = 0x00000803;
constexpr std::uint32_t kLabelsMagic = 0x00000801;
constexpr std::uint8_t kUbyteType = 0x08;

std::uint32_t be32(std::string_view bytes, std::size_t offset) {
    const auto b = [&](std::size_t i) {
        return std::uint32_t{static_cast<std::uint8_t>(bytes[i])};
    };
    return (b(offset) << 24U) | (b(offset + 1) << 16U) | (b(offset + 2) << 8U) | b(offset + 3);
}

std::string hex32(std::uint32_t v) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s = "0x";
    for (int shift = 28; shift >= 0; shift -= 4)
        s += kHex[(v >> static_cast<unsigned>(shift)) & 0xFU];
    return s;
}

// Checks the magic (uint8 data, `dims` dimensions) and that the header fits; returns the sizes.
std::vector<std::uint32_t> idx_header(std::string_view bytes, const std::string& name,
                                      std::uint32_t magic, const char* what) {
    const unsigned dims = magic & 0xFFU;
    if (bytes.size() < 4) {
        throw DataError(name + ": " + std::to_string(bytes.size()) +
                        " bytes, too short for an IDX header (magic " + hex32(magic) + ", " + what +
                        ")");
    }
    const std::uint32_t got = be32(bytes, 0);
    if ((got & 0xFFFF0000U) != 0 || ((got >> 8U) & 0xFFU) != kUbyteType) {
        throw DataError(name + ": byte 0: magic " + hex32(got) + " is not " + hex32(magic) +
                        " (IDX " + what + ")");
    }
    if ((got & 0xFFU) != dims) {
        const unsigned n = got & 0xFFU;
        throw DataError(name + ": byte 3: magic " + hex32(got) + " has " + std::to_string(n) +
                        (n == 1 ? " dimension" : " dimensions") + ", expected " +
                        std::to_string(dims) + " (IDX " + what + ", magic " + hex32(magic) + ")");
    }
    const std::size_t header = 4 + 4 * std::size_t{dims};
    if (bytes.size() < header) {
        throw DataError(name + ": " + std::to_string(bytes.size()) + " bytes, too short for the " +
                        std::to_string(header) + "-byte IDX header");
    }
    std::vector<std::uint32_t> sizes;
    for (unsigned i = 0; i < dims; ++i) sizes.push_back(be32(bytes, 4 + 4 * std::size_t{i}));
    return sizes;
}

// The payload length must equal the product of the claimed sizes. Sizes are untrusted (up to
// 2^32 each), so the product is checked by division and never used before it matches the file.
void check_payload(std::string_view bytes, const std::string& name,
                   const std::vector<std::uint32_t>& sizes) {
    const std::size_t header = 4 + 4 * sizes.size();
    const std::uint64_t payload = bytes.size() - header;
    std::uint64_t expected = 1;
    bool overflow = false;
    for (std::uint32_t s : sizes) {
        if (s != 0 && expected > std::numeric_limits<std::uint64_t>::max() / s) overflow = true;
        expected *= s;
    }
    if (overflow || expected != payload) {
        std::string dims;
        for (std::uint32_t s : sizes) dims += (dims.empty() ? "" : " x ") + std::to_string(s);
        throw DataError(name + ": header says " + dims + " (" +
                        (overflow ? std::string("more than 2^64") : std::to_string(expected)) +
                        " bytes) but " + std::to_string(payload) + " bytes follow the " +
                        std::to_string(header) + "-byte header");
    }
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

} // namespace

std::string gunzip_if_gzip(std::string_view bytes, const std::string& name) {
    const auto is_gzip = [](std::string_view b) {
        return b.size() >= 2 && static_cast<std::uint8_t>(b[0]) == 0x1F &&
               static_cast<std::uint8_t>(b[1]) == 0x8B;
    };
    if (!is_gzip(bytes)) return std::string(bytes);

    z_stream zs{};
    // 16 + MAX_WBITS: expect a gzip header and trailer (and check its CRC-32 and length).
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw DataError(name + ": cannot start zlib");
    struct End {
        z_stream* zs;
        ~End() { inflateEnd(zs); }
    } end{&zs};

    std::string out;
    // The trailer's length (mod 2^32) is untrusted: only a reservation hint, bounded by the most
    // that deflate can expand (about 1032:1).
    if (bytes.size() >= 18) {
        std::size_t isize = 0;
        for (std::size_t i = 1; i <= 4; ++i)
            isize = (isize << 8U) | static_cast<std::uint8_t>(bytes[bytes.size() - i]);
        out.reserve(std::min(isize, 1032 * bytes.size()));
    }
    std::size_t in_pos = 0;
    std::array<char, 1 << 16> buf{};
    for (;;) {
        // zlib counts in uInt: feed at most 1 GiB at a time.
        const std::size_t feed =
            std::min<std::size_t>(bytes.size() - in_pos, std::size_t{1} << 30U);
        zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + in_pos));
        zs.avail_in = static_cast<uInt>(feed);
        int rc = Z_OK;
        do {
            zs.next_out = reinterpret_cast<Bytef*>(buf.data());
            zs.avail_out = static_cast<uInt>(buf.size());
            rc = inflate(&zs, Z_NO_FLUSH);
            const std::size_t consumed = feed - zs.avail_in;
            if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_MEM_ERROR ||
                rc == Z_STREAM_ERROR) {
                throw DataError(name + ": corrupt gzip stream at compressed byte " +
                                std::to_string(in_pos + consumed) + ": " +
                                (zs.msg != nullptr ? zs.msg : "error " + std::to_string(rc)));
            }
            out.append(buf.data(), buf.size() - zs.avail_out);
        } while (rc != Z_STREAM_END && zs.avail_out == 0);
        in_pos += feed - zs.avail_in;
        if (rc == Z_STREAM_END) {
            if (in_pos == bytes.size()) return out;
            // Another gzip member follows (as `cat a.gz b.gz` makes); anything else is garbage.
            if (!is_gzip(bytes.substr(in_pos))) {
                throw DataError(name + ": " + std::to_string(bytes.size() - in_pos) +
                                " bytes of trailing garbage after the gzip stream at compressed "
                                "byte " +
                                std::to_string(in_pos));
            }
            inflateReset(&zs);
            continue;
        }
        if (in_pos == bytes.size()) {
            throw DataError(name + ": truncated gzip stream: it ends after " +
                            std::to_string(bytes.size()) + " compressed bytes (" +
                            std::to_string(out.size()) + " bytes inflated)");
        }
    }
}

std::string read_maybe_gzip(const std::string& path) {
    return gunzip_if_gzip(read_file_bytes(path), path);
}

void parse_idx_images(std::string_view bytes, const std::string& name, ImageSet& out) {
    const auto sizes = idx_header(bytes, name, kImagesMagic, "uint8 images, N x H x W");
    check_payload(bytes, name, sizes);
    const std::uint32_t n = sizes[0];
    // Bounded sides even when n == 0 (the length check then passes for any sides): every user
    // of the set computes channels * height * width in int64.
    constexpr std::uint32_t kMaxSide = 65536;
    if (sizes[1] == 0 || sizes[2] == 0 || sizes[1] > kMaxSide || sizes[2] > kMaxSide) {
        throw DataError(name + ": header says images of " + std::to_string(sizes[1]) + " x " +
                        std::to_string(sizes[2]) + " pixels (each side must be 1 .. " +
                        std::to_string(kMaxSide) + ")");
    }
    if (!out.labels.empty() && out.labels.size() != n) {
        throw DataError(name + ": " + std::to_string(n) + " images but " +
                        std::to_string(out.labels.size()) + " labels");
    }
    out.count = n;
    out.channels = 1;
    out.height = sizes[1];
    out.width = sizes[2];
    out.pixels.assign(bytes.begin() + 16, bytes.end());
}

void parse_idx_labels(std::string_view bytes, const std::string& name, std::int64_t classes,
                      ImageSet& out) {
    const auto sizes = idx_header(bytes, name, kLabelsMagic, "uint8 labels, N");
    check_payload(bytes, name, sizes);
    const std::uint32_t n = sizes[0];
    const bool have_images = out.channels != 0;
    if (have_images && out.count != std::int64_t{n}) {
        throw DataError(name + ": " + std::to_string(n) + " labels but " +
                        std::to_string(out.count) + " images");
    }
    for (std::uint32_t i = 0; i < n; ++i) {
        const auto label = static_cast<std::uint8_t>(bytes[8 + std::size_t{i}]);
        if (label >= classes) {
            throw DataError(name + ": record " + std::to_string(i) + " (byte " +
                            std::to_string(8 + std::size_t{i}) + "): label " +
                            std::to_string(label) + " is out of range [0, " +
                            std::to_string(classes) + ")");
        }
    }
    out.labels.assign(bytes.begin() + 8, bytes.end());
}

DataSplits read_idx_dataset(const std::string& dir, const std::string& name) {
    DataSplits d;
    if (name == "mnist") {
        for (int i = 0; i < 10; ++i) d.class_names.push_back(std::to_string(i));
    } else if (name == "fashion-mnist") {
        d.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    } else {
        throw ConfigError("read_idx_dataset: unknown IDX dataset '" + name +
                          "' (expected mnist or fashion-mnist)");
    }
    d.name = name;
    d.source = dir;
    const auto classes = static_cast<std::int64_t>(d.class_names.size());

    // Sorted order of the file names, as the checksum wants: t10k-* before train-*.
    struct Part {
        const char* base;
        ImageSet* set;
        bool images;
    };
    const std::array<Part, 4> parts = {{{"t10k-images-idx3-ubyte", &d.eval, true},
                                        {"t10k-labels-idx1-ubyte", &d.eval, false},
                                        {"train-images-idx3-ubyte", &d.train, true},
                                        {"train-labels-idx1-ubyte", &d.train, false}}};
    SourceChecksum sum;
    for (const Part& p : parts) {
        std::string file = p.base;
        if (!exists(dir + "/" + file)) file += ".gz";
        const std::string path = dir + "/" + file;
        if (!exists(path)) {
            throw DataError(dir + "/" + p.base +
                            "[.gz]: no such file (an IDX dataset needs "
                            "train-images, train-labels, t10k-images and "
                            "t10k-labels)");
        }
        const std::string raw = read_file_bytes(path);
        sum.add(file, raw);
        const std::string bytes = gunzip_if_gzip(raw, path);
        if (p.images) {
            parse_idx_images(bytes, path, *p.set);
        } else {
            parse_idx_labels(bytes, path, classes, *p.set);
        }
    }
    d.checksum = sum.finish_hex();
    return d;
}

} // namespace sp
