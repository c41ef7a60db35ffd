// sp_bench_metrics: times one metric of sp on an HDF5 file with /embeddings (N x D float32) and
// /labels (N int64), as written by bench/tsne_peer.py --make. One metric per process, so that
// the peak resident memory printed is that metric's own. bench/metrics_bench.sh runs it beside
// scikit-learn and NumPy (bench/metrics_peer.py) and prints the ratios.
//
//     sp_bench_metrics FILE --metric silhouette_euclidean|silhouette_cosine|cosine_histogram|
//                                    davies_bouldin|superposition [--threads T]
#include "sp/io/h5.hpp"
#include "sp/metrics/clusters.hpp"
#include "sp/metrics/cosine.hpp"
#include "sp/metrics/superposition.hpp"
#include "sp/util/memory.hpp"

#include <CLI/CLI.hpp>
#include <sys/resource.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    CLI::App app{"Time one sp metric on an HDF5 embeddings file."};
    std::string file;
    std::string metric;
    int threads = 2;
    app.add_option("file", file)->required();
    app.add_option("--metric", metric)
        ->required()
        ->check(CLI::IsMember({"silhouette_euclidean", "silhouette_cosine", "cosine_histogram",
                               "davies_bouldin", "superposition"}));
    app.add_option("--threads", threads);
    CLI11_PARSE(app, argc, argv);
    sp::tune_allocator();
    torch::set_num_threads(threads);
    const sp::h5::File f = sp::h5::File::open(file);
    const auto shape = f.shape("/embeddings");
    const std::vector<float> x = f.read<float>("/embeddings", shape);
    const std::vector<std::int64_t> y = f.read<std::int64_t>("/labels", {shape[0]});
    const auto n = static_cast<std::int64_t>(shape[0]);
    const auto d = static_cast<std::int64_t>(shape[1]);
    std::int64_t k = 0;
    for (auto v : y) k = std::max(k, v + 1);

    // OpenMP starts its threads at the first parallel region of a process; in sp that is long
    // before the metrics (training), so it is not timed here.
    std::vector<double> warm(1024, 1.0);
    at::parallel_for(0, 1024, 1, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) warm[static_cast<std::size_t>(i)] *= 2.0;
    });

    const auto t0 = std::chrono::steady_clock::now();
    double value = 0.0;
    if (metric == "silhouette_euclidean") {
        value = sp::silhouette(x.data(), n, d, y.data(), k, sp::Distance::euclidean).mean;
    } else if (metric == "silhouette_cosine") {
        value = sp::silhouette(x.data(), n, d, y.data(), k, sp::Distance::cosine).mean;
    } else if (metric == "cosine_histogram") {
        value = sp::cosine_statistics(x.data(), n, d, y.data(), k).all.mean;
    } else if (metric == "davies_bouldin") {
        value = sp::davies_bouldin(x.data(), n, d, y.data(), k);
    } else {
        value = sp::superposition_measures(x.data(), n, d, y.data(), k).participation_ratio;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("sp %s n=%lld seconds=%.4f value=%.12g peak_rss_mib=%.0f\n", metric.c_str(),
                static_cast<long long>(n), seconds, value,
                static_cast<double>(usage.ru_maxrss) / 1024.0);
    return 0;
}
