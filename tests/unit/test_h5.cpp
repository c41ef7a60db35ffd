// io/h5: round trips of every helper, and the errors a reader gets for the wrong file, dtype,
// shape or path.
#include "sp/io/h5.hpp"
#include "sp/util/error.hpp"

#include "support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <sys/stat.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

namespace h5 = sp::h5;
using sp::IoError;
using sp::test::TempDir;

namespace {

// Runs `f`, expecting an IoError whose message contains every one of `parts`.
template <class F> void expect_io_error(F&& f, const std::vector<std::string>& parts) {
    try {
        f();
        ADD_FAILURE() << "expected sp::IoError";
    } catch (const IoError& e) {
        const std::string message = e.what();
        for (const std::string& p : parts) {
            EXPECT_NE(message.find(p), std::string::npos)
                << "message lacks '" << p << "': " << message;
        }
    }
}

// Distinct values of T that include the type's extremes.
template <class T> std::vector<T> sample(std::size_t n) {
    std::vector<T> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<T>(i * 7 % 101);
    if (n >= 2) {
        v[0] = std::numeric_limits<T>::lowest();
        v[1] = std::numeric_limits<T>::max();
    }
    if constexpr (std::is_floating_point_v<T>) {
        if (n >= 4) {
            v[2] = std::numeric_limits<T>::denorm_min();
            v[3] = -std::numeric_limits<T>::infinity();
        }
    } else if constexpr (std::is_signed_v<T>) {
        if (n >= 3) v[2] = T{-1};
    }
    return v;
}

std::uint64_t file_size(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    return static_cast<std::uint64_t>(st.st_size);
}

// ---- names --------------------------------------------------------------------------------------

TEST(H5Names, DtypeNamesRoundTrip) {
    for (const h5::Dtype d :
         {h5::Dtype::float32, h5::Dtype::float64, h5::Dtype::int32, h5::Dtype::int64,
          h5::Dtype::uint8, h5::Dtype::uint64, h5::Dtype::string}) {
        EXPECT_EQ(h5::parse_dtype(h5::to_string(d)), d);
    }
    EXPECT_FALSE(h5::parse_dtype("int16").has_value());
    EXPECT_FALSE(h5::parse_dtype("Float32").has_value());
}

TEST(H5Names, ShapeFormatAndCount) {
    EXPECT_EQ(h5::to_string(h5::Shape{}), "[]");
    EXPECT_EQ(h5::to_string(h5::Shape{100, 512}), "[100, 512]");
    EXPECT_EQ(h5::to_string(h5::Shape{0, h5::kUnlimited}), "[0, inf]");
    EXPECT_EQ(h5::element_count({}), 1U);
    EXPECT_EQ(h5::element_count({3, 0, 2}), 0U);
    EXPECT_EQ(h5::element_count({2, 3, 4}), 24U);
}

// ---- numeric datasets and attributes, every dtype
// ------------------------------------------------

template <class T> class H5Numeric : public ::testing::Test {};
using NumericTypes =
    ::testing::Types<float, double, std::int32_t, std::int64_t, std::uint8_t, std::uint64_t>;
TYPED_TEST_SUITE(H5Numeric, NumericTypes);

// Rule: a dataset of any rank reads back bit for bit, with its shape and dtype.
TYPED_TEST(H5Numeric, DatasetRoundTripRanks0To3) {
    using T = TypeParam;
    TempDir dir;
    const std::string path = dir.file("r.h5");
    const std::vector<h5::Shape> shapes = {{}, {7}, {3, 5}, {2, 3, 4}, {0}, {4, 0}};
    {
        h5::File f = h5::File::create(path);
        for (std::size_t i = 0; i < shapes.size(); ++i) {
            f.write<T>("/d" + std::to_string(i), sample<T>(h5::element_count(shapes[i])),
                       shapes[i]);
        }
        f.write_scalar<T>("/scalar", T{42});
    }
    const h5::File f = h5::File::open(path);
    for (std::size_t i = 0; i < shapes.size(); ++i) {
        const std::string name = "/d" + std::to_string(i);
        const h5::Array<T> a = f.read_array<T>(name);
        EXPECT_EQ(a.shape, shapes[i]) << name;
        const std::vector<T> expected = sample<T>(h5::element_count(shapes[i]));
        ASSERT_EQ(a.data.size(), expected.size());
        EXPECT_EQ(std::memcmp(a.data.data(), expected.data(), expected.size() * sizeof(T)), 0);
        EXPECT_EQ(f.dtype(name).dtype, h5::dtype_of<T>());
        EXPECT_EQ(f.dtype(name).name, h5::to_string(h5::dtype_of<T>()));
        EXPECT_EQ(f.shape(name), shapes[i]);
        EXPECT_EQ(f.read<T>(name, shapes[i]), expected);
    }
    EXPECT_EQ(f.read<T>("/d1"), sample<T>(7));
    EXPECT_EQ(f.read_scalar<T>("/scalar"), T{42});
    EXPECT_EQ(f.read_scalar<T>("/d0"), sample<T>(1).front());
}

TYPED_TEST(H5Numeric, AttributeRoundTripScalarAndVector) {
    using T = TypeParam;
    TempDir dir;
    const std::string path = dir.file("a.h5");
    {
        h5::File f = h5::File::create(path);
        f.write_attribute<T>("scalar", T{9});
        f.write_attribute<T>("vector", sample<T>(6));
        f.write_attribute<T>("empty", std::vector<T>{});
        h5::Dataset ds = f.write<T>("/data", sample<T>(3));
        ds.write_attribute<T>("on_dataset", T{1});
    }
    const h5::File f = h5::File::open(path);
    EXPECT_EQ(f.read_attribute<T>("scalar"), T{9});
    EXPECT_EQ(f.read_attribute_vector<T>("vector"), sample<T>(6));
    EXPECT_TRUE(f.read_attribute_vector<T>("empty").empty());
    EXPECT_EQ(f.attribute_shape("scalar"), h5::Shape{});
    EXPECT_EQ(f.attribute_shape("vector"), h5::Shape{6});
    EXPECT_EQ(f.attribute_type("vector").dtype, h5::dtype_of<T>());
    EXPECT_EQ(f.open_dataset("/data").read_attribute<T>("on_dataset"), T{1});
}

// Rule: a read asks for one dtype and gets exactly it; any other is an IoError naming the file,
// the path, what was found and what was expected.
TYPED_TEST(H5Numeric, WrongDtypeIsAnErrorNotAConversion) {
    using T = TypeParam;
    using Other = std::conditional_t<std::is_same_v<T, double>, float, double>;
    TempDir dir;
    const std::string path = dir.file("w.h5");
    {
        h5::File f = h5::File::create(path);
        f.write<T>("/eval/labels", sample<T>(4));
        f.write_attribute<T>("attr", T{1});
    }
    const h5::File f = h5::File::open(path);
    const std::string found = h5::to_string(h5::dtype_of<T>());
    const std::string asked = h5::to_string(h5::dtype_of<Other>());
    expect_io_error([&] { f.read<Other>("/eval/labels"); },
                    {path, "/eval/labels", "dtype is " + found, "expected " + asked});
    expect_io_error([&] { f.read_array<Other>("/eval/labels"); }, {path, "/eval/labels", found});
    expect_io_error([&] { f.open_dataset("/eval/labels").read_rows<Other>(0, 1); },
                    {"/eval/labels", found});
    expect_io_error([&] { f.read<std::string>("/eval/labels"); }, {"expected string"});
    expect_io_error([&] { f.read_attribute<Other>("attr"); },
                    {path, "/@attr", "dtype is " + found, "expected " + asked});
}

// ---- shapes -----------------------------------------------------------------------------------

TEST(H5Shape, WrongShapeIsAnErrorNamingBoth) {
    TempDir dir;
    const std::string path = dir.file("s.h5");
    {
        h5::File f = h5::File::create(path);
        f.write<float>("/eval/embeddings", std::vector<float>(12), {4, 3});
        f.write<std::int64_t>("/eval/labels", std::vector<std::int64_t>(100));
        f.write_attribute("vec", std::vector<double>{1, 2});
    }
    const h5::File f = h5::File::open(path);
    expect_io_error([&] { f.read<std::int64_t>("/eval/labels", {99}); },
                    {path, "/eval/labels", "shape is [100]", "expected [99]"});
    expect_io_error(
        [&] {
            f.read<float>("/eval/embeddings", {4, 4});
        },
        {"/eval/embeddings", "shape is [4, 3]", "expected [4, 4]"});
    expect_io_error([&] { f.read<float>("/eval/embeddings"); }, {"shape is [4, 3]", "[*]"});
    expect_io_error([&] { f.read_scalar<float>("/eval/embeddings"); }, {"expected []"});
    expect_io_error([&] { f.read_attribute<double>("vec"); }, {"/@vec", "expected a scalar"});
    EXPECT_EQ(f.read<float>("/eval/embeddings", {h5::kAnyDim, 3}).size(), 12U);
}

// ---- strings ----------------------------------------------------------------------------------

TEST(H5Strings, VariableLengthUtf8RoundTrip) {
    TempDir dir;
    const std::string path = dir.file("str.h5");
    const std::vector<std::string> words = {"",
                                            "cat",
                                            "naïve café",
                                            "日本語テキスト",
                                            "emoji 🐢🚀",
                                            "tab\tnewline\n",
                                            std::string(5000, 'x')};
    {
        h5::File f = h5::File::create(path);
        f.write<std::string>("/eval/class_names", words);
        f.write<std::string>("/grid", {"a", "", "ç", "d", "é", "f"}, {2, 3});
        f.write<std::string>("/none", {});
        f.write_scalar<std::string>("/one", "Grüße");
        f.write_attribute("layer", "avgpool");
        f.write_attribute("utf8", std::string("μ-σ ∑"));
        f.write_attribute("blank", "");
        f.write_attribute("list", words);
    }
    const h5::File f = h5::File::open(path);
    EXPECT_EQ(f.read<std::string>("/eval/class_names"), words);
    EXPECT_EQ(f.read<std::string>("/grid", {2, 3}),
              (std::vector<std::string>{"a", "", "ç", "d", "é", "f"}));
    EXPECT_TRUE(f.read<std::string>("/none").empty());
    EXPECT_EQ(f.read_scalar<std::string>("/one"), "Grüße");
    EXPECT_EQ(f.read_attribute<std::string>("layer"), "avgpool");
    EXPECT_EQ(f.read_attribute<std::string>("utf8"), "μ-σ ∑");
    EXPECT_EQ(f.read_attribute<std::string>("blank"), "");
    EXPECT_EQ(f.read_attribute_vector<std::string>("list"), words);
    EXPECT_EQ(f.dtype("/eval/class_names").name, "string");
    EXPECT_EQ(f.attribute_type("layer").dtype, h5::Dtype::string);
    expect_io_error([&] { f.read<std::int64_t>("/eval/class_names"); },
                    {"/eval/class_names", "dtype is string", "expected int64"});
}

// Rule: strings in fixed-length HDF5 types (what some other writers produce) read as strings.
TEST(H5Strings, FixedLengthStringsAreReadToo) {
    TempDir dir;
    const std::string path = dir.file("fixed.h5");
    {
        h5::File f = h5::File::create(path);
        const hid_t type = H5Tcopy(H5T_C_S1);
        H5Tset_size(type, 6);
        H5Tset_strpad(type, H5T_STR_NULLPAD);
        const hsize_t dims[1] = {3};
        const hid_t space = H5Screate_simple(1, dims, nullptr);
        const hid_t ds =
            H5Dcreate2(f.id(), "fixed", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        const char data[18] = {'a', 'b', 'c', 0, 0, 0, 'l', 'o', 'n',
                               'g', 'e', 's', 0, 0, 0, 0,   0,   0};
        ASSERT_GE(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
        const hid_t aspace = H5Screate(H5S_SCALAR);
        const hid_t attr = H5Acreate2(f.id(), "fixed_attr", type, aspace, H5P_DEFAULT, H5P_DEFAULT);
        ASSERT_GE(H5Awrite(attr, type, "xyz\0\0\0"), 0);
        H5Aclose(attr);
        H5Sclose(aspace);
        H5Dclose(ds);
        H5Sclose(space);
        H5Tclose(type);
    }
    const h5::File f = h5::File::open(path);
    EXPECT_EQ(f.read<std::string>("/fixed"), (std::vector<std::string>{"abc", "longes", ""}));
    EXPECT_EQ(f.read_attribute<std::string>("fixed_attr"), "xyz");
}

// ---- groups, paths, queries -------------------------------------------------------------------

TEST(H5Groups, CreateOpenExistsAndList) {
    TempDir dir;
    const std::string path = dir.file("g.h5");
    h5::File f = h5::File::create(path);
    h5::Group seeds = f.create_group("/provenance/seeds");
    EXPECT_EQ(seeds.path(), "/provenance/seeds");
    seeds.write_attribute<std::uint64_t>("seed_pool", 7);
    h5::Group eval = f.require_group("eval");
    eval.write<float>("embeddings", {1, 2, 3, 4}, {2, 2});
    EXPECT_EQ(eval.read<float>("embeddings", {2, 2}), (std::vector<float>{1, 2, 3, 4}));
    EXPECT_EQ(f.require_group("/eval").path(), "/eval");

    EXPECT_TRUE(f.exists("/"));
    EXPECT_TRUE(f.exists("/provenance"));
    EXPECT_TRUE(f.exists("provenance/seeds"));
    EXPECT_TRUE(f.exists("/eval/embeddings"));
    EXPECT_TRUE(eval.exists("embeddings"));
    EXPECT_FALSE(f.exists("/missing"));
    EXPECT_FALSE(f.exists("/missing/deeper/still"));
    EXPECT_FALSE(f.exists("/eval/embeddings/not_a_group_member"));
    EXPECT_EQ(f.object_type("/eval"), h5::ObjectType::group);
    EXPECT_EQ(f.object_type("/eval/embeddings"), h5::ObjectType::dataset);
    EXPECT_EQ(f.object_type("/nope"), h5::ObjectType::none);
    EXPECT_EQ(f.links(), (std::vector<std::string>{"eval", "provenance"}));
    EXPECT_TRUE(seeds.has_attribute("seed_pool"));
    EXPECT_FALSE(seeds.has_attribute("seed_init"));

    f.write_attribute("b", 1);
    f.write_attribute("a", 2);
    f.write_attribute("a", std::string("replaced"));
    EXPECT_EQ(f.attribute_names(), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(f.read_attribute<std::string>("a"), "replaced");
    f.remove_attribute("b");
    EXPECT_FALSE(f.has_attribute("b"));
    f.remove("/eval/embeddings");
    EXPECT_FALSE(f.exists("/eval/embeddings"));

    expect_io_error([&] { f.create_group("/provenance"); }, {path, "/provenance", "exists"});
    expect_io_error([&] { f.open_group("/nope"); }, {path, "/nope", "no such group"});
    expect_io_error([&] { f.open_dataset("/eval"); }, {path, "/eval", "not a dataset"});
    expect_io_error([&] { f.open_dataset("/eval/x"); }, {path, "/eval/x", "no such dataset"});
    expect_io_error([&] { f.read_attribute<std::int32_t>("nope"); }, {"/@nope", "no such"});
    expect_io_error([&] { f.remove("/nope"); }, {"/nope"});
    expect_io_error([&] { f.write<float>("/eval", {1.0F}); }, {"/eval", "already exists"});
}

// ---- chunking, compression, row blocks ---------------------------------------------------------

TEST(H5Chunked, CompressedChunkedDatasetRoundTrips) {
    TempDir dir;
    const std::string packed = dir.file("packed.h5");
    const std::string plain = dir.file("plain.h5");
    std::vector<float> values(2000 * 64);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 64);
    {
        h5::File f = h5::File::create(packed);
        h5::DatasetOptions opts;
        opts.chunk = {100, 64};
        opts.deflate = 6;
        opts.shuffle = true;
        const h5::Dataset ds = f.write<float>("/emb", values, {2000, 64}, opts);
        EXPECT_EQ(ds.chunk(), (h5::Shape{100, 64}));
        EXPECT_EQ(ds.deflate_level(), 6);
        h5::DatasetOptions auto_chunked;
        auto_chunked.deflate = 1;
        const h5::Dataset ds2 = f.write<float>("/auto", values, {2000, 64}, auto_chunked);
        EXPECT_EQ(ds2.chunk().size(), 2U);
        EXPECT_EQ(ds2.chunk()[1], 64U);
        EXPECT_EQ(ds2.deflate_level(), 1);
    }
    {
        h5::File f = h5::File::create(plain);
        const h5::Dataset ds = f.write<float>("/emb", values, {2000, 64});
        EXPECT_TRUE(ds.chunk().empty());
        EXPECT_FALSE(ds.deflate_level().has_value());
    }
    EXPECT_LT(file_size(packed), file_size(plain) / 2);
    const h5::File f = h5::File::open(packed);
    EXPECT_EQ(f.read<float>("/emb", {2000, 64}), values);
    EXPECT_EQ(f.read<float>("/auto", {2000, 64}), values);
}

TEST(H5Chunked, BadOptionsAreErrors) {
    TempDir dir;
    h5::File f = h5::File::create(dir.file("bad.h5"));
    h5::DatasetOptions level;
    level.deflate = 10;
    expect_io_error([&] { f.create_dataset("/a", h5::Dtype::float32, {4}, level); },
                    {"/a", "deflate level 10"});
    h5::DatasetOptions rank;
    rank.chunk = {2, 2};
    expect_io_error([&] { f.create_dataset("/b", h5::Dtype::float32, {4}, rank); }, {"/b"});
    h5::DatasetOptions scalar;
    scalar.deflate = 4;
    expect_io_error([&] { f.create_dataset("/c", h5::Dtype::int32, {}, scalar); }, {"/c"});
    // Chunks larger than a fixed extent are clamped; empty fixed datasets stay contiguous.
    h5::DatasetOptions big;
    big.chunk = {1024, 8};
    big.deflate = 4;
    EXPECT_EQ(f.create_dataset("/d", h5::Dtype::float32, {10, 8}, big).chunk(), (h5::Shape{10, 8}));
    EXPECT_EQ(f.write<float>("/e", {}, {0, 8}, big).shape(), (h5::Shape{0, 8}));
}

// Rule: an extendible dataset grows as row blocks arrive; blocks read back where they were put.
TEST(H5Rows, ExtendibleDatasetTakesRowBlocks) {
    TempDir dir;
    const std::string path = dir.file("rows.h5");
    const std::uint64_t d = 8;
    auto block = [&](std::uint64_t first, std::uint64_t rows) {
        std::vector<float> v(rows * d);
        for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(first * d + i);
        return v;
    };
    {
        h5::File f = h5::File::create(path);
        h5::DatasetOptions opts;
        opts.max_shape = {h5::kUnlimited, d};
        opts.chunk = {4, d};
        opts.deflate = 3;
        h5::Dataset ds = f.create_dataset("/eval/embeddings", h5::Dtype::float32, {0, d}, opts);
        EXPECT_EQ(ds.max_shape(), (h5::Shape{h5::kUnlimited, d}));
        ds.write_rows<float>(0, block(0, 3));
        ds.write_rows<float>(3, block(3, 5));
        EXPECT_EQ(ds.shape(), (h5::Shape{8, d}));
        ds.write_rows<float>(10, block(10, 1)); // leaves rows 8 and 9 at the fill value 0
        EXPECT_EQ(ds.shape(), (h5::Shape{11, d}));
        expect_io_error([&] { ds.write_rows<double>(0, std::vector<double>(d)); },
                        {"/eval/embeddings", "dtype is float32"});

        h5::DatasetOptions strings;
        strings.max_shape = {h5::kUnlimited};
        h5::Dataset names = f.create_dataset("/names", h5::Dtype::string, {0}, strings);
        names.write_rows<std::string>(0, {"a", "β"});
        names.write_rows<std::string>(2, {"γ"});

        h5::Dataset fixed = f.create_dataset("/fixed", h5::Dtype::int64, {6, 2});
        fixed.write_rows<std::int64_t>(0, {0, 1, 2, 3});
        fixed.write_rows<std::int64_t>(2, {4, 5, 6, 7, 8, 9, 10, 11});
        expect_io_error(
            [&] {
                fixed.write_rows<std::int64_t>(5, {1, 2, 3, 4});
            },
            {"/fixed", "rows [5, 7)", "6 rows"});
    }
    const h5::File f = h5::File::open(path);
    const h5::Dataset ds = f.open_dataset("/eval/embeddings");
    EXPECT_EQ(ds.read_rows<float>(2, 3), block(2, 3));
    EXPECT_EQ(ds.read_rows<float>(10, 1), block(10, 1));
    EXPECT_EQ(ds.read_rows<float>(8, 2), std::vector<float>(2 * d, 0.0F));
    EXPECT_EQ(ds.read_rows<float>(11, 0), std::vector<float>{});
    std::vector<float> all = block(0, 8);
    all.resize(11 * d, 0.0F);
    const std::vector<float> last = block(10, 1);
    std::copy(last.begin(), last.end(), all.begin() + 10 * d);
    EXPECT_EQ(ds.read<float>(), all);
    expect_io_error([&] { ds.read_rows<float>(10, 2); },
                    {path, "/eval/embeddings", "rows [10, 12)", "11 rows"});
    EXPECT_EQ(f.read<std::string>("/names"), (std::vector<std::string>{"a", "β", "γ"}));
    EXPECT_EQ(f.read<std::int64_t>("/fixed", {6, 2}),
              (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
}

TEST(H5Rows, WholeDatasetWriteChecksDtype) {
    TempDir dir;
    h5::File f = h5::File::create(dir.file("w.h5"));
    h5::Dataset ds = f.create_dataset("/x", h5::Dtype::uint8, {2, 2});
    ds.write<std::uint8_t>({1, 2, 3, 255});
    EXPECT_EQ(ds.read<std::uint8_t>(), (std::vector<std::uint8_t>{1, 2, 3, 255}));
    expect_io_error(
        [&] {
            ds.write<std::int32_t>({1, 2, 3, 4});
        },
        {"/x", "dtype is uint8", "expected int32"});
    expect_io_error([&] { ds.resize({3, 2}); }, {"/x", "cannot resize to [3, 2]", "contiguous"});
    h5::DatasetOptions growable;
    growable.max_shape = {h5::kUnlimited, 2};
    h5::Dataset g = f.create_dataset("/g", h5::Dtype::uint8, {2, 2}, growable);
    g.resize({3, 2});
    EXPECT_EQ(g.shape(), (h5::Shape{3, 2}));
    expect_io_error([&] { g.resize({3}); }, {"/g", "rank differs"});
}

// ---- files and errors -------------------------------------------------------------------------

TEST(H5Files, MissingAndForeignFilesAreErrorsNamingThem) {
    TempDir dir;
    const std::string missing = dir.file("missing.h5");
    expect_io_error([&] { h5::File::open(missing); }, {missing, "no such file"});
    const std::string text = dir.write("notes.h5", "this is not HDF5\n");
    expect_io_error([&] { h5::File::open(text); }, {text, "not an HDF5 file"});
    const std::string empty = dir.write("empty.h5", "");
    expect_io_error([&] { h5::File::open(empty); }, {empty, "not an HDF5 file"});
    expect_io_error([&] { h5::File::open(dir.path()); }, {dir.path(), "not a regular file"});
    EXPECT_FALSE(h5::is_hdf5_file(text));
    EXPECT_FALSE(h5::is_hdf5_file(missing));
    expect_io_error([&] { h5::File::create(dir.file("no/such/dir/x.h5")); },
                    {dir.file("no/such/dir/x.h5"), "cannot create HDF5 file", "HDF5: "});
}

// Rule: a failed C call carries HDF5's own error stack in the message, and nothing is printed
// by HDF5 itself.
TEST(H5Files, ErrorsCarryTheHdf5StackAndPrintNothing) {
    TempDir dir;
    const std::string path = dir.file("x.h5");
    h5::File::create(path).close();
    EXPECT_TRUE(h5::is_hdf5_file(path));
    ::testing::internal::CaptureStderr();
    std::string message;
    try {
        h5::File::create(path, h5::Create::exclusive);
    } catch (const IoError& e) {
        message = e.what();
    }
    const std::string printed = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("HDF5: H5Fcreate"), std::string::npos) << message;
    EXPECT_EQ(printed, "");
    EXPECT_NO_THROW(h5::File::create(path, h5::Create::truncate));

    const h5::File ro = h5::File::open(path);
    ::testing::internal::CaptureStderr();
    h5::File& writable = const_cast<h5::File&>(ro);
    expect_io_error([&] { writable.create_group("/g"); }, {path, "/g", "cannot create group"});
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

// Rule: handles close their ids exactly once; moves transfer ownership.
TEST(H5Handles, CloseOnceAndMove) {
    TempDir dir;
    h5::File f = h5::File::create(dir.file("h.h5"));
    {
        h5::Group g = f.create_group("/a");
        h5::Dataset ds = f.write<double>("/a/x", {1.0, 2.0});
        EXPECT_EQ(H5Fget_obj_count(f.id(), H5F_OBJ_GROUP | H5F_OBJ_DATASET), 2);
        h5::Group moved = std::move(g);
        EXPECT_FALSE(g.valid()); // NOLINT(bugprone-use-after-move): checking the moved-from state
        EXPECT_TRUE(moved.valid());
    }
    EXPECT_EQ(H5Fget_obj_count(f.id(), H5F_OBJ_GROUP | H5F_OBJ_DATASET), 0);
    h5::Handle space(H5Screate(H5S_SCALAR), h5::HandleKind::dataspace);
    const h5::Id raw = space.release();
    EXPECT_FALSE(space.valid());
    EXPECT_GT(H5Iis_valid(raw), 0);
    h5::Handle again(raw, h5::HandleKind::dataspace);
    again.close();
    EXPECT_FALSE(again.valid());
    EXPECT_LE(H5Iis_valid(raw), 0);
    f.close();
    EXPECT_FALSE(f.valid());
}

} // namespace
