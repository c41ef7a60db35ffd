// t-SNE of sp against scikit-learn (bench/tsne_peer.py) on the same HDF5 file: /embeddings
// (N x d float32) and /labels (N int64). Prints one line:
//   tsne method=<m> n=<N> seconds=<wall s of tsne()> kl=<final KL> peak_rss_mib=<MiB>
// Peak RSS is the process's high-water mark (getrusage), input included.
#include "sp/config/enums.hpp"
#include "sp/io/h5.hpp"
#include "sp/metrics/tsne.hpp"
#include "sp/util/error.hpp"

#include <CLI/CLI.hpp>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

namespace {

double peak_rss_mib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0; // KiB on Linux
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"sp t-SNE timing (see bench/tsne_notes.md)"};
    std::string file;
    std::string method = "fft";
    int threads = 2;
    std::int64_t iterations = 1000;
    app.add_option("file", file, "HDF5 file with /embeddings and /labels")->required();
    app.add_option("--method", method, "fft, barnes_hut or exact")
        ->check(CLI::IsMember(sp::enum_names<sp::TsneMethod>()));
    app.add_option("--threads", threads, "LibTorch threads");
    app.add_option("--iterations", iterations, "iterations in all");
    CLI11_PARSE(app, argc, argv);
    try {
        const sp::h5::File in = sp::h5::File::open(file);
        const sp::h5::Array<float> x = in.read_array<float>("/embeddings");
        if (x.shape.size() != 2) throw sp::DataError(file + ": /embeddings is not 2-D");
        const auto n = static_cast<std::int64_t>(x.shape[0]);
        const auto d = static_cast<std::int64_t>(x.shape[1]);
        sp::TsneOptions opt;
        opt.threads = threads;
        opt.iterations = iterations;
        opt.exaggeration_iterations = std::min<std::int64_t>(250, iterations);
        opt.method = sp::enum_from_name<sp::TsneMethod>(method).value(); // checked by CLI11
        const auto t0 = std::chrono::steady_clock::now();
        const sp::TsneResult r = sp::tsne(x.data.data(), n, d, opt);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("tsne method=%s n=%lld seconds=%.3f kl=%.6f peak_rss_mib=%.1f\n",
                    method.c_str(), static_cast<long long>(n), seconds, r.kl_divergence,
                    peak_rss_mib());
    } catch (const sp::Error& e) {
        std::cerr << e.what() << '\n';
        return e.exit_code();
    }
    return 0;
}
