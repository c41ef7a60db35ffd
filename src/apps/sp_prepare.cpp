// sp_prepare: decodes a dataset once into an HDF5 cache (results-schema/dataset-cache.toml) that
// replicates read instead of the source (dataset.cache).
//
//   sp_prepare DATASET SRC_DIR OUT.h5 [--threads N] [--compression 0-9]
//              [--archive FILE] [--allow-unverified]
//
// DATASET is a dataset.name value. For "synthetic" SRC_DIR is ignored (write "-") and the
// default dataset.synthetic settings are used. The cache records the source's fingerprint, so a
// later change to the files in SRC_DIR makes replicates read the source again. Checksums: with
// --archive, the downloaded archive SRC_DIR was extracted from is checked against its published
// MD5 (cifar10, tiny-imagenet); a SHA256SUMS manifest in SRC_DIR is checked file by file; what
// was checked is recorded in the cache (and from there in every replicate's provenance). A
// mismatch is exit 2 naming the file and both digests, unless --allow-unverified (private or
// modified data), which is then recorded. Prints two lines: images, classes, bytes, seconds;
// what was checked.
// Exit codes: 0 done, 2 bad arguments or data, 1 a bug.
#include "cli.hpp"

#include "sp/data/cache.hpp"
#include "sp/data/load.hpp"
#include "sp/data/verify.hpp"
#include "sp/util/clock.hpp"
#include "sp/util/error.hpp"
#include "sp/util/main.hpp"
#include "sp/util/version.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <system_error>

namespace {

int run(int argc, char** argv) {
    CLI::App app{"sp_prepare: decode a dataset once into an HDF5 cache for dataset.cache.\n"
                 "DATASET: fashion-mnist | mnist | cifar10 | tiny-imagenet | synthetic "
                 "(synthetic ignores SRC_DIR and uses the default dataset.synthetic settings)."};
    app.set_version_flag("--version",
                         std::string("sp ") + sp::version() + " (" + sp::git_revision() + ")");
    std::string dataset;
    std::string src;
    std::string out;
    int threads = 1;
    int compression = 0;
    std::string archive;
    bool allow_unverified = false;
    app.add_option("dataset", dataset, "dataset name")
        ->required()
        ->check(CLI::IsMember({"fashion-mnist", "mnist", "cifar10", "tiny-imagenet", "synthetic"}));
    app.add_option("src_dir", src, "directory of the dataset's on-disk files ('-' for synthetic)")
        ->required();
    app.add_option("out", out, "cache file to write (replaced atomically if it exists)")
        ->required();
    app.add_option("--threads", threads, "threads decoding JPEGs (tiny-imagenet)")
        ->check(CLI::Range(1, 1024));
    app.add_option("--compression", compression,
                   "deflate level 0-9 (0: uncompressed, the fastest to read)")
        ->check(CLI::Range(0, 9));
    app.add_option("--archive", archive,
                   "the downloaded archive SRC_DIR was extracted from (cifar-10-binary.tar.gz, "
                   "tiny-imagenet-200.zip): checked against its published MD5");
    app.add_flag("--allow-unverified", allow_unverified,
                 "accept an archive or SHA256SUMS mismatch (private or modified data); the cache "
                 "records that it was unverified");
    if (const auto code = sp::app::parse_arguments(app, "sp_prepare", argc, argv)) return *code;

    const auto start = std::chrono::steady_clock::now();
    const sp::SyntheticConfig synthetic;
    // The fingerprint is taken before reading, so a file changed while decoding makes the cache
    // look stale rather than current. A missing SRC_DIR is left to read_source's message.
    std::error_code ec;
    std::string fingerprint;
    if (dataset == "synthetic" || std::filesystem::is_directory(src, ec)) {
        fingerprint = sp::current_fingerprint(dataset, src, synthetic, out);
    }
    const std::string archive_note =
        archive.empty() ? std::string() : sp::verify_archive(dataset, archive, allow_unverified);
    sp::DataSplits d = sp::read_source(dataset, src, synthetic, threads, allow_unverified);
    if (!archive_note.empty())
        d.verification = archive_note + (d.verification.empty() ? "" : "; " + d.verification);
    sp::write_cache(d, out, compression, fingerprint);
    const double seconds = sp::seconds_since(start);

    const std::uintmax_t bytes = std::filesystem::file_size(out, ec);
    std::ostringstream line;
    line << "sp_prepare: " << dataset << ": " << d.train.count << " training + " << d.eval.count
         << " evaluation images (" << d.train.channels << " x " << d.train.height << " x "
         << d.train.width << "), " << d.class_names.size() << " classes -> " << out << ", "
         << (ec ? 0 : bytes) << " bytes, " << std::fixed << std::setprecision(2) << seconds << " s";
    std::cout << line.str() << '\n';
    std::cout << "sp_prepare: checked: " << (d.verification.empty() ? "nothing" : d.verification)
              << '\n';
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    return sp::guarded_main("sp_prepare", [&] { return run(argc, argv); });
}
