#include "sp/al/rounds.hpp"

#include "sp/io/atomic.hpp"
#include "sp/util/error.hpp"

#include <cstdio>
#include <filesystem>

namespace sp {
namespace {

std::string round_name(std::size_t round) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "round_%03zu", round);
    return buf;
}

/// "<dir>/<id>.h5" -> "<dir>/<id>.al".
std::string round_record_dir(const std::string& checkpoint) {
    std::filesystem::path p(checkpoint);
    p.replace_extension(".al");
    return p.string();
}

} // namespace

void write_round(h5::File& f, const std::string& path, const RoundRecord& r, std::int64_t classes,
                 int compression) {
    const auto k = static_cast<std::uint64_t>(classes);
    h5::Group rg = f.create_group(path);
    rg.write_attribute("labelled_size", r.labelled_size);
    rg.write_attribute("epochs", r.epochs);
    rg.write_attribute("first_epoch", r.first_epoch);
    rg.write_attribute("accuracy", r.accuracy);
    rg.write_attribute("seconds", r.seconds);
    rg.write<std::int64_t>("queried_indices", r.queried);
    if (!r.scores.empty() || r.queried.empty()) rg.write<double>("queried_scores", r.scores);
    rg.write<std::int64_t>("queried_class_histogram", r.class_histogram);
    if (!r.pool_subset.empty()) rg.write<std::int64_t>("pool_subset_indices", r.pool_subset);
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
    if (r.metrics) write_analysis(f, *r.metrics, compression, path + "/metrics");
}

RoundRecord read_round(const h5::File& f, const std::string& path) {
    const h5::Group rg = f.open_group(path);
    RoundRecord r;
    r.labelled_size = rg.read_attribute<std::int64_t>("labelled_size");
    r.epochs = rg.read_attribute<std::int64_t>("epochs");
    r.first_epoch = rg.read_attribute<std::int64_t>("first_epoch");
    r.accuracy = rg.read_attribute<double>("accuracy");
    r.seconds = rg.read_attribute<double>("seconds");
    r.queried = rg.read<std::int64_t>("queried_indices");
    if (rg.exists("queried_scores")) r.scores = rg.read<double>("queried_scores");
    r.class_histogram = rg.read<std::int64_t>("queried_class_histogram");
    if (rg.exists("pool_subset_indices"))
        r.pool_subset = rg.read<std::int64_t>("pool_subset_indices");
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
    if (rg.exists("metrics")) r.metrics = read_analysis(f, path + "/metrics");
    return r;
}

void write_rounds(h5::File& f, const std::string& path, const AlState& st, const AlConfig& al,
                  std::int64_t classes, int compression, bool records) {
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
    if (!records) return;
    for (std::size_t i = 0; i < st.rounds.size(); ++i)
        write_round(f, path + "/" + round_name(i), st.rounds[i], classes, compression);
}

AlState read_rounds(const h5::File& f, const std::string& path) {
    const h5::Group g = f.open_group(path);
    AlState st;
    st.round = g.read_attribute<std::int64_t>("round");
    st.labelled = g.read<std::int64_t>("labelled");
    for (std::size_t i = 0; g.exists(round_name(i)); ++i)
        st.rounds.push_back(read_round(f, path + "/" + round_name(i)));
    return st;
}

std::string round_record_path(const std::string& checkpoint, std::int64_t round) {
    return round_record_dir(checkpoint) + "/" + round_name(static_cast<std::size_t>(round)) + ".h5";
}

void save_round_record(const std::string& path, const std::string& replicate_id, std::int64_t round,
                       const RoundRecord& r, std::int64_t classes) {
    io::AtomicH5File out(path);
    h5::File& f = out.file();
    f.write_attribute("file_kind", "al_round");
    f.write_attribute("replicate_id", replicate_id);
    f.write_attribute("round", round);
    write_round(f, "/round", r, classes, 0);
    out.commit();
}

RoundRecord load_round_record(const std::string& path, const std::string& replicate_id,
                              std::int64_t round) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        throw DataError(path + ": the record of round " + std::to_string(round) +
                        " is missing beside its checkpoint; delete the checkpoint to start over");
    }
    const h5::File f = h5::File::open(path);
    if (!f.has_attribute("file_kind") || f.read_attribute<std::string>("file_kind") != "al_round")
        throw DataError(path + ": not a round record (file_kind is not \"al_round\")");
    const auto id = f.read_attribute<std::string>("replicate_id");
    const auto found = f.read_attribute<std::int64_t>("round");
    if (id != replicate_id || found != round) {
        throw DataError(path + ": record of round " + std::to_string(found) + " of replicate " +
                        id + ", not round " + std::to_string(round) + " of " + replicate_id);
    }
    return read_round(f, "/round");
}

void remove_round_records(const std::string& checkpoint) noexcept {
    try {
        std::error_code ec;
        std::filesystem::remove_all(round_record_dir(checkpoint), ec);
    } catch (...) { // remove_all with an error_code may still throw bad_alloc
    }
}

} // namespace sp
