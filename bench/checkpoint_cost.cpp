// The cost of one active-learning checkpoint (seconds and bytes) at each round, with the round
// records inside every checkpoint (before: what sp did until issue 17 item 9) and written once,
// each to its own file beside the checkpoint (after: al/loop.cpp now), for
// bench/checkpoint_cost.sh.
//
// It saves what RoundLoop saves: the real save_checkpoint of a ResNet18 of the given shape with a
// stepped Adam optimizer (moments filled) and the /al state of round r: r finished rounds, each
// with its queried indices and scores, and with --pool-outputs what al.save_pool_outputs keeps
// (pool logits and embeddings, labelled embeddings). Values are random: only sizes matter.
// Prints one line per round and layout:
//   <layout> round <r> checkpoint_s <median s> checkpoint_bytes <B> round_file_s <s>
//   round_file_bytes <B>
// round_file_*: the record written once at that round boundary (after only; 0 otherwise).
#include "sp/al/rounds.hpp"
#include "sp/config/experiment.hpp"
#include "sp/train/checkpoint.hpp"
#include "sp/train/model_init.hpp"
#include "sp/train/trainer.hpp"

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <vector>

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::uintmax_t size_of(const std::string& path) {
    std::error_code ec;
    const auto s = std::filesystem::file_size(path, ec);
    return ec ? 0 : s;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"checkpoint cost per round, round records in every checkpoint vs written once"};
    std::string dir = "/tmp/sp-checkpoint-cost";
    std::string stem = "cifar";
    double width = 1.0;
    std::int64_t classes = 10, train = 50000, initial = 5000, query = 5000, rounds = 10;
    bool pool_outputs = false;
    int repeats = 3;
    app.add_option("--dir", dir, "scratch folder (removed at the end)");
    app.add_option("--stem", stem, "model.stem");
    app.add_option("--width", width, "model.width");
    app.add_option("--classes", classes, "K");
    app.add_option("--train", train, "training-set size");
    app.add_option("--initial", initial, "al.initial");
    app.add_option("--query", query, "al.query");
    app.add_option("--rounds", rounds, "rounds with a record (the last round has none)");
    app.add_flag("--pool-outputs", pool_outputs, "al.save_pool_outputs = true");
    app.add_option("--repeats", repeats, "checkpoints timed per round and layout (median)");
    CLI11_PARSE(app, argc, argv);
    torch::set_num_threads(1);

    sp::ModelConfig mc;
    mc.stem = stem;
    mc.width = width;
    sp::ResNet18 model = sp::build_model(mc, classes, 1, torch::kCPU);
    sp::TrainConfig tc;
    auto opt = sp::make_optimizer(tc, model->parameters());
    {
        // One Adam step: the moments exist (a checkpoint in training holds them).
        const torch::Tensor x = torch::randn({2, 3, 32, 32});
        const torch::Tensor y = torch::randint(classes, {2}, torch::kInt64);
        opt->zero_grad();
        torch::nn::functional::cross_entropy(model->forward(x), y).backward();
        opt->step();
    }
    const std::int64_t dim = static_cast<std::int64_t>(512 * width);

    std::mt19937_64 gen(7);
    std::uniform_real_distribution<float> u(-1, 1);
    auto floats = [&](std::int64_t n) {
        std::vector<float> v(static_cast<std::size_t>(n));
        for (float& x : v) x = u(gen);
        return v;
    };
    sp::AlConfig al;
    al.strategy = sp::Strategy::least_confidence;
    sp::AlState st;
    for (std::int64_t i = 0; i < initial; ++i) st.labelled.push_back(i);
    std::vector<sp::RoundRecord> records;
    for (std::int64_t r = 0; r < rounds; ++r) {
        sp::RoundRecord rec;
        const std::int64_t labelled = std::min(train, initial + r * query);
        const std::int64_t pool = train - labelled;
        const std::int64_t q = std::min(query, pool);
        rec.labelled_size = labelled;
        rec.epochs = 20;
        rec.first_epoch = 20 * r;
        for (std::int64_t i = 0; i < q; ++i) {
            rec.queried.push_back(labelled + i);
            rec.scores.push_back(u(gen));
        }
        rec.class_histogram.assign(static_cast<std::size_t>(classes), q / classes);
        if (pool_outputs && pool > 0) {
            for (std::int64_t i = 0; i < pool; ++i) rec.pool.push_back(labelled + i);
            rec.pool_logits = floats(pool * classes);
            rec.pool_embeddings = floats(pool * dim);
            rec.labelled_embeddings = floats(labelled * dim);
        }
        records.push_back(std::move(rec));
    }

    std::filesystem::create_directories(dir);
    const std::string ckpt = dir + "/checkpoint.h5";
    const sp::CheckpointOrigin origin = sp::this_build(1);
    sp::TrainState state;
    state.epoch = 3;
    for (int layout = 0; layout < 2; ++layout) {
        const bool before = layout == 0;
        st.rounds.clear();
        st.labelled.resize(static_cast<std::size_t>(initial));
        sp::remove_round_records(ckpt);
        for (std::int64_t r = 0; r <= rounds; ++r) {
            st.round = r;
            double round_s = 0;
            std::uintmax_t round_bytes = 0;
            if (r > 0) {
                st.rounds.push_back(records[static_cast<std::size_t>(r - 1)]);
                for (std::int64_t i : st.rounds.back().queried) st.labelled.push_back(i);
                if (!before) {
                    const std::string path = sp::round_record_path(ckpt, r - 1);
                    const auto t0 = std::chrono::steady_clock::now();
                    sp::save_round_record(path, "bench", r - 1, st.rounds.back(), classes);
                    round_s = seconds_since(t0);
                    round_bytes = size_of(path);
                }
            }
            std::vector<double> times;
            for (int k = 0; k < repeats; ++k) {
                const auto t0 = std::chrono::steady_clock::now();
                sp::save_checkpoint(
                    ckpt, "bench", origin, *model, *opt, state, [&](sp::h5::File& f) {
                        sp::write_rounds(f, "/al", st, al, classes, 0, /*records=*/before);
                    });
                times.push_back(seconds_since(t0));
            }
            std::printf("%s round %lld checkpoint_s %.4f checkpoint_bytes %llu round_file_s %.4f "
                        "round_file_bytes %llu\n",
                        before ? "before" : "after", static_cast<long long>(r), median(times),
                        static_cast<unsigned long long>(size_of(ckpt)), round_s,
                        static_cast<unsigned long long>(round_bytes));
            std::fflush(stdout);
        }
    }
    std::filesystem::remove_all(dir);
    return 0;
}
