// data/: the CIFAR-10 and IDX readers and the gzip layer, on files written here in the real
// formats, read back bit-exact; every kind of bad input is a DataError naming file and record.
#include "sp/data/readers.hpp"
#include "sp/util/error.hpp"
#include "sp/util/hash.hpp"

#include "support/errors.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>

namespace {

using sp::test::data_error_of;
using sp::test::TempDir;

struct BadCase {
    const char* rule;
    std::function<void(const TempDir&)> damage; ///< breaks a valid dataset in `dir`
    std::vector<std::string> expected;          ///< substrings of the message
};

// ---------------------------------------------------------------------------------------------
// CIFAR-10

std::string cifar_record(int label, int seed) {
    std::string r(3073, '\0');
    r[0] = static_cast<char>(label);
    for (int i = 0; i < 3072; ++i)
        r[1 + static_cast<std::size_t>(i)] = static_cast<char>((i * 7 + seed * 31) % 256);
    return r;
}

// Records per file: data_batch_1..5 then test_batch; record k of file f has label (f + k) % 10.
const std::array<int, 6> kCifarRecords = {2, 3, 1, 2, 2, 3};
const std::array<const char*, 6> kCifarFiles = {"data_batch_1.bin", "data_batch_2.bin",
                                                "data_batch_3.bin", "data_batch_4.bin",
                                                "data_batch_5.bin", "test_batch.bin"};

std::string cifar_file(int f) {
    std::string bytes;
    for (int k = 0; k < kCifarRecords[static_cast<std::size_t>(f)]; ++k)
        bytes += cifar_record((f + k) % 10, 100 * f + k);
    return bytes;
}

void write_cifar(const TempDir& dir) {
    for (int f = 0; f < 6; ++f) dir.write(kCifarFiles[static_cast<std::size_t>(f)], cifar_file(f));
}

// The checksum rule, written out independently: sorted relative path, NUL, size, NUL, bytes.
std::string checksum_of(const std::vector<std::pair<std::string, std::string>>& files) {
    std::string all;
    for (const auto& [path, bytes] : files)
        all += path + std::string(1, '\0') + std::to_string(bytes.size()) + std::string(1, '\0') +
               bytes;
    return sp::sha256_hex(all);
}

// Rule: every record comes back with its label and its 3,072 bytes, in file order.
TEST(Cifar10, ReadsRecordsBitExact) {
    TempDir dir("cifar");
    write_cifar(dir);
    const sp::DataSplits d = sp::read_cifar10(dir.path());
    EXPECT_EQ(d.name, "cifar10");
    EXPECT_EQ(d.source, dir.path());
    ASSERT_EQ(d.train.count, 10);
    ASSERT_EQ(d.eval.count, 3);
    for (const sp::ImageSet* s : {&d.train, &d.eval}) {
        EXPECT_EQ(s->channels, 3);
        EXPECT_EQ(s->height, 32);
        EXPECT_EQ(s->width, 32);
        EXPECT_EQ(s->pixels.size(), static_cast<std::size_t>(s->count) * 3072U);
        EXPECT_EQ(s->labels.size(), static_cast<std::size_t>(s->count));
    }
    std::int64_t i = 0;
    for (int f = 0; f < 6; ++f) {
        const sp::ImageSet& s = f < 5 ? d.train : d.eval;
        if (f == 5) i = 0;
        for (int k = 0; k < kCifarRecords[static_cast<std::size_t>(f)]; ++k, ++i) {
            const std::string r = cifar_record((f + k) % 10, 100 * f + k);
            EXPECT_EQ(s.labels[static_cast<std::size_t>(i)], (f + k) % 10);
            EXPECT_EQ(std::string(reinterpret_cast<const char*>(s.image(i)), 3072), r.substr(1))
                << "file " << f << " record " << k;
        }
    }
    EXPECT_EQ(d.class_names,
              (std::vector<std::string>{"airplane", "automobile", "bird", "cat", "deer", "dog",
                                        "frog", "horse", "ship", "truck"}));
    std::vector<std::pair<std::string, std::string>> files;
    for (int f = 0; f < 6; ++f)
        files.emplace_back(kCifarFiles[static_cast<std::size_t>(f)], cifar_file(f));
    EXPECT_EQ(d.checksum, checksum_of(files));
}

// Rule: batches.meta.txt, when present, names the classes and joins the checksum.
TEST(Cifar10, MetaTxtGivesClassNamesAndJoinsTheChecksum) {
    TempDir dir("cifar");
    write_cifar(dir);
    const std::string before = sp::read_cifar10(dir.path()).checksum;
    const std::string meta = "a0\na1\na2\na3\na4\na5\na6\na7\na8\r\na9\n\n\n";
    dir.write("batches.meta.txt", meta);
    const sp::DataSplits d = sp::read_cifar10(dir.path());
    ASSERT_EQ(d.class_names.size(), 10U);
    EXPECT_EQ(d.class_names[0], "a0");
    EXPECT_EQ(d.class_names[8], "a8");
    EXPECT_EQ(d.class_names[9], "a9");
    EXPECT_NE(d.checksum, before);
    std::vector<std::pair<std::string, std::string>> files = {{"batches.meta.txt", meta}};
    for (int f = 0; f < 6; ++f)
        files.emplace_back(kCifarFiles[static_cast<std::size_t>(f)], cifar_file(f));
    EXPECT_EQ(d.checksum, checksum_of(files));
}

// Rule: parse_cifar10_batch appends to what is already there.
TEST(Cifar10, ParseBatchAppends) {
    sp::ImageSet s;
    sp::parse_cifar10_batch(cifar_record(3, 1), "a.bin", s);
    sp::parse_cifar10_batch(cifar_record(9, 2) + cifar_record(0, 3), "b.bin", s);
    ASSERT_EQ(s.count, 3);
    EXPECT_EQ(s.labels, (std::vector<std::int64_t>{3, 9, 0}));
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(s.image(2)), 3072),
              cifar_record(0, 3).substr(1));
}

// Rule: each kind of bad CIFAR-10 input names the file and the record.
TEST(Cifar10, BadInputIsADataErrorNamingFileAndRecord) {
    const std::vector<BadCase> cases = {
        {"missing file",
         [](const TempDir& d) { std::filesystem::remove(d.file("data_batch_4.bin")); },
         {"data_batch_4.bin: no such file"}},
        {"missing test file",
         [](const TempDir& d) { std::filesystem::remove(d.file("test_batch.bin")); },
         {"test_batch.bin: no such file"}},
        {"size not a multiple of 3073",
         [](const TempDir& d) {
             d.write("data_batch_3.bin", cifar_file(2) + cifar_record(1, 1).substr(0, 2));
         },
         {"data_batch_3.bin: size 3075 is not a whole number of 3073-byte records (1 records and 2 "
          "bytes left over)"}},
        {"truncated record",
         [](const TempDir& d) {
             d.write("data_batch_2.bin", cifar_file(1).substr(0, 3 * 3073 - 1));
         },
         {"data_batch_2.bin: size 9218 is not a whole number",
          "(2 records and 3072 bytes left over)"}},
        {"empty file",
         [](const TempDir& d) { d.write("data_batch_1.bin", ""); },
         {"data_batch_1.bin: empty file"}},
        {"label out of range",
         [](const TempDir& d) {
             std::string t;
             for (int k = 0; k < 20; ++k) t += cifar_record(k == 17 ? 12 : 1, k);
             d.write("test_batch.bin", t);
         },
         {"test_batch.bin: record 17: label 12 is out of range [0, 10)"}},
        {"meta with 9 names",
         [](const TempDir& d) { d.write("batches.meta.txt", "a\nb\nc\nd\ne\nf\ng\nh\ni\n"); },
         {"batches.meta.txt: 9 class names, expected 10"}},
        {"meta with 11 names",
         [](const TempDir& d) {
             d.write("batches.meta.txt", "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\nk\n");
         },
         {"batches.meta.txt: line 12: more than 10 class names"}},
        {"a directory for a file",
         [](const TempDir& d) {
             std::filesystem::remove(d.file("data_batch_5.bin"));
             std::filesystem::create_directory(d.file("data_batch_5.bin"));
         },
         {"data_batch_5.bin: is a directory"}},
    };
    for (const BadCase& c : cases) {
        TempDir dir("cifar");
        write_cifar(dir);
        c.damage(dir);
        const std::string message = data_error_of([&] { sp::read_cifar10(dir.path()); });
        for (const std::string& e : c.expected) {
            EXPECT_NE(message.find(e), std::string::npos) << c.rule << ": got: " << message;
        }
        EXPECT_NE(message.find(dir.path()), std::string::npos)
            << c.rule << ": full path: " << message;
    }
    EXPECT_NE(data_error_of([] {
                  sp::read_cifar10("/no/such/dir");
              }).find("/no/such/dir/data_batch_1.bin: no such file"),
              std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// gzip

std::string gzip(const std::string& plain, int level = 6) {
    z_stream zs{};
    EXPECT_EQ(deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::string out(deflateBound(&zs, plain.size()) + 64, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
    zs.avail_in = static_cast<uInt>(plain.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

std::string sample_text(std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += static_cast<char>("abcdefgh\n"[(i * i + i / 7) % 9]);
    return s;
}

// Rule: gzip is detected by its magic and inflated; other bytes pass through unchanged.
TEST(Gzip, InflatesGzipAndPassesOtherBytesThrough) {
    const std::string plain = sample_text(300000);
    EXPECT_EQ(sp::gunzip_if_gzip(gzip(plain), "x.gz"), plain);
    EXPECT_EQ(sp::gunzip_if_gzip(gzip(""), "x.gz"), "");
    EXPECT_EQ(sp::gunzip_if_gzip(plain, "x"), plain);
    EXPECT_EQ(sp::gunzip_if_gzip("", "x"), "");
    EXPECT_EQ(sp::gunzip_if_gzip("\x1f", "x"), "\x1f");
    // Concatenated members, as `cat a.gz b.gz` writes, are one stream.
    EXPECT_EQ(sp::gunzip_if_gzip(gzip("first ") + gzip("second"), "x.gz"), "first second");
    TempDir dir("gzip");
    EXPECT_EQ(sp::read_maybe_gzip(dir.write("a.gz", gzip(plain, 9))), plain);
    EXPECT_EQ(sp::read_maybe_gzip(dir.write("a", plain)), plain);
}

// Rule: a truncated or corrupt gzip stream is a DataError naming the file and the offset.
TEST(Gzip, BadStreamsAreDataErrors) {
    const std::string plain = sample_text(100000);
    const std::string gz = gzip(plain);
    std::string flipped = gz;
    flipped[gz.size() / 2] = static_cast<char>(flipped[gz.size() / 2] ^ 0x55);
    std::string bad_crc = gz;
    bad_crc[gz.size() - 6] = static_cast<char>(bad_crc[gz.size() - 6] ^ 1);
    std::string bad_method = gz;
    bad_method[2] = 7;
    const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
        {gz.substr(0, gz.size() / 2), {"f.gz: truncated gzip stream", "ends after"}},
        {gz.substr(0, gz.size() - 1), {"f.gz: truncated gzip stream"}},
        {gz.substr(0, 5), {"f.gz: truncated gzip stream"}},
        // Corrupt deflate data is caught as bad codes, a bad check value, or a stream that
        // seems to go on past the end, depending on what the damage decodes to.
        {flipped, {"f.gz: ", " gzip stream"}},
        {bad_crc, {"f.gz: corrupt gzip stream", "incorrect data check"}},
        {bad_method,
         {"f.gz: corrupt gzip stream at compressed byte", "unknown compression method"}},
        {gz + "junk",
         {"f.gz: 4 bytes of trailing garbage after the gzip stream at compressed byte " +
          std::to_string(gz.size())}},
    };
    for (const auto& [bytes, expected] : cases) {
        const std::string message = data_error_of([&] { sp::gunzip_if_gzip(bytes, "f.gz"); });
        for (const std::string& e : expected)
            EXPECT_NE(message.find(e), std::string::npos) << message;
    }
    TempDir dir("gzip");
    const std::string path = dir.write("t.gz", gz.substr(0, 100));
    EXPECT_NE(
        data_error_of([&] { sp::read_maybe_gzip(path); }).find(path + ": truncated gzip stream"),
        std::string::npos);
    EXPECT_NE(data_error_of([&] {
                  sp::read_maybe_gzip(dir.file("none.gz"));
              }).find("none.gz: no such file"),
              std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// IDX

std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24U), static_cast<char>((v >> 16U) & 0xFFU),
            static_cast<char>((v >> 8U) & 0xFFU), static_cast<char>(v & 0xFFU)};
}

std::string idx_images(std::uint32_t n, std::uint32_t h, std::uint32_t w, int seed) {
    std::string b = be32(0x803) + be32(n) + be32(h) + be32(w);
    for (std::uint32_t i = 0; i < n * h * w; ++i)
        b += static_cast<char>((i * 13 + static_cast<std::uint32_t>(seed)) % 251);
    return b;
}

std::string idx_labels(std::uint32_t n, int seed) {
    std::string b = be32(0x801) + be32(n);
    for (std::uint32_t i = 0; i < n; ++i)
        b += static_cast<char>((i + static_cast<std::uint32_t>(seed)) % 10);
    return b;
}

struct IdxFiles {
    std::string train_images = idx_images(7, 5, 4, 1);
    std::string train_labels = idx_labels(7, 3);
    std::string test_images = idx_images(3, 5, 4, 2);
    std::string test_labels = idx_labels(3, 4);
};

void write_idx(const TempDir& dir, const IdxFiles& f, bool gz) {
    const auto enc = [&](const std::string& b) { return gz ? gzip(b) : b; };
    const std::string ext = gz ? ".gz" : "";
    dir.write("train-images-idx3-ubyte" + ext, enc(f.train_images));
    dir.write("train-labels-idx1-ubyte" + ext, enc(f.train_labels));
    dir.write("t10k-images-idx3-ubyte" + ext, enc(f.test_images));
    dir.write("t10k-labels-idx1-ubyte" + ext, enc(f.test_labels));
}

void expect_idx_split(const sp::ImageSet& s, const std::string& images, const std::string& labels) {
    ASSERT_EQ(s.channels, 1);
    EXPECT_EQ(s.height, 5);
    EXPECT_EQ(s.width, 4);
    EXPECT_EQ(std::string(s.pixels.begin(), s.pixels.end()), images.substr(16));
    ASSERT_EQ(s.labels.size(), labels.size() - 8);
    EXPECT_EQ(static_cast<std::size_t>(s.count), s.labels.size());
    for (std::size_t i = 0; i < s.labels.size(); ++i) EXPECT_EQ(s.labels[i], labels[8 + i]);
}

// Rule: IDX files, plain or gzip'd, come back bit-exact, with the dataset's class names.
TEST(Idx, PlainAndGzipReadBitExact) {
    const IdxFiles f;
    for (bool gz : {false, true}) {
        TempDir dir("idx");
        write_idx(dir, f, gz);
        const sp::DataSplits d = sp::read_idx_dataset(dir.path(), gz ? "fashion-mnist" : "mnist");
        expect_idx_split(d.train, f.train_images, f.train_labels);
        expect_idx_split(d.eval, f.test_images, f.test_labels);
        EXPECT_EQ(d.source, dir.path());
        ASSERT_EQ(d.class_names.size(), 10U);
        EXPECT_EQ(d.class_names[0], gz ? "T-shirt/top" : "0");
        EXPECT_EQ(d.class_names[9], gz ? "Ankle boot" : "9");
        // The checksum covers the files as they are on disk (compressed when gzip'd).
        const std::string ext = gz ? ".gz" : "";
        std::vector<std::pair<std::string, std::string>> files;
        for (const char* name : {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
                                 "train-images-idx3-ubyte", "train-labels-idx1-ubyte"}) {
            files.emplace_back(name + ext, sp::test::read_file(dir.file(name + ext)));
        }
        EXPECT_EQ(d.checksum, checksum_of(files));
    }
    EXPECT_THROW(sp::read_idx_dataset("/tmp", "cifar10"), sp::ConfigError);
}

// Rule: labels may be parsed before images; the counts must agree either way.
TEST(Idx, LabelsBeforeImages) {
    sp::ImageSet s;
    sp::parse_idx_labels(idx_labels(3, 0), "l", 10, s);
    sp::parse_idx_images(idx_images(3, 2, 2, 0), "i", s);
    EXPECT_EQ(s.count, 3);
    EXPECT_EQ(s.labels, (std::vector<std::int64_t>{0, 1, 2}));
    sp::ImageSet t;
    sp::parse_idx_labels(idx_labels(3, 0), "l", 10, t);
    EXPECT_NE(data_error_of([&] {
                  sp::parse_idx_images(idx_images(4, 2, 2, 0), "i.idx", t);
              }).find("i.idx: 4 images but 3 labels"),
              std::string::npos);
}

// Rule: each kind of bad IDX input names the file and what is wrong, before any allocation
// sized from the header.
TEST(Idx, BadHeadersAreDataErrors) {
    std::string short_labels = idx_labels(5, 0);
    short_labels.pop_back();
    const std::string huge =
        be32(0x803) + be32(0xFFFFFFFF) + be32(0xFFFFFFFF) + be32(0xFFFFFFFF) + "xyz";
    std::string bad_label = idx_labels(5, 0);
    bad_label[8 + 3] = 10;
    const std::vector<std::tuple<std::string, bool, std::vector<std::string>>> cases = {
        {"", true, {"f: 0 bytes, too short for an IDX header"}},
        {idx_labels(3, 0), true, {"f: byte 3: magic 0x00000801 has 1 dimension, expected 3"}},
        {be32(0x0C03) + be32(1) + be32(1) + be32(1) + "a",
         true,
         {"f: byte 0: magic 0x00000c03 is not"}},
        {be32(0x01000803) + be32(1) + be32(1) + be32(1) + "a", true, {"magic 0x01000803 is not"}},
        {be32(0x802) + be32(1) + be32(1),
         true,
         {"f: byte 3: magic 0x00000802 has 2 dimensions, expected 3"}},
        {be32(0x803) + be32(1) + be32(1),
         true,
         {"f: 12 bytes, too short for the 16-byte IDX header"}},
        {idx_images(2, 3, 3, 0) + "x",
         true,
         {"f: header says 2 x 3 x 3 (18 bytes) but 19 bytes follow the 16-byte header"}},
        {idx_images(2, 3, 3, 0).substr(0, 30), true, {"(18 bytes) but 14 bytes follow"}},
        {huge,
         true,
         {"f: header says 4294967295 x 4294967295 x 4294967295 (more than 2^64 bytes) but 3 bytes "
          "follow"}},
        {be32(0x803) + be32(0x10000) + be32(0x10000) + be32(0x10000),
         true,
         {"header says 65536 x 65536 x 65536 (281474976710656 bytes) but 0 bytes"}},
        {be32(0x803) + be32(2) + be32(0) + be32(5),
         true,
         {"f: header says images of 0 x 5 pixels (each side must be 1 .. 65536)"}},
        // Fuzzer, crash-95a4e01d...: no images, but sides whose product overflows int64.
        {be32(0x803) + be32(0) + be32(0xF7000000) + be32(0xFFFF0000),
         true,
         {"f: header says images of 4143972352 x 4294901760 pixels"}},
        {be32(0x803) + be32(0) + be32(65537) + be32(1), true, {"images of 65537 x 1 pixels"}},
        {idx_images(1, 1, 1, 0),
         false,
         {"f: byte 3: magic 0x00000803 has 3 dimensions, expected 1"}},
        {be32(0x803), false, {"f: byte 3: magic 0x00000803 has 3 dimensions"}},
        {short_labels, false, {"f: header says 5 (5 bytes) but 4 bytes follow the 8-byte header"}},
        {be32(0x801) + be32(0xFFFFFFFF),
         false,
         {"header says 4294967295 (4294967295 bytes) but 0 bytes"}},
        {bad_label, false, {"f: record 3 (byte 11): label 10 is out of range [0, 10)"}},
    };
    for (const auto& [bytes, images, expected] : cases) {
        sp::ImageSet s;
        const std::string message = data_error_of([&, &b = bytes, im = images] {
            if (im) {
                sp::parse_idx_images(b, "f", s);
            } else {
                sp::parse_idx_labels(b, "f", 10, s);
            }
        });
        for (const std::string& e : expected)
            EXPECT_NE(message.find(e), std::string::npos) << message;
        EXPECT_EQ(s.count, 0);
        EXPECT_TRUE(s.pixels.empty());
        EXPECT_TRUE(s.labels.empty());
    }
}

// Rule: bad IDX datasets on disk name the file.
TEST(Idx, BadDatasetsNameTheFile) {
    const std::vector<BadCase> cases = {
        {"missing",
         [](const TempDir& d) { std::filesystem::remove(d.file("t10k-labels-idx1-ubyte.gz")); },
         {"t10k-labels-idx1-ubyte[.gz]: no such file"}},
        {"count mismatch",
         [](const TempDir& d) { d.write("train-labels-idx1-ubyte.gz", gzip(idx_labels(6, 0))); },
         {"train-labels-idx1-ubyte.gz: 6 labels but 7 images"}},
        {"truncated gzip",
         [](const TempDir& d) {
             const std::string g = gzip(idx_images(7, 5, 4, 1));
             d.write("train-images-idx3-ubyte.gz", g.substr(0, g.size() - 10));
         },
         {"train-images-idx3-ubyte.gz: truncated gzip stream"}},
        {"labels in the images file",
         [](const TempDir& d) { d.write("t10k-images-idx3-ubyte.gz", gzip(idx_labels(3, 0))); },
         {"t10k-images-idx3-ubyte.gz: byte 3: magic 0x00000801 has 1 dimension, expected 3"}},
        {"label 11",
         [](const TempDir& d) {
             std::string l = idx_labels(3, 0);
             l[10] = 11;
             d.write("t10k-labels-idx1-ubyte.gz", gzip(l));
         },
         {"t10k-labels-idx1-ubyte.gz: record 2 (byte 10): label 11 is out of range [0, 10)"}},
    };
    for (const BadCase& c : cases) {
        TempDir dir("idx");
        write_idx(dir, IdxFiles{}, true);
        c.damage(dir);
        const std::string message =
            data_error_of([&] { sp::read_idx_dataset(dir.path(), "mnist"); });
        for (const std::string& e : c.expected)
            EXPECT_NE(message.find(e), std::string::npos) << c.rule << ": got: " << message;
    }
}

// Rule: Debian's Fashion-MNIST reads as 60,000 + 10,000 images of 28 x 28 x 1, 6,000 / 1,000 per
// class. (~30 MB of gzip; well under two seconds.)
TEST(Idx, FashionMnistFromTheDebianPackage) {
    const std::string dir = "/usr/share/datasets/fashion-mnist";
    if (!std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz"))
        GTEST_SKIP() << "dataset-fashion-mnist is not installed";
    const auto start = std::chrono::steady_clock::now();
    const sp::DataSplits d = sp::read_idx_dataset(dir, "fashion-mnist");
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "read Fashion-MNIST in " << seconds << " s\n";
    EXPECT_EQ(d.train.count, 60000);
    EXPECT_EQ(d.eval.count, 10000);
    for (const sp::ImageSet* s : {&d.train, &d.eval}) {
        EXPECT_EQ(s->channels, 1);
        EXPECT_EQ(s->height, 28);
        EXPECT_EQ(s->width, 28);
        EXPECT_EQ(s->pixels.size(), static_cast<std::size_t>(s->count) * 784U);
        std::array<std::int64_t, 10> per_class{};
        for (std::int64_t l : s->labels) ++per_class.at(static_cast<std::size_t>(l));
        for (std::int64_t n : per_class) EXPECT_EQ(n, s->count / 10);
    }
    EXPECT_EQ(d.checksum.size(), 64U);
}

} // namespace
