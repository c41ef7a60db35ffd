// HDF5 files from elsewhere: an external link (directly, on a parent group, or behind a soft
// link), a virtual dataset, external storage and a declared extent larger than memory are refused
// with an IoError (exit 2) naming the file and the object, in the h5 layer and through each
// reader: sp_analyze, sp_validate and the dataset cache. --allow-external-links lets links
// through; regular files still work. The hostile files are written with the HDF5 C API.
#include "sp/data/cache.hpp"
#include "sp/data/readers.hpp"
#include "sp/io/h5.hpp"
#include "sp/util/error.hpp"

#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace h5 = sp::h5;
using sp::IoError;
using sp::test::app;
using sp::test::run;
using sp::test::TempDir;

namespace {

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

template <class F> std::string io_error(F&& f) {
    try {
        f();
    } catch (const IoError& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected sp::IoError";
    return "";
}

// ---- hostile files, with the C API ----------------------------------------------------------

// Opens `file` read-write for the duration of `edit(fid)`; deletes `path` first if it exists.
template <class F> void edit(const std::string& file, const std::string& path, F&& edit_file) {
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0) << file;
    if (H5Lexists(f, path.c_str(), H5P_DEFAULT) > 0) {
        ASSERT_GE(H5Ldelete(f, path.c_str(), H5P_DEFAULT), 0);
    }
    edit_file(f);
    ASSERT_GE(H5Fclose(f), 0);
}

hid_t intermediate_groups() {
    const hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    return lcpl;
}

// `path` in `file` becomes an external link to `target_file`:`target_object`.
void link_external(const std::string& file, const std::string& path, const std::string& target_file,
                   const std::string& target_object) {
    edit(file, path, [&](hid_t f) {
        const hid_t lcpl = intermediate_groups();
        EXPECT_GE(H5Lcreate_external(target_file.c_str(), target_object.c_str(), f, path.c_str(),
                                     lcpl, H5P_DEFAULT),
                  0);
        H5Pclose(lcpl);
    });
}

// `path` in `file` becomes a chunked dataset of `dims` that was never written: a file of a few
// KiB whose dataset reads as dims' product of fill values.
void declare_huge(const std::string& file, const std::string& path,
                  const std::vector<hsize_t>& dims, hid_t type) {
    edit(file, path, [&](hid_t f) {
        const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
        const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        std::vector<hsize_t> chunk(dims.size(), 1);
        chunk.back() = std::min<hsize_t>(dims.back(), 512);
        H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
        const hid_t lcpl = intermediate_groups();
        const hid_t d = H5Dcreate2(f, path.c_str(), type, space, lcpl, dcpl, H5P_DEFAULT);
        EXPECT_GE(d, 0) << path;
        H5Dclose(d);
        H5Pclose(lcpl);
        H5Pclose(dcpl);
        H5Sclose(space);
    });
}

// An ordinary file sp reads: /eval/embeddings (n x d float32), /eval/labels (n int64, 3 classes).
std::string embeddings_file(const std::string& path, float base = 0.0F) {
    const std::uint64_t n = 30;
    const std::uint64_t d = 4;
    std::vector<float> x(n * d);
    std::vector<std::int64_t> y(n);
    for (std::uint64_t i = 0; i < n; ++i) {
        y[i] = static_cast<std::int64_t>(i % 3);
        for (std::uint64_t j = 0; j < d; ++j) {
            x[i * d + j] =
                base + static_cast<float>(y[i] * 10) + static_cast<float>((i * 7 + j) % 5);
        }
    }
    h5::File f = h5::File::create(path);
    f.write<float>("/eval/embeddings", x, {n, d});
    f.write<std::int64_t>("/eval/labels", y);
    f.close();
    return path;
}

// Restores the default ReadPolicy when a test leaves.
class PolicyGuard {
  public:
    PolicyGuard() = default;
    ~PolicyGuard() { h5::set_read_policy({}); }
    PolicyGuard(const PolicyGuard&) = delete;
    PolicyGuard& operator=(const PolicyGuard&) = delete;
};

// ---- the h5 layer ---------------------------------------------------------------------------

TEST(UntrustedH5, ExternalLinksAreRefusedWhereverTheyAre) {
    TempDir dir;
    const PolicyGuard guard;
    const std::string other = embeddings_file(dir.file("other.h5"), 100.0F);
    const std::string direct = embeddings_file(dir.file("direct.h5"));
    link_external(direct, "/eval/embeddings", other, "/eval/embeddings");
    const std::string group = embeddings_file(dir.file("group.h5"));
    link_external(group, "/eval", other, "/eval");
    const std::string soft = embeddings_file(dir.file("soft.h5"));
    link_external(soft, "/elsewhere", other, "/eval");
    edit(soft, "/eval/embeddings", [](hid_t f) {
        EXPECT_GE(H5Lcreate_soft("/elsewhere/embeddings", f, "/eval/embeddings", H5P_DEFAULT,
                                 H5P_DEFAULT),
                  0);
    });

    std::string m = io_error([&] {
        h5::File::open(direct).read<float>("/eval/embeddings", {30, 4});
    });
    EXPECT_TRUE(contains(m, direct + ": /eval/embeddings: is an external link to " + other +
                                ":/eval/embeddings"))
        << m;
    EXPECT_TRUE(contains(m, "--allow-external-links")) << m;
    m = io_error([&] { h5::File::open(direct).exists("/eval/embeddings"); });
    EXPECT_TRUE(contains(m, "/eval/embeddings: is an external link")) << m;
    // The regular dataset beside it still reads.
    EXPECT_EQ(h5::File::open(direct).read<std::int64_t>("/eval/labels").size(), 30U);

    m = io_error([&] { h5::File::open(group).read<std::int64_t>("/eval/labels"); });
    EXPECT_TRUE(contains(m, group + ": /eval: is an external link to " + other)) << m;
    m = io_error([&] { h5::File::open(group).open_group("/eval"); });
    EXPECT_TRUE(contains(m, group + ": /eval: is an external link")) << m;

    m = io_error([&] { h5::File::open(soft).read<float>("/eval/embeddings", {30, 4}); });
    EXPECT_TRUE(contains(m, soft + ": /eval/embeddings: leads through an external link to " +
                                other + ":/eval"))
        << m;

    h5::ReadPolicy allow;
    allow.allow_external = true;
    h5::set_read_policy(allow);
    const std::vector<float> expected =
        h5::File::open(other).read<float>("/eval/embeddings", {30, 4});
    EXPECT_EQ(h5::File::open(direct).read<float>("/eval/embeddings", {30, 4}), expected);
    EXPECT_EQ(h5::File::open(group).read<float>("/eval/embeddings", {30, 4}), expected);
    EXPECT_EQ(h5::File::open(soft).read<float>("/eval/embeddings", {30, 4}), expected);
}

// A soft link on its own stays inside the file and is followed.
TEST(UntrustedH5, SoftLinksInsideTheFileAreFollowed) {
    TempDir dir;
    const std::string path = embeddings_file(dir.file("soft.h5"));
    edit(path, "/alias", [](hid_t f) {
        EXPECT_GE(H5Lcreate_soft("/eval/labels", f, "/alias", H5P_DEFAULT, H5P_DEFAULT), 0);
    });
    const h5::File f = h5::File::open(path);
    EXPECT_EQ(f.read<std::int64_t>("/alias"), f.read<std::int64_t>("/eval/labels"));
}

TEST(UntrustedH5, VirtualAndExternallyStoredDatasetsAreRefused) {
    TempDir dir;
    const PolicyGuard guard;
    const std::string source = embeddings_file(dir.file("source.h5"));
    const std::string raw = dir.write("raw.bin", std::string(40, '\x01'));
    const std::string path = embeddings_file(dir.file("vds.h5"));
    edit(path, "/virtual", [&](hid_t f) {
        const hsize_t n = 30;
        const hid_t space = H5Screate_simple(1, &n, nullptr);
        const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        EXPECT_GE(H5Pset_virtual(dcpl, space, source.c_str(), "/eval/labels", space), 0);
        const hid_t d =
            H5Dcreate2(f, "/virtual", H5T_STD_I64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        EXPECT_GE(d, 0);
        H5Dclose(d);
        H5Pclose(dcpl);
        H5Sclose(space);
    });
    edit(path, "/outside", [&](hid_t f) {
        const hsize_t n = 40;
        const hid_t space = H5Screate_simple(1, &n, nullptr);
        const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        EXPECT_GE(H5Pset_external(dcpl, raw.c_str(), 0, 40), 0);
        const hid_t d =
            H5Dcreate2(f, "/outside", H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        EXPECT_GE(d, 0);
        H5Dclose(d);
        H5Pclose(dcpl);
        H5Sclose(space);
    });
    std::string m = io_error([&] { h5::File::open(path).read<std::int64_t>("/virtual"); });
    EXPECT_TRUE(contains(m, path + ": /virtual: is a virtual dataset")) << m;
    m = io_error([&] { h5::File::open(path).read<std::uint8_t>("/outside"); });
    EXPECT_TRUE(contains(m, path + ": /outside: stores its data in 1 external file")) << m;

    h5::ReadPolicy allow;
    allow.allow_external = true;
    h5::set_read_policy(allow);
    EXPECT_EQ(h5::File::open(path).read<std::int64_t>("/virtual"),
              h5::File::open(source).read<std::int64_t>("/eval/labels"));
    EXPECT_EQ(h5::File::open(path).read<std::uint8_t>("/outside"),
              std::vector<std::uint8_t>(40, 1));
}

// Rule: every read path checks the declared extent before it allocates; the message names the
// dataset, its shape and the bytes needed.
TEST(UntrustedH5, ExtentsLargerThanMemoryAreRefusedBeforeAllocating) {
    TempDir dir;
    const PolicyGuard guard;
    const std::string path = embeddings_file(dir.file("huge.h5"));
    declare_huge(path, "/eval/embeddings", {200000000, 512}, H5T_IEEE_F32LE);
    declare_huge(path, "/overflow", {1ULL << 40U, 1ULL << 40U}, H5T_STD_I64LE); // 2^80 elements
    h5::File f = h5::File::open(path);
    const std::string prefix = path + ": /eval/embeddings: shape [200000000, 512] of float32 needs";
    std::string m = io_error([&] { f.read<float>("/eval/embeddings", {h5::kAnyDim, 512}); });
    EXPECT_TRUE(contains(m, prefix + " 381.5 GiB of memory to read")) << m;
    m = io_error([&] { f.read_array<float>("/eval/embeddings"); });
    EXPECT_TRUE(contains(m, prefix)) << m;
    m = io_error([&] { f.open_dataset("/eval/embeddings").read<float>(); });
    EXPECT_TRUE(contains(m, prefix)) << m;
    m = io_error([&] { f.open_dataset("/eval/embeddings").read_rows<float>(0, 200000000); });
    EXPECT_TRUE(contains(m, prefix)) << m;
    // A block of rows that fits still reads (the fill value).
    EXPECT_EQ(f.open_dataset("/eval/embeddings").read_rows<float>(5, 2),
              std::vector<float>(2 * 512, 0.0F));

    // Extents whose product overflows 64 bits.
    m = io_error([&] { f.read<std::int64_t>("/overflow", {h5::kAnyDim, h5::kAnyDim}); });
    EXPECT_TRUE(contains(m, "/overflow: shape [1099511627776, 1099511627776] of int64 needs more "
                            "than 16 EiB"))
        << m;

    // An explicit limit applies to every read, attributes included.
    h5::ReadPolicy small;
    small.max_read_bytes = 100;
    h5::set_read_policy(small);
    f.close();
    h5::File w = h5::File::open(path, h5::Access::read_write);
    w.write_attribute("values", std::vector<double>(20, 1.0));
    m = io_error([&] { w.read_attribute_vector<double>("values"); });
    EXPECT_TRUE(contains(m, path + ": /@values: shape [20] of float64 needs 160 bytes of memory "
                                   "to read, more than the 100 bytes allowed"))
        << m;
    small.max_read_bytes = 160;
    h5::set_read_policy(small);
    EXPECT_EQ(w.read_attribute_vector<double>("values"), std::vector<double>(20, 1.0));
}

// ---- the readers ----------------------------------------------------------------------------

TEST(UntrustedH5, SpAnalyzeRefusesLinksAndHugeExtentsWithExit2) {
    TempDir dir;
    const std::string other = embeddings_file(dir.file("other.h5"), 100.0F);
    const std::string linked = embeddings_file(dir.file("linked.h5"));
    link_external(linked, "/eval/embeddings", other, "/eval/embeddings");
    const std::string huge = embeddings_file(dir.file("huge.h5"));
    declare_huge(huge, "/eval/embeddings", {200000000, 512}, H5T_IEEE_F32LE);
    const std::string plain = embeddings_file(dir.file("plain.h5"));
    const std::string analyze = app("sp_analyze");
    const std::vector<std::string> fast = {"--set", "metrics.tsne.enabled=false", "--quiet"};
    auto args = [&](std::vector<std::string> a) {
        a.insert(a.begin(), analyze);
        a.insert(a.end(), fast.begin(), fast.end());
        return a;
    };

    sp::test::RunResult r = run(args({linked}));
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(contains(r.err, linked + ": /eval/embeddings: is an external link to " + other))
        << r.err;
    r = run(args({huge}));
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(contains(r.err, huge + ": /eval/embeddings: shape [200000000, 512] of float32 "
                                       "needs 381.5 GiB of memory to read"))
        << r.err;
    EXPECT_FALSE(contains(r.err, "bad_alloc")) << r.err;

    r = run(args({plain}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = run(args({linked, "--allow-external-links", "-o", dir.file("out.h5")}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

// A file sp itself writes and validates (a dataset cache), then the same with its images behind
// an external link or declared far larger than memory.
TEST(UntrustedH5, SpValidateAndTheDatasetCacheRefuseLinksAndHugeExtents) {
    TempDir dir;
    const sp::DataSplits d = sp::make_synthetic(
        {/*classes=*/3, /*train_size=*/50, /*eval_size=*/20, /*image_size=*/8, /*channels=*/3});
    const std::string plain = dir.file("plain.h5");
    sp::write_cache(d, plain);
    const std::string linked = dir.file("linked.h5");
    sp::write_cache(d, linked);
    link_external(linked, "/train/images", plain, "/train/images");
    const std::string huge = dir.file("huge.h5");
    sp::write_cache(d, huge);
    declare_huge(huge, "/train/images", {50, 3, 100000, 100000}, H5T_STD_U8LE);
    const std::string validate = app("sp_validate");

    sp::test::RunResult r = run({validate, plain});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    r = run({validate, linked});
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_TRUE(contains(r.out + r.err, "/train/images: is an external link to " + plain))
        << r.out << r.err;
    r = run({validate, "--allow-external-links", linked});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    // sp_validate reads no dataset values: the huge extent is reported against the schema.
    r = run({validate, huge});
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_TRUE(contains(r.out + r.err, "/train/images")) << r.out << r.err;

    EXPECT_EQ(sp::read_cache(plain).train.labels, d.train.labels);
    std::string m = io_error([&] { sp::read_cache(linked); });
    EXPECT_TRUE(contains(m, linked + ": /train/images: is an external link to " + plain)) << m;
    m = io_error([&] { sp::read_cache(huge); });
    EXPECT_TRUE(contains(m, huge + ": /train/images: shape [50, 3, 100000, 100000] of uint8 needs "
                                   "1.4 TiB of memory to read"))
        << m;
}

} // namespace
