// sweep/result_file: accuracy bookkeeping by hand, and a written file checked against the
// results schema (the same check sp_validate makes).
#include "sp/io/h5.hpp"
#include "sp/io/schema.hpp"
#include "sp/sweep/result_file.hpp"
#include "sp/util/clock.hpp"
#include "sp/util/version.hpp"

#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

namespace {

TEST(Accuracy, HandComputed) {
    // labels 0 0 1 1 2, predictions 0 1 1 1 0: 3 of 5 right; class 0: 1/2, class 1: 2/2, class 2:
    // 0/1.
    const sp::Accuracy a = sp::accuracy_of({0, 0, 1, 1, 2}, {0, 1, 1, 1, 0}, 4);
    EXPECT_DOUBLE_EQ(a.overall, 0.6);
    ASSERT_EQ(a.per_class.size(), 4U);
    EXPECT_DOUBLE_EQ(a.per_class[0], 0.5);
    EXPECT_DOUBLE_EQ(a.per_class[1], 1.0);
    EXPECT_DOUBLE_EQ(a.per_class[2], 0.0);
    EXPECT_TRUE(std::isnan(a.per_class[3])) << "no sample of class 3";
    const std::vector<std::int64_t> confusion = {1, 1, 0, 0, //
                                                 0, 2, 0, 0, //
                                                 1, 0, 0, 0, //
                                                 0, 0, 0, 0};
    EXPECT_EQ(a.confusion, confusion);
}

sp::ReplicateResult small_result() {
    sp::ReplicateResult r;
    r.id = "0123456789abcdef";
    r.provenance.config_toml = "[train]\nepochs = 1\n";
    r.provenance.sweep_name = "t";
    r.provenance.hostname = sp::host_name();
    r.provenance.device = "cpu";
    r.provenance.device_name = "cpu";
    r.provenance.libtorch_version = "1.13.1";
    r.provenance.start_time = sp::utc_now_iso8601();
    r.provenance.end_time = sp::utc_now_iso8601();
    r.provenance.seeds = sp::derive_seeds(1, 2);
    r.history = {{0, 2.0, 0.3, 0.4, 1.5, 100.0}, {1, 1.0, 0.6, 0.7, 1.4, 110.0}};
    r.samples = 3;
    r.dim = 2;
    r.classes = 2;
    r.embeddings = {1, 2, 3, 4, 5, 6};
    r.labels = {0, 1, 1};
    r.logits = {1, 0, 0, 1, 1, 0};
    r.predictions = {0, 1, 0};
    r.class_names = {"a", "b"};
    return r;
}

TEST(ResultFile, CompleteFileFollowsTheSchemaAndReadsBack) {
    sp::test::TempDir dir("sp-result");
    const std::string path = dir.file("out/0123456789abcdef.h5");
    sp::write_result_file(path, small_result(), /*compression=*/4);
    EXPECT_TRUE(sp::test::temporaries_of(path).empty());
    sp::io::SchemaSet schemas;
    const auto report = sp::io::validate(path, schemas);
    EXPECT_TRUE(report.valid()) << ::testing::PrintToString(report.lines());
    EXPECT_EQ(report.lines(/*with_notes=*/true).size(), 0U)
        << ::testing::PrintToString(report.lines());

    sp::h5::File f = sp::h5::File::open(path);
    EXPECT_EQ(f.read_attribute<std::string>("status"), "complete");
    EXPECT_EQ(f.read<float>("/eval/embeddings", {3, 2}), (std::vector<float>{1, 2, 3, 4, 5, 6}));
    EXPECT_DOUBLE_EQ(f.open_group("/eval").read_attribute<double>("accuracy"), 2.0 / 3.0);
    EXPECT_EQ(f.read<std::int64_t>("/eval/confusion", {2, 2}),
              (std::vector<std::int64_t>{1, 0, 1, 1}));
    EXPECT_EQ(f.read<double>("/history/loss"), (std::vector<double>{2.0, 1.0}));
    EXPECT_EQ(f.open_group("/provenance/seeds").read_attribute<std::uint64_t>("seed_init"),
              sp::derive_seeds(1, 2).init);
}

// Rule: version 2 provenance holds what explains a difference: the run-time facts as given, and
// the build's compiler (checked against the compiler's own macros), flags and revision.
TEST(ResultFile, ProvenanceRecordsMachineLibrariesAndBuild) {
    sp::test::TempDir dir("sp-result");
    const std::string path = dir.file("p.h5");
    sp::ReplicateResult r = small_result();
    sp::Provenance& p = r.provenance;
    p.device = "cuda:1";
    p.device_name = "NVIDIA H100 80GB HBM3";
    p.cpu_model = "Intel(R) Xeon(R) Platinum 8480+";
    p.gpu_model = "NVIDIA H100 80GB HBM3";
    p.cuda_version = "12.1";
    p.cudnn_version = "8.9.2";
    p.cuda_driver = "535.104.05";
    p.blas = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3";
    p.cpu_capability = "AVX512";
    p.environment = "CUBLAS_WORKSPACE_CONFIG=:4096:8\nOMP_NUM_THREADS=8\n";
    p.threads = 8;
    p.ranks = 4;
    sp::write_result_file(path, r, 0);
    sp::io::SchemaSet schemas;
    const auto report = sp::io::validate(path, schemas);
    EXPECT_TRUE(report.valid()) << ::testing::PrintToString(report.lines());

    const sp::h5::File f = sp::h5::File::open(path);
    EXPECT_EQ(f.read_attribute<std::int32_t>("schema_version"), 2);
    EXPECT_EQ(f.read_attribute<std::string>("git_revision"), sp::git_revision());
    const sp::h5::Group g = f.open_group("/provenance");
    const std::vector<std::pair<std::string, std::string>> given = {
        {"device_name", "NVIDIA H100 80GB HBM3"},
        {"cpu_model", "Intel(R) Xeon(R) Platinum 8480+"},
        {"gpu_model", "NVIDIA H100 80GB HBM3"},
        {"cuda_version", "12.1"},
        {"cudnn_version", "8.9.2"},
        {"cuda_driver", "535.104.05"},
        {"blas", "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"},
        {"cpu_capability", "AVX512"},
        {"environment", "CUBLAS_WORKSPACE_CONFIG=:4096:8\nOMP_NUM_THREADS=8\n"}};
    for (const auto& [name, value] : given) {
        EXPECT_EQ(g.read_attribute<std::string>(name), value) << name;
    }
    EXPECT_EQ(g.read_attribute<std::int32_t>("threads"), 8);
    EXPECT_EQ(g.read_attribute<std::int32_t>("ranks"), 4);
#if defined(__clang__)
    const std::string compiler = "Clang " + std::to_string(__clang_major__) + "." +
                                 std::to_string(__clang_minor__) + "." +
                                 std::to_string(__clang_patchlevel__);
#elif defined(__GNUC__)
    const std::string compiler = "GNU " + std::to_string(__GNUC__) + "." +
                                 std::to_string(__GNUC_MINOR__) + "." +
                                 std::to_string(__GNUC_PATCHLEVEL__);
#else
    const std::string compiler = sp::compiler();
#endif
    EXPECT_EQ(g.read_attribute<std::string>("compiler"), compiler);
    EXPECT_EQ(g.read_attribute<std::string>("compiler_flags"), sp::compiler_flags());
    EXPECT_EQ(g.read_attribute<std::string>("build_type"), sp::build_type());
#if defined(__OPTIMIZE__)
    EXPECT_NE(g.read_attribute<std::string>("compiler_flags").find("-O"), std::string::npos)
        << "an optimized build records its -O flag";
#endif
}

TEST(ResultFile, FailedReplicateIsValidWithItsError) {
    sp::test::TempDir dir("sp-result");
    const std::string path = dir.file("f.h5");
    sp::ReplicateResult r = small_result();
    r.status = "failed";
    r.error = "training diverged: loss is NaN at epoch 0, step 3";
    sp::write_result_file(path, r, 0);
    sp::io::SchemaSet schemas;
    const auto report = sp::io::validate(path, schemas);
    EXPECT_TRUE(report.valid()) << ::testing::PrintToString(report.lines());
    sp::h5::File f = sp::h5::File::open(path);
    EXPECT_EQ(f.read_attribute<std::string>("error"), r.error);
    EXPECT_FALSE(f.exists("/eval"));
}

} // namespace
