#include "sp/al/rounds.hpp"

#include <cstdio>

namespace sp {
namespace {

std::string round_name(std::size_t round) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "round_%03zu", round);
    return buf;
}

} // namespace

void write_rounds(h5::File& f, const std::string& path, const AlState& st, const AlConfig& al,
                  std::int64_t classes, int compression) {
    h5::Group g = f.create_group(path);
    g.write_attribute("strategy", std::string(enum_name(al.strategy)));
    g.write_attribute("start", std::string(enum_name(al.start)));
    g.write_attribute("initial_sampling", std::string(enum_name(al.initial_sampling)));
    g.write_attribute("round", st.round);
    g.write<std::int64_t>("labelled", st.labelled);
    std::vector<std::int64_t> sizes;
    std::vector<double> accuracy;
    for (const RoundRecord& r : st.rounds) {
        sizes.push_back(r.labelled_size);
        accuracy.push_back(r.accuracy);
    }
    g.write<std::int64_t>("labelled_size", sizes);
    g.write<double>("accuracy", accuracy);
    const auto k = static_cast<std::uint64_t>(classes);
    for (std::size_t i = 0; i < st.rounds.size(); ++i) {
        const RoundRecord& r = st.rounds[i];
        h5::Group rg = g.create_group(round_name(i));
        rg.write_attribute("labelled_size", r.labelled_size);
        rg.write_attribute("epochs", r.epochs);
        rg.write_attribute("first_epoch", r.first_epoch);
        rg.write_attribute("accuracy", r.accuracy);
        rg.write_attribute("seconds", r.seconds);
        rg.write<std::int64_t>("queried_indices", r.queried);
        if (!r.scores.empty() || r.queried.empty()) rg.write<double>("queried_scores", r.scores);
        rg.write<std::int64_t>("queried_class_histogram", r.class_histogram);
        if (!r.pool.empty()) {
            const auto n = static_cast<std::uint64_t>(r.pool.size());
            rg.write<std::int64_t>("pool_indices", r.pool);
            rg.write<float>("pool_logits", r.pool_logits, {n, k});
            const std::uint64_t d = r.pool_embeddings.size() / n;
            rg.write<float>("pool_embeddings", r.pool_embeddings, {n, d});
            if (!r.labelled_embeddings.empty()) {
                rg.write<float>("labelled_embeddings", r.labelled_embeddings,
                                {r.labelled_embeddings.size() / d, d});
            }
            if (r.mc_samples > 0) {
                rg.write<float>("mc_probs", r.mc_probs,
                                {static_cast<std::uint64_t>(r.mc_samples), n, k});
            }
        }
        if (r.metrics)
            write_analysis(f, *r.metrics, compression, path + "/" + round_name(i) + "/metrics");
    }
}

AlState read_rounds(const h5::File& f, const std::string& path) {
    const h5::Group g = f.open_group(path);
    AlState st;
    st.round = g.read_attribute<std::int64_t>("round");
    st.labelled = g.read<std::int64_t>("labelled");
    for (std::size_t i = 0; g.exists(round_name(i)); ++i) {
        const h5::Group rg = g.open_group(round_name(i));
        RoundRecord r;
        r.labelled_size = rg.read_attribute<std::int64_t>("labelled_size");
        r.epochs = rg.read_attribute<std::int64_t>("epochs");
        r.first_epoch = rg.read_attribute<std::int64_t>("first_epoch");
        r.accuracy = rg.read_attribute<double>("accuracy");
        r.seconds = rg.read_attribute<double>("seconds");
        r.queried = rg.read<std::int64_t>("queried_indices");
        if (rg.exists("queried_scores")) r.scores = rg.read<double>("queried_scores");
        r.class_histogram = rg.read<std::int64_t>("queried_class_histogram");
        if (rg.exists("pool_indices")) {
            r.pool = rg.read<std::int64_t>("pool_indices");
            r.pool_logits = rg.read<float>("pool_logits", {h5::kAnyDim, h5::kAnyDim});
            r.pool_embeddings = rg.read<float>("pool_embeddings", {h5::kAnyDim, h5::kAnyDim});
            if (rg.exists("labelled_embeddings"))
                r.labelled_embeddings =
                    rg.read<float>("labelled_embeddings", {h5::kAnyDim, h5::kAnyDim});
            if (rg.exists("mc_probs")) {
                r.mc_probs = rg.read<float>("mc_probs", {h5::kAnyDim, h5::kAnyDim, h5::kAnyDim});
                r.mc_samples = static_cast<std::int64_t>(rg.shape("mc_probs")[0]);
            }
        }
        if (rg.exists("metrics"))
            r.metrics = read_analysis(f, path + "/" + round_name(i) + "/metrics");
        st.rounds.push_back(std::move(r));
    }
    return st;
}

} // namespace sp
