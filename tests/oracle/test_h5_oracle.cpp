// io/h5 and io/schema against an independent implementation: h5py (Debian's /usr/bin/python3)
// writes files sp must read and validate, reads files sp wrote, and Python's tomllib reads the
// schema file the same way toml++ does.
#include "sp/io/h5.hpp"
#include "sp/io/schema.hpp"
#include "sp/util/error.hpp"

#include "support/oracle.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace h5 = sp::h5;
namespace io = sp::io;
using sp::test::python;
using sp::test::TempDir;

namespace {

bool have_h5py() { return sp::test::python_has("h5py, numpy"); }

// Runs a Python script with arguments; returns its result.
sp::test::RunResult run_python(const TempDir& dir, const std::string& script,
                               const std::vector<std::string>& args) {
    std::vector<std::string> argv = {python(), dir.write("script.py", script)};
    argv.insert(argv.end(), args.begin(), args.end());
    return sp::test::run(argv);
}

#define SKIP_WITHOUT_H5PY()                                                                        \
    if (!have_h5py()) GTEST_SKIP() << python() << " lacks h5py/numpy"

// A replicate file as a Python user would write it: h5py's defaults, str attributes
// (variable-length UTF-8), h5py.string_dtype() for string datasets.
const char* const kWriteReplicate = R"PY(
import sys, h5py, numpy as np
N, D, K, E = 50, 8, 4, 3
with h5py.File(sys.argv[1], "w") as f:
    f.attrs["schema_version"] = np.int32(1)
    for k, v in [("sp_version", "0.1.0"), ("git_revision", "abc1234"), ("file_kind", "replicate"),
                 ("replicate_id", "r-ü-1"), ("status", "complete")]:
        f.attrs[k] = v
    p = f.create_group("provenance")
    for k in ["config_toml", "sweep_name", "hostname", "device", "device_name",
              "libtorch_version", "hdf5_version", "mpi_version", "start_time", "end_time"]:
        p.attrs[k] = "value of " + k
    p.attrs["deterministic"] = np.uint8(1)
    p.attrs["sweep_seed"] = np.uint64(2**64 - 1)
    p.attrs["replicate_seed"] = np.uint64(7)
    s = p.create_group("seeds")
    for k in ["seed_pool", "seed_init", "seed_data", "seed_dropout", "seed_tsne"]:
        s.attrs[k] = np.uint64(11)
    e = f.create_group("eval")
    e.attrs["layer"] = "avgpool"
    e.create_dataset("embeddings", data=np.arange(N * D, dtype=np.float32).reshape(N, D),
                     chunks=(10, D), compression="gzip", compression_opts=4)
    e.create_dataset("labels", data=np.arange(N, dtype=np.int64) % K)
    e.create_dataset("logits", data=np.zeros((N, K), dtype=np.float32))
    e.create_dataset("class_names", data=["chat", "café", "日本", ""],
                     dtype=h5py.string_dtype())
    h = f.create_group("history")
    h.create_dataset("epoch", data=np.arange(1, E + 1, dtype=np.int32))
    for k in ["loss", "train_accuracy", "eval_accuracy", "seconds", "images_per_second"]:
        h.create_dataset(k, data=np.linspace(0, 1, E))
)PY";

TEST(H5Oracle, H5pyReplicateValidatesAndReads) {
    SKIP_WITHOUT_H5PY();
    TempDir dir;
    const std::string path = dir.file("py.h5");
    const auto w = run_python(dir, kWriteReplicate, {path});
    ASSERT_EQ(w.exit_code, 0) << w.err;

    const auto v = sp::test::run({sp::test::app("sp_validate"), path});
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
    EXPECT_EQ(v.out, path + ": ok\n");

    const h5::File f = h5::File::open(path);
    EXPECT_EQ(f.read_attribute<std::string>("replicate_id"), "r-ü-1");
    EXPECT_EQ(f.open_group("/provenance").read_attribute<std::uint64_t>("sweep_seed"),
              0xFFFFFFFFFFFFFFFFULL);
    EXPECT_EQ(f.read<std::string>("/eval/class_names"),
              (std::vector<std::string>{"chat", "café", "日本", ""}));
    const std::vector<float> emb = f.read<float>("/eval/embeddings", {50, 8});
    for (std::size_t i = 0; i < emb.size(); ++i) ASSERT_EQ(emb[i], static_cast<float>(i));
    EXPECT_EQ(f.open_dataset("/eval/embeddings").deflate_level(), 4);
    EXPECT_EQ(f.read<std::int64_t>("/eval/labels")[7], 3);
}

// Layouts sp does not write but may meet: big-endian numbers, fixed-length byte strings, types
// sp has no name for.
TEST(H5Oracle, ForeignLayoutsReadOrFailPrecisely) {
    SKIP_WITHOUT_H5PY();
    TempDir dir;
    const std::string path = dir.file("foreign.h5");
    const auto w = run_python(dir, R"PY(
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f.create_dataset("be", data=np.array([1.5, -2.25, 1e300], dtype=">f8"))
    f.create_dataset("fixed", data=np.array([b"ab", b"cdefg", b""], dtype="S5"))
    f.create_dataset("small", data=np.array([1, 2], dtype=np.int16))
    f.create_dataset("half", data=np.array([1, 2], dtype=np.float16))
    f.attrs["bytes_attr"] = np.bytes_(b"fixed!")
)PY",
                              {path});
    ASSERT_EQ(w.exit_code, 0) << w.err;
    const h5::File f = h5::File::open(path);
    EXPECT_EQ(f.read<double>("/be"), (std::vector<double>{1.5, -2.25, 1e300}));
    EXPECT_EQ(f.read<std::string>("/fixed"), (std::vector<std::string>{"ab", "cdefg", ""}));
    EXPECT_EQ(f.read_attribute<std::string>("bytes_attr"), "fixed!");
    EXPECT_EQ(f.dtype("/small").name, "int16");
    EXPECT_FALSE(f.dtype("/small").dtype.has_value());
    EXPECT_EQ(f.dtype("/half").name, "float16");
    try {
        f.read<std::int32_t>("/small");
        ADD_FAILURE() << "int16 read as int32";
    } catch (const sp::IoError& e) {
        EXPECT_NE(std::string(e.what()).find("/small: dtype is int16, expected int32"),
                  std::string::npos)
            << e.what();
    }
}

// Rule: what sp writes, h5py reads with the same dtypes, shapes, values and filters.
TEST(H5Oracle, H5pyReadsWhatSpWrites) {
    SKIP_WITHOUT_H5PY();
    TempDir dir;
    const std::string path = dir.file("sp.h5");
    {
        h5::File f = h5::File::create(path);
        f.write_attribute("schema_version", std::int32_t{1});
        f.write_attribute("note", "Grüße 🐢");
        f.write_attribute("seed", std::uint64_t{0xFFFFFFFFFFFFFFFFULL});
        f.write_attribute("flags", std::vector<std::uint8_t>{0, 1, 255});
        f.write_attribute("names", std::vector<std::string>{"a", "", "ß"});
        f.write<float>("/f32", {0.5F, -1.0F, 3.25F, 8.0F, 1e-30F, -0.0F}, {2, 3});
        f.write<double>("/f64", {1.0 / 3.0, 2.0, -1e300, 4.0, 5.0, 6.0, 7.0, 8.0}, {2, 2, 2});
        f.write<std::int32_t>("/i32", {-2147483647 - 1, 0, 2147483647});
        f.write<std::int64_t>("/i64", {-9223372036854775807LL - 1, 42});
        f.write<std::uint8_t>("/u8", {0, 128, 255});
        f.write<std::uint64_t>("/u64", {0, 18446744073709551615ULL});
        f.write_scalar<std::int64_t>("/scalar", -5);
        f.write<std::string>("/eval/class_names", {"airplane", "", "naïve", "日本語"});
        h5::DatasetOptions opts;
        opts.deflate = 5;
        opts.shuffle = true;
        opts.chunk = {16, 4};
        opts.max_shape = {h5::kUnlimited, 4};
        h5::Dataset rows = f.create_dataset("/eval/embeddings", h5::Dtype::float32, {0, 4}, opts);
        for (std::uint64_t b = 0; b < 5; ++b) {
            std::vector<float> block(10 * 4);
            for (std::size_t i = 0; i < block.size(); ++i) {
                block[i] = static_cast<float>(b * 40 + i);
            }
            rows.write_rows<float>(b * 10, block);
        }
    }
    const auto r = run_python(dir, R"PY(
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    a = f.attrs
    assert a["schema_version"] == 1 and a["schema_version"].dtype == np.int32
    assert a["note"] == "Grüße 🐢", a["note"]
    assert a["seed"] == 2**64 - 1 and a["seed"].dtype == np.uint64
    assert list(a["flags"]) == [0, 1, 255] and a["flags"].dtype == np.uint8
    assert [s.decode() if isinstance(s, bytes) else s for s in a["names"]] == ["a", "", "ß"]
    def check(name, dtype, shape, values):
        d = f[name]
        assert d.dtype == np.dtype(dtype), (name, d.dtype)
        assert d.shape == shape, (name, d.shape)
        assert np.array_equal(d[()], np.array(values, dtype=dtype).reshape(shape)), name
    check("f32", "<f4", (2, 3), [0.5, -1.0, 3.25, 8.0, 1e-30, -0.0])
    check("f64", "<f8", (2, 2, 2), [1 / 3, 2, -1e300, 4, 5, 6, 7, 8])
    check("i32", "<i4", (3,), [-2**31, 0, 2**31 - 1])
    check("i64", "<i8", (2,), [-2**63, 42])
    check("u8", "u1", (3,), [0, 128, 255])
    check("u64", "<u8", (2,), [0, 2**64 - 1])
    check("scalar", "<i8", (), -5)
    names = f["eval/class_names"]
    assert h5py.check_string_dtype(names.dtype).encoding == "utf-8"
    assert [s.decode() for s in names[()]] == ["airplane", "", "naïve", "日本語"]
    e = f["eval/embeddings"]
    assert e.shape == (50, 4) and e.maxshape == (None, 4) and e.chunks == (16, 4)
    assert e.compression == "gzip" and e.compression_opts == 5 and e.shuffle
    assert np.array_equal(e[()], np.arange(200, dtype=np.float32).reshape(50, 4))
print("ok")
)PY",
                              {path});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(r.out, "ok\n");
}

// Rule: the schema file means the same to Python's tomllib as to sp's toml++ parser.
TEST(H5Oracle, TomllibReadsTheSchemaLikeSp) {
    if (!sp::test::python_has("tomllib")) {
        GTEST_SKIP() << python() << " lacks tomllib (Python < 3.11)";
    }
    TempDir dir;
    const std::string schema_file = sp::test::source_path("results-schema/replicate.toml");
    const auto r = run_python(dir, R"PY(
import sys, tomllib
with open(sys.argv[1], "rb") as fh:
    s = tomllib.load(fh)
print(s["schema_version"], s["file_kind"])
for e in s["entry"]:
    c = e.get("required_if")
    cond = "" if c is None else "%s@%s=%s" % (c["path"], c["name"], c["equals"])
    print("|".join([e["kind"], e["path"], e.get("name", ""), e.get("dtype", ""),
                    ",".join(str(d) for d in e.get("shape", [])), str(e["required"]).lower(),
                    cond, ",".join(str(v) for v in e.get("values", []))]))
)PY",
                              {schema_file});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const io::Schema schema = io::Schema::load(schema_file);
    std::string expected = std::to_string(schema.version()) + " " + schema.file_kind() + "\n";
    for (const io::SchemaEntry& e : schema.entries()) {
        const char* kinds[] = {"group", "dataset", "attribute"};
        std::string shape;
        for (const io::SchemaDim& d : e.shape) {
            if (!shape.empty()) shape += ",";
            shape += d.symbol.empty() ? std::to_string(d.size) : d.symbol;
        }
        std::string cond;
        if (e.required_if) {
            const auto& eq = e.required_if->equals;
            cond = e.required_if->path + "@" + e.required_if->name + "=" +
                   (std::holds_alternative<std::string>(eq) ? std::get<std::string>(eq)
                                                            : std::to_string(std::get<0>(eq)));
        }
        std::string values;
        for (const io::SchemaValue& v : e.values) {
            if (!values.empty()) values += ",";
            values += std::holds_alternative<std::string>(v) ? std::get<std::string>(v)
                                                             : std::to_string(std::get<0>(v));
        }
        expected += std::string(kinds[static_cast<int>(e.kind)]) + "|" + e.path + "|" + e.name +
                    "|" + (e.dtype ? h5::to_string(*e.dtype) : "") + "|" + shape + "|" +
                    (e.required ? "true" : "false") + "|" + cond + "|" + values + "\n";
    }
    EXPECT_EQ(r.out, expected);
}

} // namespace
