// data/cache, data/load and sp_prepare: caches round-trip bit for bit and appear atomically,
// every corrupt field is a DataError naming the file and the object, load_dataset uses a cache
// only while it matches the source (and says why not), checks shapes and cuts subsets, and
// sp_prepare's output passes sp_validate.
#include "sp/data/cache.hpp"
#include "sp/data/load.hpp"
#include "sp/data/readers.hpp"
#include "sp/data/subset.hpp"
#include "sp/data/verify.hpp"
#include "sp/io/h5.hpp"
#include "sp/util/error.hpp"
#include "sp/util/log.hpp"
#include "sp/util/rng.hpp"

#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace h5 = sp::h5;
using sp::DataError;
using sp::test::TempDir;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

sp::SyntheticConfig small_synthetic() {
    return {/*classes=*/3, /*train_size=*/50, /*eval_size=*/20, /*image_size=*/8, /*channels=*/3};
}

void expect_equal(const sp::ImageSet& a, const sp::ImageSet& b) {
    EXPECT_EQ(a.count, b.count);
    EXPECT_EQ(a.channels, b.channels);
    EXPECT_EQ(a.height, b.height);
    EXPECT_EQ(a.width, b.width);
    EXPECT_TRUE(a.pixels == b.pixels);
    EXPECT_EQ(a.labels, b.labels);
}

void expect_equal(const sp::DataSplits& a, const sp::DataSplits& b) {
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.class_names, b.class_names);
    EXPECT_EQ(a.checksum, b.checksum);
    expect_equal(a.train, b.train);
    expect_equal(a.eval, b.eval);
}

std::string data_error(const std::function<void()>& f) {
    try {
        f();
    } catch (const DataError& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected sp::DataError";
    return "";
}

// Runs `f` with sp's log captured; returns what it printed.
std::string logged(const std::function<void()>& f) {
    sp::log::set_level(sp::log::Level::info);
    testing::internal::CaptureStderr();
    try {
        f();
    } catch (...) {
        testing::internal::GetCapturedStderr();
        throw;
    }
    return testing::internal::GetCapturedStderr();
}

// ---- write_cache / read_cache ---------------------------------------------------------------

TEST(Cache, RoundTripIsBitExact) {
    TempDir dir("cache");
    const sp::DataSplits d = sp::make_synthetic(small_synthetic());
    const std::string path = dir.file("s.h5");
    sp::write_cache(d, path, /*deflate=*/0, "fp123");
    const sp::DataSplits back = sp::read_cache(path, "synthetic");
    expect_equal(back, d);
    EXPECT_EQ(back.source, path);

    const sp::CacheInfo info = sp::read_cache_info(path);
    EXPECT_EQ(info.dataset, "synthetic");
    EXPECT_EQ(info.source, "synthetic");
    EXPECT_EQ(info.source_checksum, d.checksum);
    EXPECT_EQ(info.source_fingerprint, "fp123");
    EXPECT_EQ(info.created.size(), 20U) << info.created; // 2024-05-01T12:00:00Z
    EXPECT_EQ(info.created.back(), 'Z');
    EXPECT_TRUE(sp::test::temporaries_of(path).empty());
}

TEST(Cache, ChunkedAndOptionallyCompressed) {
    TempDir dir("cache");
    sp::SyntheticConfig cfg = small_synthetic();
    cfg.train_size = 600;
    const sp::DataSplits d = sp::make_synthetic(cfg);
    sp::write_cache(d, dir.file("raw.h5"));
    sp::write_cache(d, dir.file("z.h5"), /*deflate=*/6);
    {
        const h5::File raw = h5::File::open(dir.file("raw.h5"));
        const h5::Dataset images = raw.open_dataset("/train/images");
        EXPECT_EQ(images.chunk(), (h5::Shape{256, 3, 8, 8}));
        EXPECT_FALSE(images.deflate_level().has_value());
        EXPECT_EQ(raw.open_dataset("/eval/images").chunk(), (h5::Shape{20, 3, 8, 8}));
        const h5::File z = h5::File::open(dir.file("z.h5"));
        EXPECT_EQ(z.open_dataset("/train/images").deflate_level(), 6);
    }
    expect_equal(sp::read_cache(dir.file("z.h5")), d);
    EXPECT_THROW(sp::write_cache(d, dir.file("bad.h5"), 10), sp::ConfigError);
}

TEST(Cache, AFailedWriteLeavesNoFileAndKeepsTheOldOne) {
    TempDir dir("cache");
    sp::DataSplits bad = sp::make_synthetic(small_synthetic());
    bad.eval.labels[3] = 7; // only 3 classes: found after /train went into the .tmp
    const std::string path = dir.file("c.h5");
    const std::string m = data_error([&] { sp::write_cache(bad, path); });
    EXPECT_TRUE(contains(m, path + ": /eval: label 7 of image 3")) << m;
    EXPECT_FALSE(exists(path));
    EXPECT_TRUE(sp::test::temporaries_of(path).empty());

    const sp::DataSplits good = sp::make_synthetic(small_synthetic());
    sp::write_cache(good, path);
    EXPECT_THROW(sp::write_cache(bad, path), DataError);
    expect_equal(sp::read_cache(path), good);
    EXPECT_TRUE(sp::test::temporaries_of(path).empty());
}

// Each way a cache can be wrong, made by editing a good file, and what the message must name.
TEST(Cache, CorruptFieldsAreDataErrorsNamingFileAndObject) {
    struct Case {
        const char* what;
        std::function<void(h5::File&)> corrupt;
        std::string expected; // after "<file>: "
    };
    const auto replace_attr = [](h5::File& f, const char* name, const auto& value) {
        f.remove_attribute(name);
        f.write_attribute(name, value);
    };
    const std::vector<Case> cases = {
        {"file kind", [&](h5::File& f) { replace_attr(f, "file_kind", "replicate"); },
         "/@file_kind: 'replicate', expected 'dataset-cache'"},
        {"version", [&](h5::File& f) { replace_attr(f, "schema_version", std::int32_t{2}); },
         "/@schema_version: 2, this sp reads 1"},
        {"version dtype", [&](h5::File& f) { replace_attr(f, "schema_version", std::int64_t{1}); },
         "/@schema_version: expected a scalar int32"},
        {"missing attribute", [](h5::File& f) { f.remove_attribute("source_fingerprint"); },
         "/@source_fingerprint: missing"},
        {"attribute dtype", [&](h5::File& f) { replace_attr(f, "created", std::int32_t{0}); },
         "/@created: expected a scalar string"},
        {"other dataset", [&](h5::File& f) { replace_attr(f, "dataset", "cifar10"); },
         "/@dataset: the cache holds 'cifar10', expected 'synthetic'"},
        {"images dtype",
         [](h5::File& f) {
             f.remove("/train/images");
             f.write<std::int32_t>("/train/images", std::vector<std::int32_t>(50 * 192),
                                   {50, 3, 8, 8});
         },
         "/train/images: dtype is int32, expected uint8"},
        {"images rank",
         [](h5::File& f) {
             f.remove("/eval/images");
             f.write<std::uint8_t>("/eval/images", std::vector<std::uint8_t>(20 * 192), {20, 192});
         },
         "/eval/images: shape [20, 192], expected rank 4"},
        {"missing labels", [](h5::File& f) { f.remove("/eval/labels"); }, "/eval/labels: missing"},
        {"label count",
         [](h5::File& f) {
             f.remove("/train/labels");
             f.write<std::int64_t>("/train/labels", std::vector<std::int64_t>(49, 0));
         },
         "/train/labels: shape [49] but /train/images holds 50 images"},
        {"label range",
         [](h5::File& f) {
             std::vector<std::int64_t> y(20, 0);
             y[5] = 3;
             f.remove("/eval/labels");
             f.write<std::int64_t>("/eval/labels", y);
         },
         "/eval/labels: label 3 of image 5 is outside [0, 3)"},
        {"class names",
         [](h5::File& f) {
             f.remove("/class_names");
             f.write<std::int64_t>("/class_names", std::vector<std::int64_t>{0, 1, 2});
         },
         "/class_names: dtype is int64, expected string"},
        {"image shapes differ",
         [](h5::File& f) {
             f.remove("/eval/images");
             f.write<std::uint8_t>("/eval/images", std::vector<std::uint8_t>(20 * 3 * 9 * 8),
                                   {20, 3, 9, 8});
         },
         "/eval/images: image shape differs from /train/images"},
    };
    TempDir dir("cache");
    const sp::DataSplits d = sp::make_synthetic(small_synthetic());
    for (const Case& c : cases) {
        const std::string path = dir.file(std::string(c.what) + ".h5");
        sp::write_cache(d, path);
        {
            h5::File f = h5::File::open(path, h5::Access::read_write);
            c.corrupt(f);
        }
        const std::string m = data_error([&] { sp::read_cache(path, "synthetic"); });
        EXPECT_EQ(m.rfind(path + ": " + c.expected, 0), 0U) << c.what << ": " << m;
    }
}

TEST(Cache, MissingOrForeignFilesAreIoErrors) {
    TempDir dir("cache");
    EXPECT_THROW(sp::read_cache(dir.file("none.h5")), sp::IoError);
    EXPECT_THROW(sp::read_cache(dir.write("text.h5", "not hdf5")), sp::IoError);
}

// ---- source_fingerprint ---------------------------------------------------------------------

TEST(Fingerprint, ChangesWithTheFilesButNotWithTheCacheInside) {
    TempDir dir("fp");
    dir.write("a.bin", "aaaa");
    ::mkdir(dir.file("sub").c_str(), 0755);
    dir.write("sub/b.bin", "bb");
    const std::string fp = sp::source_fingerprint(dir.path(), dir.file("cache.h5"));
    EXPECT_EQ(fp.size(), 64U);
    EXPECT_EQ(sp::source_fingerprint(dir.path(), dir.file("cache.h5")), fp);

    dir.write("cache.h5", "a cache next to the data");
    dir.write("cache.h5.tmp", "and its temporary");
    dir.write("cache.h5.tmp.12.00000000deadbeef", "and a writer's temporary");
    EXPECT_EQ(sp::source_fingerprint(dir.path(), dir.file("cache.h5")), fp);
    EXPECT_NE(sp::source_fingerprint(dir.path()), fp);

    dir.write("sub/b.bin", "bbb"); // resized
    const std::string resized = sp::source_fingerprint(dir.path(), dir.file("cache.h5"));
    EXPECT_NE(resized, fp);
    dir.write("c.bin", ""); // added
    EXPECT_NE(sp::source_fingerprint(dir.path(), dir.file("cache.h5")), resized);
    EXPECT_THROW(sp::source_fingerprint(dir.file("nowhere")), DataError);
}

// ---- load_dataset ---------------------------------------------------------------------------

// Writes a tiny Fashion-MNIST-layout directory (plain IDX files): `train` + `eval` images of
// 28 x 28 whose pixels start at `base`.
void write_idx_dir(const TempDir& dir, int train, int eval, int base) {
    const auto be32 = [](std::string& s, std::uint32_t v) {
        for (int shift = 24; shift >= 0; shift -= 8) s += static_cast<char>((v >> shift) & 0xFFU);
    };
    for (const auto& [prefix, n] : {std::pair<std::string, int>{"train", train}, {"t10k", eval}}) {
        std::string images;
        be32(images, 0x803);
        be32(images, static_cast<std::uint32_t>(n));
        be32(images, 28);
        be32(images, 28);
        for (int i = 0; i < n * 784; ++i) images += static_cast<char>((base + i * 7) & 0xFF);
        std::string labels;
        be32(labels, 0x801);
        be32(labels, static_cast<std::uint32_t>(n));
        for (int i = 0; i < n; ++i) labels += static_cast<char>((i * 3 + base) % 10);
        dir.write(prefix + "-images-idx3-ubyte", images);
        dir.write(prefix + "-labels-idx1-ubyte", labels);
    }
}

TEST(LoadDataset, UsesACurrentCacheAndRereadsAChangedSource) {
    TempDir src("fmnist-src");
    TempDir out("fmnist-cache");
    write_idx_dir(src, 30, 10, 0);
    sp::DatasetConfig cfg;
    cfg.name = "fashion-mnist";
    cfg.root = src.path();
    cfg.cache = out.file("c.h5");

    sp::DataSplits first;
    std::string log = logged([&] { first = sp::load_dataset(cfg, 1); });
    EXPECT_TRUE(contains(log, "dataset fashion-mnist: cache " + cfg.cache + " not found; reading " +
                                  src.path()))
        << log;
    expect_equal(first, sp::read_idx_dataset(src.path(), "fashion-mnist"));

    sp::write_cache(first, cfg.cache, 0, sp::source_fingerprint(src.path(), cfg.cache));
    sp::DataSplits cached;
    log = logged([&] { cached = sp::load_dataset(cfg, 1); });
    EXPECT_TRUE(contains(log, "dataset fashion-mnist: using cache " + cfg.cache +
                                  " (30 training "
                                  "+ 10 evaluation images"))
        << log;
    EXPECT_TRUE(contains(log, "source fingerprint matches")) << log;
    expect_equal(cached, first);
    EXPECT_EQ(cached.source, cfg.cache);

    // Same sizes, other pixels: only the mtime (and contents) differ. Sleep past a coarse
    // file-system timestamp granularity so the mtime surely moves.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    write_idx_dir(src, 30, 10, 1);
    sp::DataSplits reread;
    log = logged([&] { reread = sp::load_dataset(cfg, 1); });
    EXPECT_TRUE(contains(log, "cache " + cfg.cache + " is stale: the files in " + src.path() +
                                  " changed since it was made"))
        << log;
    expect_equal(reread, sp::read_idx_dataset(src.path(), "fashion-mnist"));
    EXPECT_NE(reread.train.pixels, first.train.pixels);

    // Without the source directory the cache is used unchecked.
    cfg.root = src.file("moved-away");
    log = logged([&] { cached = sp::load_dataset(cfg, 1); });
    EXPECT_TRUE(contains(log, "not found, not checked")) << log;
    expect_equal(cached, first);
}

TEST(LoadDataset, SyntheticCacheFollowsTheSettings) {
    TempDir out("syn-cache");
    sp::DatasetConfig cfg;
    cfg.name = "synthetic";
    cfg.synthetic = small_synthetic();
    cfg.cache = out.file("s.h5");
    const sp::DataSplits d = sp::make_synthetic(cfg.synthetic);
    sp::write_cache(d, cfg.cache, 0, sp::synthetic_checksum(cfg.synthetic));
    std::string log = logged([&] { expect_equal(sp::load_dataset(cfg, 0), d); });
    EXPECT_TRUE(contains(log, "dataset synthetic: using cache " + cfg.cache)) << log;

    cfg.synthetic.train_size = 51;
    log = logged([&] { EXPECT_EQ(sp::load_dataset(cfg, 0).train.count, 51); });
    EXPECT_TRUE(contains(log, "is stale: it was made with other dataset.synthetic settings"))
        << log;

    cfg.name = "mnist";
    cfg.root = out.file("absent");
    log = logged([&] { EXPECT_THROW(sp::load_dataset(cfg, 0), DataError); });
    EXPECT_TRUE(contains(log, "is stale: it holds dataset 'synthetic'")) << log;
}

TEST(LoadDataset, ShapesAreCheckedAgainstTheFacts) {
    TempDir out("facts");
    sp::DataSplits d = sp::make_synthetic(small_synthetic()); // 3 x 8 x 8, 3 classes
    d.name = "fashion-mnist";
    const std::string path = out.file("wrong.h5");
    sp::write_cache(d, path, 0, "x");
    sp::DatasetConfig cfg;
    cfg.name = "fashion-mnist";
    cfg.root = out.file("absent"); // unchecked cache
    cfg.cache = path;
    const std::string m = data_error([&] { logged([&] { sp::load_dataset(cfg, 0); }); });
    EXPECT_EQ(m, "dataset fashion-mnist: " + path + ": 3 classes, fashion-mnist has 10") << m;

    d.class_names.resize(10, "x");
    sp::write_cache(d, path, 0, "x");
    const std::string m2 = data_error([&] { logged([&] { sp::load_dataset(cfg, 0); }); });
    EXPECT_EQ(m2, "dataset fashion-mnist: " + path +
                      ": training images are 3 x 8 x 8, fashion-mnist images are 1 x 28 x 28");
}

TEST(LoadDataset, MissingRootNamesTheDirectory) {
    sp::DatasetConfig cfg;
    cfg.name = "cifar10";
    cfg.root = "data/cifar-10-batches-bin-missing";
    EXPECT_EQ(data_error([&] { sp::load_dataset(cfg, 0); }),
              "dataset cifar10: data/cifar-10-batches-bin-missing: no such directory (set "
              "dataset.root)");
    cfg.root = "";
    EXPECT_TRUE(contains(data_error([&] { sp::load_dataset(cfg, 0); }), "(set dataset.root)"));
    cfg.name = "imagenet";
    EXPECT_THROW(sp::load_dataset(cfg, 0), sp::ConfigError);
}

TEST(LoadDataset, SubsetsFirstAndStratifiedWithDerivedSeeds) {
    sp::DatasetConfig cfg;
    cfg.name = "synthetic";
    cfg.synthetic = small_synthetic();
    const sp::DataSplits full = sp::make_synthetic(cfg.synthetic);
    cfg.train_subset = 12;
    cfg.eval_subset = 6;
    sp::DataSplits first;
    logged([&] { first = sp::load_dataset(cfg, 5); });
    expect_equal(first.train, sp::apply_subset(full.train, sp::select_first(50, 12)));
    expect_equal(first.eval, sp::apply_subset(full.eval, sp::select_first(20, 6)));

    cfg.subset = "stratified";
    const std::uint64_t pool = 12345;
    sp::DataSplits strat;
    logged([&] { strat = sp::load_dataset(cfg, pool); });
    expect_equal(strat.train,
                 sp::apply_subset(full.train, sp::select_stratified(full.train.labels, 3, 12,
                                                                    sp::mix_seed(pool, 1))));
    expect_equal(strat.eval,
                 sp::apply_subset(full.eval, sp::select_stratified(full.eval.labels, 3, 6,
                                                                   sp::mix_seed(pool, 2))));
    EXPECT_EQ(strat.class_names, full.class_names);

    cfg.train_subset = 51;
    try {
        logged([&] { sp::load_dataset(cfg, pool); });
        ADD_FAILURE() << "expected ConfigError";
    } catch (const sp::ConfigError& e) {
        EXPECT_TRUE(contains(e.what(), "dataset.train_subset")) << e.what();
    }
    cfg.train_subset = 0;
    cfg.subset = "random";
    EXPECT_THROW(sp::load_dataset(cfg, pool), sp::ConfigError);
}

// ---- sp_prepare -----------------------------------------------------------------------------

TEST(SpPrepare, SyntheticCachePassesSpValidateAndLoads) {
    TempDir dir("prepare");
    const std::string out = dir.file("sub/syn.h5");
    const auto r = sp::test::run({sp::test::app("sp_prepare"), "synthetic", "-", out});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "sp_prepare: synthetic: 1000 training + 200 evaluation images "
                                "(3 x 32 x 32), 10 classes -> " +
                                    out))
        << r.out;
    const auto v = sp::test::run({sp::test::app("sp_validate"), out});
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
    EXPECT_EQ(v.out, out + ": ok\n");

    sp::DatasetConfig cfg;
    cfg.name = "synthetic";
    cfg.cache = out;
    std::string log =
        logged([&] { expect_equal(sp::load_dataset(cfg, 0), sp::make_synthetic({})); });
    EXPECT_TRUE(contains(log, "using cache " + out)) << log;
}

TEST(SpPrepare, BadArgumentsExitTwo) {
    TempDir dir("prepare");
    const std::string app = sp::test::app("sp_prepare");
    const std::vector<std::vector<std::string>> cases = {
        {app},
        {app, "synthetic", "-"},
        {app, "imagenet", "-", dir.file("x.h5")},
        {app, "synthetic", "-", dir.file("x.h5"), "--compression", "10"},
        {app, "synthetic", "-", dir.file("x.h5"), "--threads", "0"},
        {app, "synthetic", "-", dir.file("x.h5"), "--bogus"},
    };
    for (const auto& argv : cases) {
        const auto r = sp::test::run(argv);
        EXPECT_EQ(r.exit_code, 2) << argv.size() << " args: " << r.err;
    }
    const auto missing = sp::test::run({app, "cifar10", dir.file("none"), dir.file("x.h5")});
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_EQ(missing.err, "sp_prepare: dataset cifar10: " + dir.file("none") +
                               ": no such directory (set dataset.root)\n");
    EXPECT_FALSE(exists(dir.file("x.h5")));
    EXPECT_EQ(sp::test::run({app, "--help"}).exit_code, 0);
}

TEST(SpPrepare, FashionMnistCacheEqualsTheSource) {
    const std::string root = "/usr/share/datasets/fashion-mnist";
    if (!exists(root)) GTEST_SKIP() << root << " is not installed";
    TempDir dir("prepare");
    const std::string out = dir.file("fmnist.h5");
    const auto r = sp::test::run({sp::test::app("sp_prepare"), "fashion-mnist", root, out});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "60000 training + 10000 evaluation images (1 x 28 x 28), 10 "
                                "classes"))
        << r.out;
    EXPECT_EQ(sp::test::run({sp::test::app("sp_validate"), out}).exit_code, 0);

    sp::DatasetConfig cfg; // fashion-mnist from its default root
    cfg.cache = out;
    sp::DataSplits cached;
    const std::string log = logged([&] { cached = sp::load_dataset(cfg, 0); });
    EXPECT_TRUE(contains(log, "using cache " + out)) << log;
    EXPECT_TRUE(contains(log, "source fingerprint matches")) << log;
    const sp::DataSplits source = sp::read_idx_dataset(root, "fashion-mnist");
    expect_equal(cached, source);
}

// ---- checksums (data/verify.hpp) -------------------------------------------------------------
// No per-file checksums are published for CIFAR-10's .bin files, so the files are checked
// against a SHA256SUMS manifest (written here by coreutils' sha256sum, the independent oracle),
// and the archive against its published MD5 (coreutils' md5sum gives the digest found).

std::string shell(const std::string& command) {
    const auto r = sp::test::run({"/bin/sh", "-c", command});
    EXPECT_EQ(r.exit_code, 0) << command << ": " << r.err;
    return r.out;
}

// CIFAR-10 binary batches in the real format: records of a label byte and 3,072 pixel bytes.
void write_small_cifar(const TempDir& dir) {
    const std::array<const char*, 6> files = {"data_batch_1.bin", "data_batch_2.bin",
                                              "data_batch_3.bin", "data_batch_4.bin",
                                              "data_batch_5.bin", "test_batch.bin"};
    for (std::size_t f = 0; f < files.size(); ++f) {
        std::string bytes;
        for (std::size_t k = 0; k < 3; ++k) {
            std::string record(3073, '\0');
            record[0] = static_cast<char>((f + k) % 10);
            for (std::size_t i = 1; i < record.size(); ++i)
                record[i] = static_cast<char>((i * 7 + f * 31 + k) % 256);
            bytes += record;
        }
        dir.write(files[f], bytes);
    }
}

TEST(Checksums, CorruptedCifarBatchIsNamedWithBothDigests) {
    TempDir dir("cifar");
    write_small_cifar(dir);
    shell("cd '" + dir.path() + "' && sha256sum *.bin > SHA256SUMS");
    const std::string manifest = dir.file("SHA256SUMS");
    EXPECT_EQ(sp::read_source("cifar10", dir.path(), {}).verification, "6 files match " + manifest);

    const std::string batch = dir.file("data_batch_3.bin");
    const std::string expected = shell("sha256sum '" + batch + "'").substr(0, 64);
    // One pixel byte changed: still a valid batch to the decoder, caught by its checksum only.
    std::string bytes = sp::test::read_file(batch);
    bytes[100] = static_cast<char>(bytes[100] ^ 0x10);
    dir.write("data_batch_3.bin", bytes);
    const std::string found = shell("sha256sum '" + batch + "'").substr(0, 64);
    ASSERT_NE(found, expected);
    const std::string mismatch = batch + ": SHA-256 mismatch: expected " + expected + " (" +
                                 manifest + ":3), found " + found;
    try {
        (void)sp::read_source("cifar10", dir.path(), {});
        FAIL() << "expected a DataError";
    } catch (const sp::DataError& e) {
        EXPECT_EQ(std::string(e.what()), mismatch);
        EXPECT_EQ(e.exit_code(), 2);
    }
    const sp::DataSplits accepted = sp::read_source("cifar10", dir.path(), {}, 1,
                                                    /*allow_unverified=*/true);
    EXPECT_EQ(accepted.verification,
              "UNVERIFIED: " + mismatch + "; accepted with --allow-unverified");

    // sp_prepare: exit 2 naming the file and both digests, no cache; with the flag, recorded.
    const std::string out = dir.file("cifar.h5");
    const auto refused = sp::test::run({sp::test::app("sp_prepare"), "cifar10", dir.path(), out});
    EXPECT_EQ(refused.exit_code, 2);
    EXPECT_EQ(refused.err, "sp_prepare: " + mismatch + "\n");
    EXPECT_FALSE(exists(out));
    const auto allowed = sp::test::run(
        {sp::test::app("sp_prepare"), "cifar10", dir.path(), out, "--allow-unverified"});
    ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
    EXPECT_EQ(sp::read_cache_info(out).verification, accepted.verification);
}

TEST(Checksums, ArchiveAgainstThePublishedMd5) {
    // The published values (cifar.html; the Tiny ImageNet zip's as public loaders check it).
    ASSERT_NE(sp::published_archive("cifar10"), nullptr);
    EXPECT_STREQ(sp::published_archive("cifar10")->md5, "c32a1d4ab5d03f1284b67883e8d87530");
    EXPECT_STREQ(sp::published_archive("cifar10")->file_name, "cifar-10-binary.tar.gz");
    ASSERT_NE(sp::published_archive("tiny-imagenet"), nullptr);
    EXPECT_STREQ(sp::published_archive("tiny-imagenet")->md5, "90528d7ca1a48142e341f4ef8d21d0de");
    EXPECT_EQ(sp::published_archive("fashion-mnist"), nullptr);

    TempDir data("cifar");
    write_small_cifar(data);
    TempDir dir("archive");
    const std::string archive = dir.write("cifar-10-binary.tar.gz", "not the published archive");
    const std::string found = shell("md5sum '" + archive + "'").substr(0, 32);
    const std::string out = dir.file("cifar.h5");
    const std::string app = sp::test::app("sp_prepare");
    const auto refused = sp::test::run({app, "cifar10", data.path(), out, "--archive", archive});
    EXPECT_EQ(refused.exit_code, 2);
    EXPECT_TRUE(contains(refused.err, archive +
                                          ": MD5 mismatch: expected "
                                          "c32a1d4ab5d03f1284b67883e8d87530 (cifar-10-binary.tar."
                                          "gz, https://www.cs.toronto.edu/~kriz/cifar.html), "
                                          "found " +
                                          found))
        << refused.err;
    EXPECT_FALSE(exists(out));
    const auto no_value = sp::test::run({app, "synthetic", "-", out, "--archive", archive});
    EXPECT_EQ(no_value.exit_code, 2) << "no published checksum for synthetic data";

    const auto allowed = sp::test::run(
        {app, "cifar10", data.path(), out, "--archive", archive, "--allow-unverified"});
    ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
    const std::string recorded = sp::read_cache_info(out).verification;
    EXPECT_EQ(recorded.rfind("UNVERIFIED: " + archive + ": MD5 mismatch", 0), 0U) << recorded;
    const auto v = sp::test::run({sp::test::app("sp_validate"), out});
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;

    // What a replicate records: the cache's bytes by SHA-256 (coreutils), its verification and
    // source checksum as the cache recorded them.
    sp::DatasetConfig cfg;
    cfg.name = "cifar10";
    cfg.root = data.path();
    cfg.cache = out;
    const sp::DataSplits cached = sp::load_dataset(cfg, 0);
    EXPECT_EQ(cached.cache_sha256, shell("sha256sum '" + out + "'").substr(0, 64));
    EXPECT_EQ(cached.verification, recorded);
    EXPECT_EQ(cached.checksum, sp::read_source("cifar10", data.path(), {}).checksum);
    cfg.cache.clear();
    EXPECT_EQ(sp::load_dataset(cfg, 0).cache_sha256, "") << "read from the source";
}

} // namespace
