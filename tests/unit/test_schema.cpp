// io/schema and sp_validate: the shipped schema parses, malformed schemas fail with a location,
// and each way a replicate file can be wrong is reported precisely.
#include "sp/io/atomic.hpp"
#include "sp/io/h5.hpp"
#include "sp/io/schema.hpp"
#include "sp/util/error.hpp"

#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace h5 = sp::h5;
namespace io = sp::io;
using sp::test::TempDir;

namespace {

const std::string kSchemaFile = sp::test::source_path("results-schema/replicate.toml");

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

std::string joined(const io::ValidationReport& r) {
    std::string out;
    for (const std::string& line : r.lines()) out += line + "\n";
    return out;
}

// The /provenance attributes schema version 2 added (results-schema/README.md, "Versions").
const std::vector<std::string> kAddedInVersion2 = {
    "cpu_model",      "gpu_model", "cuda_version",   "cudnn_version", "cuda_driver", "blas",
    "cpu_capability", "compiler",  "compiler_flags", "build_type",    "environment"};

// Writes a replicate file that satisfies schema version `version` (1 or 2): N=100 evaluation
// images, D=16 features, K=10 classes, E=5 epochs. `status` "failed" writes the failure form (no
// /eval).
void write_replicate(const std::string& path, const std::string& status = "complete",
                     bool with_optional = true, int version = 2) {
    const std::uint64_t n = 100;
    const std::uint64_t d = 16;
    const std::uint64_t k = 10;
    const std::uint64_t e = 5;
    h5::File f = h5::File::create(path);
    f.write_attribute("schema_version", std::int32_t{version});
    f.write_attribute("sp_version", "0.1.0");
    f.write_attribute("git_revision", "abc1234");
    f.write_attribute("file_kind", "replicate");
    f.write_attribute("replicate_id", "3f9a0c1d2e4b");
    f.write_attribute("status", status);
    if (status == "failed") f.write_attribute("error", "loss became NaN at epoch 3");

    h5::Group prov = f.create_group("/provenance");
    prov.write_attribute("config_toml", "[train]\nepochs = 20\n");
    prov.write_attribute("sweep_name", "quick");
    prov.write_attribute("hostname", "node042");
    prov.write_attribute("device", "cpu");
    prov.write_attribute("device_name", version >= 2 ? "AMD EPYC 7763" : "cpu");
    prov.write_attribute("libtorch_version", "2.1.2");
    if (version >= 2) {
        prov.write_attribute("cpu_model", "AMD EPYC 7763");
        prov.write_attribute("gpu_model", "");
        prov.write_attribute("cuda_version", "");
        prov.write_attribute("cudnn_version", "");
        prov.write_attribute("cuda_driver", "");
        prov.write_attribute("blas", "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3");
        prov.write_attribute("cpu_capability", "AVX2");
        prov.write_attribute("compiler", "GNU 12.2.0");
        prov.write_attribute("compiler_flags", "-O2 -g -DNDEBUG");
        prov.write_attribute("build_type", "RelWithDebInfo");
        prov.write_attribute("environment", "OMP_NUM_THREADS=4\nSLURM_JOB_ID=81234\n");
    }
    prov.write_attribute("hdf5_version", "1.10.8");
    prov.write_attribute("mpi_version", "Open MPI v4.1.4");
    prov.write_attribute("deterministic", std::uint8_t{1});
    prov.write_attribute("start_time", "2024-05-01T12:00:00Z");
    prov.write_attribute("end_time", "2024-05-01T12:30:00Z");
    prov.write_attribute("sweep_seed", std::uint64_t{1234});
    prov.write_attribute("replicate_seed", std::uint64_t{0xFFFFFFFFFFFFFFFFULL});
    h5::Group seeds = f.create_group("/provenance/seeds");
    for (const char* s : {"seed_pool", "seed_init", "seed_data", "seed_dropout", "seed_tsne"}) {
        seeds.write_attribute(s, std::uint64_t{42});
    }
    if (status == "complete") {
        h5::Group eval = f.create_group("/eval");
        eval.write_attribute("layer", "avgpool");
        eval.write<float>("embeddings", std::vector<float>(n * d, 0.25F), {n, d});
        eval.write<std::int64_t>("labels", std::vector<std::int64_t>(n, 3));
        if (with_optional) {
            eval.write<float>("logits", std::vector<float>(n * k, 0.0F), {n, k});
            eval.write<std::int64_t>("predictions", std::vector<std::int64_t>(n, 3));
            eval.write<std::string>("class_names", std::vector<std::string>(k, "cat"));
        }
    }
    if (with_optional) {
        h5::Group hist = f.create_group("/history");
        hist.write<std::int32_t>("epoch", {1, 2, 3, 4, 5});
        for (const char* name :
             {"loss", "train_accuracy", "eval_accuracy", "seconds", "images_per_second"}) {
            hist.write<double>(name, std::vector<double>(e, 0.5));
        }
    }
}

// Writes a valid replicate, then lets `mutate` break it.
std::string broken_replicate(const TempDir& dir, const std::function<void(h5::File&)>& mutate) {
    const std::string path = dir.file("results/abc.h5");
    io::make_directories(dir.file("results"));
    write_replicate(path);
    h5::File f = h5::File::open(path, h5::Access::read_write);
    mutate(f);
    return path;
}

io::ValidationReport check(const std::string& path) {
    return io::validate(path, io::Schema::load(kSchemaFile));
}

// ---- the shipped schema -------------------------------------------------------------------------

TEST(SchemaFile, ShippedSchemaParses) {
    const io::Schema s = io::Schema::load(kSchemaFile);
    EXPECT_EQ(s.version(), 2);
    EXPECT_EQ(s.readable_versions(), (std::vector<std::int64_t>{1, 2}));
    EXPECT_EQ(s.file_kind(), "replicate");
    bool found = false;
    for (const io::SchemaEntry& e : s.entries()) {
        EXPECT_FALSE(e.description.empty()) << e.display();
        if (e.path == "/eval/embeddings") {
            found = true;
            EXPECT_EQ(e.kind, io::EntryKind::dataset);
            EXPECT_EQ(e.dtype, h5::Dtype::float32);
            ASSERT_EQ(e.shape.size(), 2U);
            EXPECT_EQ(e.shape[0].symbol, "N");
            EXPECT_EQ(e.shape[1].symbol, "D");
            EXPECT_TRUE(e.required);
        }
    }
    EXPECT_TRUE(found);
}

// Rule: the copy built into the library is the file in the source tree (rebuild after edits).
TEST(SchemaFile, BuiltInCopyMatchesSourceTree) {
    const auto text = io::builtin_schema_text("replicate");
    ASSERT_TRUE(text.has_value());
    EXPECT_EQ(*text, sp::test::read_file(kSchemaFile));
    EXPECT_FALSE(io::builtin_schema_text("no_such_kind").has_value());
    EXPECT_EQ(io::default_schema_dir(), sp::test::source_path("results-schema"));
}

// ---- malformed schemas ----------------------------------------------------------------------

const char* const kHeader = "schema_version = 1\nfile_kind = \"t\"\n";

std::string entry(const std::string& body) { return "[[entry]]\n" + body; }

const std::string kGroup = entry("kind = \"group\"\npath = \"/g\"\nrequired = true\n"
                                 "description = \"g\"\n");

TEST(SchemaParse, MalformedSchemasAreConfigErrorsWithLocation) {
    const struct {
        std::string text;
        std::vector<std::string> parts;
    } cases[] = {
        // Rule: TOML syntax errors carry line:col.
        {std::string(kHeader) + "[[entry]\n", {"s.toml:3:"}},
        // Rule: unknown keys are rejected, with a suggestion.
        {std::string(kHeader) + "versoin = 2\n" + kGroup, {"s.toml:3:", "unknown key 'versoin'"}},
        {std::string(kHeader) + entry("kind = \"group\"\npath = \"/g\"\nrequird = true\n"),
         {"s.toml:", "unknown key 'requird'", "did you mean 'required'"}},
        // Rule: every entry is complete and consistent with its kind.
        {std::string(kHeader) + entry("kind = \"table\"\npath = \"/g\"\nrequired = true\n"
                                      "description = \"x\"\n"),
         {"kind 'table'"}},
        {std::string(kHeader) + entry("kind = \"group\"\npath = \"/g\"\nrequired = true\n"),
         {"/g", "missing 'description'"}},
        {std::string(kHeader) + entry("kind = \"group\"\npath = \"/g\"\ndtype = \"int32\"\n"
                                      "required = true\ndescription = \"x\"\n"),
         {"'dtype': not for groups"}},
        {std::string(kHeader) + entry("kind = \"dataset\"\npath = \"/d\"\ndtype = \"int16\"\n"
                                      "shape = []\nunit = \"\"\nrequired = true\n"
                                      "description = \"x\"\n"),
         {"/d", "dtype 'int16'"}},
        {std::string(kHeader) + entry("kind = \"dataset\"\npath = \"/d\"\ndtype = \"int32\"\n"
                                      "shape = [\"2N\"]\nunit = \"\"\nrequired = true\n"
                                      "description = \"x\"\n"),
         {"'2N' is not a dim symbol"}},
        {std::string(kHeader) + entry("kind = \"attribute\"\npath = \"/\"\ndtype = \"int32\"\n"
                                      "unit = \"\"\nrequired = true\ndescription = \"x\"\n"),
         {"missing 'name'"}},
        {std::string(kHeader) + entry("kind = \"dataset\"\npath = \"eval/x\"\n"),
         {"path 'eval/x'"}},
        {std::string(kHeader) + entry("kind = \"attribute\"\npath = \"/\"\nname = \"a\"\n"
                                      "dtype = \"string\"\nunit = \"\"\nvalues = [1]\n"
                                      "required = true\ndescription = \"x\"\n"),
         {"/@a", "must be a string"}},
        {std::string(kHeader) + entry("kind = \"group\"\npath = \"/g\"\nrequired = \"yes\"\n"
                                      "description = \"x\"\n"),
         {"'required' must be true or false"}},
        // Rule: cross-entry consistency.
        {std::string(kHeader) + kGroup + kGroup, {"/g is declared twice"}},
        {std::string(kHeader) + entry("kind = \"dataset\"\npath = \"/g/d\"\ndtype = \"int32\"\n"
                                      "shape = []\nunit = \"\"\nrequired = true\n"
                                      "description = \"x\"\n"),
         {"/g/d", "declare its group /g before it"}},
        {std::string(kHeader) + kGroup +
             entry("kind = \"group\"\npath = \"/h\"\nrequired = false\n"
                   "required_if = { path = \"/\", name = \"status\", equals = \"x\" }\n"
                   "description = \"x\"\n"),
         {"/h", "required_if refers to /@status"}},
        {std::string("file_kind = \"t\"\n") + kGroup, {"'schema_version'"}},
    };
    for (const auto& c : cases) {
        try {
            io::Schema::parse(c.text, "s.toml");
            ADD_FAILURE() << "accepted:\n" << c.text;
        } catch (const sp::ConfigError& e) {
            for (const std::string& p : c.parts) {
                EXPECT_TRUE(contains(e.what(), p)) << "'" << p << "' not in: " << e.what();
            }
        }
    }
}

// ---- schema lookup --------------------------------------------------------------------------

TEST(SchemaSet, OverridesEnvironmentAndBuiltIn) {
    TempDir dir;
    const std::string custom =
        dir.write("schemas/replicate.toml", std::string("schema_version = 7\n"
                                                        "file_kind = \"replicate\"\n") +
                                                kGroup);
    EXPECT_EQ(io::SchemaSet(custom).for_kind("anything").version(), 7);
    EXPECT_EQ(io::SchemaSet(dir.file("schemas")).for_kind("replicate").version(), 7);
    EXPECT_EQ(io::SchemaSet(dir.file("schemas")).find("summary"), nullptr);
    EXPECT_THROW(io::SchemaSet(dir.file("nope")), sp::ConfigError);

    ::setenv("SP_SCHEMA_DIR", dir.file("schemas").c_str(), 1);
    EXPECT_EQ(io::SchemaSet().for_kind("replicate").version(), 7);
    ::setenv("SP_SCHEMA_DIR", dir.file("missing").c_str(), 1);
    EXPECT_THROW(io::SchemaSet(), sp::ConfigError);
    ::unsetenv("SP_SCHEMA_DIR");

    io::SchemaSet defaults;
    EXPECT_EQ(defaults.for_kind("replicate").version(), 2);
    EXPECT_EQ(defaults.find("../etc/passwd"), nullptr);
    EXPECT_THROW(defaults.for_kind("summary_of_nothing"), sp::ConfigError);
    const io::Schema builtin =
        io::Schema::parse(*io::builtin_schema_text("replicate"), "<built-in>/replicate.toml");
    EXPECT_EQ(builtin.entries().size(), io::Schema::load(kSchemaFile).entries().size());
}

// ---- validation -------------------------------------------------------------------------------

TEST(SchemaValidate, ValidFilesPass) {
    TempDir dir;
    const std::string full = dir.file("full.h5");
    write_replicate(full);
    const io::ValidationReport r = check(full);
    EXPECT_TRUE(r.valid()) << joined(r);
    EXPECT_TRUE(r.problems.empty()) << joined(r);

    const std::string minimal = dir.file("minimal.h5");
    write_replicate(minimal, "complete", false);
    EXPECT_TRUE(check(minimal).valid()) << joined(check(minimal));

    const std::string failed = dir.file("failed.h5");
    write_replicate(failed, "failed");
    EXPECT_TRUE(check(failed).valid()) << joined(check(failed));
}

// Rule: each way a file departs from the schema is one error naming the object and the fault.
TEST(SchemaValidate, EachFaultIsNamedPrecisely) {
    const struct {
        const char* what;
        std::function<void(h5::File&)> mutate;
        std::string expected;
    } cases[] = {
        {"missing required dataset", [](h5::File& f) { f.remove("/eval/embeddings"); },
         "/eval/embeddings: missing (required)"},
        {"wrong dtype",
         [](h5::File& f) {
             f.remove("/eval/labels");
             f.write<float>("/eval/labels", std::vector<float>(100));
         },
         "/eval/labels: dtype is float32, schema says int64"},
        {"inconsistent dim",
         [](h5::File& f) {
             f.remove("/eval/labels");
             f.write<std::int64_t>("/eval/labels", std::vector<std::int64_t>(99));
         },
         "/eval/labels: shape [99] but dim N is 100 (from /eval/embeddings)"},
        {"wrong rank",
         [](h5::File& f) {
             f.remove("/eval/embeddings");
             f.write<float>("/eval/embeddings", std::vector<float>(100));
         },
         "/eval/embeddings: shape [100] but schema says [N, D]"},
        {"dim shared across groups",
         [](h5::File& f) {
             f.remove("/eval/class_names");
             f.write<std::string>("/eval/class_names", std::vector<std::string>(9, "x"));
         },
         "/eval/class_names: shape [9] but dim K is 10 (from /eval/logits)"},
        {"missing required attribute",
         [](h5::File& f) { f.open_group("/provenance").remove_attribute("hostname"); },
         "/provenance@hostname: missing (required)"},
        {"attribute dtype",
         [](h5::File& f) {
             f.open_group("/provenance").write_attribute("deterministic", std::int32_t{1});
         },
         "/provenance@deterministic: dtype is int32, schema says uint8"},
        {"attribute not scalar",
         [](h5::File& f) {
             f.write_attribute("sp_version", std::vector<std::string>{"0.1.0", "x"});
         },
         "/@sp_version: shape [2] but schema says []"},
        {"value not allowed", [](h5::File& f) { f.write_attribute("status", "running"); },
         "/@status: value is 'running', schema allows 'complete', 'failed'"},
        {"conditionally required", [](h5::File& f) { f.write_attribute("status", "failed"); },
         "/@error: missing (required when /@status is 'failed')"},
        {"required member of optional group", [](h5::File& f) { f.remove("/history/loss"); },
         "/history/loss: missing (required)"},
        {"history length",
         [](h5::File& f) {
             f.remove("/history/seconds");
             f.write<double>("/history/seconds", std::vector<double>(4));
         },
         "/history/seconds: shape [4] but dim E is 5 (from /history/epoch)"},
        {"group is a dataset",
         [](h5::File& f) {
             f.remove("/history");
             f.write<double>("/history", {1.0});
         },
         "/history: is a dataset, schema says group"},
        {"dataset is a group",
         [](h5::File& f) {
             f.remove("/eval/logits");
             f.create_group("/eval/logits");
         },
         "/eval/logits: is a group, schema says dataset"},
    };
    for (const auto& c : cases) {
        TempDir dir;
        const std::string path = broken_replicate(dir, c.mutate);
        const io::ValidationReport r = check(path);
        EXPECT_FALSE(r.valid()) << c.what;
        EXPECT_TRUE(contains(joined(r), path + ": " + c.expected + "\n"))
            << c.what << ": expected '" << c.expected << "' in:\n"
            << joined(r);
        EXPECT_EQ(r.error_count(), 1U) << c.what << ":\n" << joined(r);
    }
}

TEST(SchemaValidate, WrongSchemaVersionIsOneError) {
    TempDir dir;
    const std::string path = broken_replicate(
        dir, [](h5::File& f) { f.write_attribute("schema_version", std::int32_t{3}); });
    const io::ValidationReport r = check(path);
    ASSERT_EQ(r.problems.size(), 1U) << joined(r);
    EXPECT_EQ(r.lines().front(), path + ": schema_version is 3, this sp reads 1, 2");
}

// Rule: a file of an older version the schema lists still validates: it simply lacks what later
// versions added (results-schema/README.md, "Versions").
TEST(SchemaValidate, VersionOneFilesStillValidate) {
    TempDir dir;
    for (const std::string status : {"complete", "failed"}) {
        const std::string path = dir.file("v1-" + status + ".h5");
        write_replicate(path, status, /*with_optional=*/true, /*version=*/1);
        const io::ValidationReport r = check(path);
        EXPECT_TRUE(r.valid()) << joined(r);
        EXPECT_TRUE(r.problems.empty()) << joined(r);
        const h5::File f = h5::File::open(path);
        EXPECT_FALSE(f.open_group("/provenance").has_attribute("cpu_model")) << "a true v1 file";
    }
}

// Rule: in a version 2 file each attribute version 2 added is required: its absence is one error
// naming it and the version that requires it.
TEST(SchemaValidate, VersionTwoFilesNeedTheirProvenance) {
    for (const std::string& name : kAddedInVersion2) {
        TempDir dir;
        const std::string path = broken_replicate(
            dir, [&](h5::File& f) { f.open_group("/provenance").remove_attribute(name); });
        const io::ValidationReport r = check(path);
        ASSERT_EQ(r.problems.size(), 1U) << name << ":\n" << joined(r);
        EXPECT_EQ(r.lines().front(), path + ": /provenance@" + name +
                                         ": missing (required when /@schema_version is 2)");
    }
}

// Rule: a missing required group is one error; its members are not reported on top.
TEST(SchemaValidate, MissingGroupDoesNotCascade) {
    TempDir dir;
    const std::string path = broken_replicate(dir, [](h5::File& f) { f.remove("/provenance"); });
    const io::ValidationReport r = check(path);
    EXPECT_EQ(joined(r), path + ": /provenance: missing (required)\n");
}

TEST(SchemaValidate, UnknownObjectsAreNotesNotErrors) {
    TempDir dir;
    const std::string path = broken_replicate(dir, [](h5::File& f) {
        f.write<double>("/extra/deep/thing", {1.0});
        f.write<double>("/eval/extra", {1.0});
        f.write_attribute("comment", "hand-edited");
        f.open_dataset("/eval/labels").write_attribute("unit", "index");
    });
    const io::ValidationReport r = check(path);
    EXPECT_TRUE(r.valid()) << joined(r);
    EXPECT_EQ(joined(r), path + ": note: /@comment: not in schema\n" + path +
                             ": note: /eval/extra: not in schema\n" + path +
                             ": note: /eval/labels@unit: not in schema\n" + path +
                             ": note: /extra: not in schema\n");
    EXPECT_TRUE(r.lines(false).empty());
}

TEST(SchemaValidate, UnreadableFilesAreErrorsNamingThem) {
    TempDir dir;
    const std::string text = dir.write("notes.h5", "plain text");
    io::ValidationReport r = check(text);
    EXPECT_FALSE(r.valid());
    EXPECT_EQ(r.lines(), std::vector<std::string>{text + ": not an HDF5 file"});
    const std::string missing = dir.file("missing.h5");
    r = check(missing);
    EXPECT_EQ(r.lines(), std::vector<std::string>{missing + ": no such file"});
}

TEST(SchemaValidate, FileKindSelectsTheSchema) {
    TempDir dir;
    const std::string path =
        broken_replicate(dir, [](h5::File& f) { f.write_attribute("file_kind", "mystery"); });
    io::SchemaSet schemas;
    const io::ValidationReport r = io::validate(path, schemas);
    EXPECT_FALSE(r.valid());
    EXPECT_TRUE(contains(joined(r), "/@file_kind: 'mystery' has no schema")) << joined(r);
}

// ---- sp_validate ------------------------------------------------------------------------------

TEST(SpValidate, ValidFileExitsZero) {
    TempDir dir;
    const std::string path = dir.file("ok.h5");
    write_replicate(path);
    const std::string old = dir.file("v1.h5");
    write_replicate(old, "complete", /*with_optional=*/true, /*version=*/1);
    const auto r = sp::test::run({sp::test::app("sp_validate"), path, old});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(r.out, path + ": ok\n" + old + ": ok\n");
    const auto quiet = sp::test::run({sp::test::app("sp_validate"), "--quiet", path});
    EXPECT_EQ(quiet.exit_code, 0);
    EXPECT_EQ(quiet.out, "");
}

TEST(SpValidate, InvalidFilesExitTwoWithMessages) {
    TempDir dir;
    const std::string good = dir.file("good.h5");
    write_replicate(good);
    const std::string bad = broken_replicate(dir, [](h5::File& f) {
        f.remove("/eval/labels");
        f.write<float>("/eval/labels", std::vector<float>(100));
        f.write<double>("/scratch", {1.0});
    });
    const std::string text = dir.write("text.h5", "nope");
    const auto r = sp::test::run({sp::test::app("sp_validate"), good, bad, text});
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_EQ(r.out, good + ": ok\n" + bad +
                         ": /eval/labels: dtype is float32, schema says int64\n" + bad +
                         ": note: /scratch: not in schema\n" + text + ": not an HDF5 file\n");
    const auto quiet = sp::test::run({sp::test::app("sp_validate"), "-q", good, bad});
    EXPECT_EQ(quiet.exit_code, 2);
    EXPECT_EQ(quiet.out, bad + ": /eval/labels: dtype is float32, schema says int64\n");
}

TEST(SpValidate, SchemaFlagAndBadArguments) {
    TempDir dir;
    const std::string path = dir.file("r.h5");
    write_replicate(path);
    const std::string strict = dir.write(
        "strict.toml", std::string("schema_version = 2\nfile_kind = \"replicate\"\n") +
                           entry("kind = \"dataset\"\npath = \"/needed\"\ndtype = \"int32\"\n"
                                 "shape = []\nunit = \"\"\nrequired = true\n"
                                 "description = \"x\"\n"));
    auto r = sp::test::run({sp::test::app("sp_validate"), "--quiet", "--schema", strict, path});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, path + ": /needed: missing (required)\n");

    r = sp::test::run({sp::test::app("sp_validate")});
    EXPECT_EQ(r.exit_code, 2) << "no files";
    r = sp::test::run({sp::test::app("sp_validate"), "--frobnicate", path});
    EXPECT_EQ(r.exit_code, 2) << "unknown flag";
    r = sp::test::run({sp::test::app("sp_validate"), "--schema", dir.file("nope.toml"), path});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(contains(r.err, dir.file("nope.toml"))) << r.err;
    const std::string broken = dir.write("broken.toml", "schema_version = \n");
    r = sp::test::run({sp::test::app("sp_validate"), "--schema", broken, path});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(contains(r.err, broken + ":1:")) << r.err;
    r = sp::test::run({sp::test::app("sp_validate"), "--help"});
    EXPECT_EQ(r.exit_code, 0);
}

} // namespace
