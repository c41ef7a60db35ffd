#include "sp/train/history.hpp"

namespace sp {

void write_history(h5::Location& where, const std::string& path,
                   const std::vector<EpochRecord>& history) {
    h5::Group g = where.create_group(path);
    std::vector<std::int32_t> epoch;
    std::vector<double> loss, train_acc, eval_acc, seconds, ips;
    for (const auto& r : history) {
        epoch.push_back(r.epoch);
        loss.push_back(r.loss);
        train_acc.push_back(r.train_accuracy);
        eval_acc.push_back(r.eval_accuracy);
        seconds.push_back(r.seconds);
        ips.push_back(r.images_per_second);
    }
    g.write("epoch", epoch);
    g.write("loss", loss);
    g.write("train_accuracy", train_acc);
    g.write("eval_accuracy", eval_acc);
    g.write("seconds", seconds);
    g.write("images_per_second", ips);
}

std::vector<EpochRecord> read_history(const h5::Location& where, const std::string& path) {
    const h5::Group g = where.open_group(path);
    const auto epoch = g.read<std::int32_t>("epoch");
    const std::uint64_t e = epoch.size();
    const auto loss = g.read<double>("loss", {e});
    const auto train_acc = g.read<double>("train_accuracy", {e});
    const auto eval_acc = g.read<double>("eval_accuracy", {e});
    const auto seconds = g.read<double>("seconds", {e});
    const auto ips = g.read<double>("images_per_second", {e});
    std::vector<EpochRecord> out;
    for (std::size_t i = 0; i < epoch.size(); ++i) {
        out.push_back({epoch[i], loss[i], train_acc[i], eval_acc[i], seconds[i], ips[i]});
    }
    return out;
}

} // namespace sp
