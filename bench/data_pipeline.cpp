// Images per second of sp's whole data pipeline, the work a torchvision DataLoader does in
// bench/data_peer.py: Fashion-MNIST training images (uint8 in memory), a shuffled epoch, random
// crop 28 with padding 4, horizontal flip, to float, normalise, batches of 128 as torch tensors.
// Prints one line per epoch, the median, and a "RESULT" line bench/data_bench.sh parses.
#include "sp/config/dataset_facts.hpp"
#include "sp/data/batches.hpp"
#include "sp/data/readers.hpp"
#include "sp/util/error.hpp"
#include "sp/util/main.hpp"
#include "sp/util/rng.hpp"

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

namespace {

// 60,000 x 1 x 28 x 28 bytes of a fixed pseudo-random stream: Fashion-MNIST's shape when the
// reader or the files are not there (the content does not change the work done).
sp::ImageSet synthetic_fashion_mnist() {
    sp::ImageSet s;
    s.count = 60000;
    s.channels = 1;
    s.height = 28;
    s.width = 28;
    s.pixels.resize(static_cast<std::size_t>(s.count * s.image_bytes()));
    sp::SplitMixRng rng(/*seed=*/1);
    for (auto& p : s.pixels) p = static_cast<std::uint8_t>(rng.next() >> 56U);
    s.labels.resize(static_cast<std::size_t>(s.count));
    for (std::size_t i = 0; i < s.labels.size(); ++i)
        s.labels[i] = static_cast<std::int64_t>(i % 10);
    return s;
}

// The training split of Fashion-MNIST from `dir`, or the synthetic stand-in; `source` says which.
sp::ImageSet load(const std::string& dir, bool synthetic, std::string& source) {
    if (!synthetic) {
        try {
            sp::DataSplits d = sp::read_idx_dataset(dir, "fashion-mnist");
            source = "Fashion-MNIST train from " + dir;
            return std::move(d.train);
        } catch (const sp::Error& e) {
            source =
                std::string("synthetic 60000x1x28x28 (Fashion-MNIST unreadable: ") + e.what() + ")";
            return synthetic_fashion_mnist();
        }
    }
    source = "synthetic 60000x1x28x28 (--synthetic)";
    return synthetic_fashion_mnist();
}

int run(int argc, char** argv) {
    CLI::App app{"sp_bench_data_pipeline: images/s of sp's data pipeline over full epochs "
                 "(see bench/README.md, bench/data_bench.sh)."};
    std::string data = sp::dataset_facts("fashion-mnist").default_root;
    bool synthetic = false;
    int threads = 1;
    int reps = 5;
    std::int64_t batch_size = 128;
    std::int64_t model_channels = 1;
    std::int64_t resize = 0;
    bool channels_last = false;
    app.add_option("--data", data, "Fashion-MNIST IDX directory")->capture_default_str();
    app.add_flag("--synthetic", synthetic, "use random images of Fashion-MNIST's shape");
    app.add_option("--threads", threads, "sp loader threads = LibTorch intra-op threads")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    app.add_option("--reps", reps, "timed epochs; the median is reported")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    app.add_option("--batch", batch_size, "batch size")->check(CLI::Range(1, 1 << 20));
    app.add_option("--model-channels", model_channels, "replicate to this many channels")
        ->check(CLI::Range(1, 3));
    app.add_option("--resize", resize, "bilinear resize to this side (0: none)")
        ->check(CLI::Range(0, 1024));
    app.add_flag("--channels-last", channels_last, "channels_last batches");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    std::string source;
    const sp::ImageSet images = load(data, synthetic, source);
    at::set_num_threads(threads);

    sp::DatasetConfig cfg;
    cfg.name = "fashion-mnist";
    cfg.augment = true;
    cfg.crop_padding = 4;
    cfg.hflip = true;
    cfg.resize = resize;
    cfg.channels_last = channels_last;
    const sp::TransformSpec spec =
        sp::make_transform_spec(cfg, sp::dataset_facts("fashion-mnist"), images, model_channels);
    sp::LoaderOptions opt;
    opt.batch_size = batch_size;
    opt.shuffle = true;
    opt.threads = threads;
    opt.seed = 1;
    std::vector<std::int64_t> all(static_cast<std::size_t>(images.count));
    std::iota(all.begin(), all.end(), 0);
    sp::BatchLoader loader(images, all, spec, opt);

    std::cout << "sp data pipeline: " << source << "\n"
              << "  RandomCrop(" << images.height << ", padding=4) + flip + normalize"
              << (resize > 0 ? " + resize " + std::to_string(resize) : "") << ", " << model_channels
              << " channel(s), batch " << batch_size << ", shuffle, threads " << threads
              << " (LibTorch " << at::get_num_threads() << ")\n";
    // One untimed batch: first-touch allocations and the thread pool's start.
    loader.start_epoch(/*epoch=*/0);
    (void)loader.next();

    std::vector<double> rates;
    double checksum = 0;
    for (int r = 0; r < reps; ++r) {
        loader.start_epoch(r + 1);
        std::int64_t n = 0;
        const auto t0 = std::chrono::steady_clock::now();
        while (auto b = loader.next()) {
            n += b->images.size(0);
            checksum += b->images.data_ptr<float>()[0];
        }
        const std::chrono::duration<double> s = std::chrono::steady_clock::now() - t0;
        rates.push_back(static_cast<double>(n) / s.count());
        std::printf("  epoch %d: %lld images in %.3f s = %.0f images/s\n", r + 1,
                    static_cast<long long>(n), s.count(), rates.back());
    }
    std::sort(rates.begin(), rates.end());
    const double median = rates.size() % 2 == 1
                              ? rates[rates.size() / 2]
                              : (rates[rates.size() / 2 - 1] + rates[rates.size() / 2]) / 2;
    std::printf("  median of %d: %.0f images/s (checksum %.3f)\n", reps, median, checksum);
    std::printf("RESULT sp threads=%d images_per_s=%.0f\n", threads, median);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    return sp::guarded_main("sp_bench_data_pipeline", [&] { return run(argc, argv); });
}
