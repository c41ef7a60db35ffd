#include "sp/plan/plan.hpp"

#include "sp/config/dataset_facts.hpp"
#include "sp/util/error.hpp"
#include "sp/util/rng.hpp"
#include "sp/util/strings.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

namespace sp {
namespace {

std::string coordinates_text(const Replicate& r) {
    std::vector<std::string> parts;
    for (const auto& [axis, label] : r.coordinates) parts.push_back(axis + "=" + label);
    return "{" + join(parts, ", ") + "}";
}

/// Checks that depend on the dataset's size, reported where the offending key was set.
void validate_against_dataset(const Experiment& e, const SourceMap& sources, Diagnostics& diag) {
    auto where = [&](const std::string& key) {
        auto it = sources.find(key);
        return it == sources.end() ? Source{} : it->second;
    };
    const DatasetFacts facts = dataset_facts(e.dataset.name, e.dataset.synthetic);
    if (e.dataset.train_subset > facts.train_size) {
        diag.add(where("dataset.train_subset"), "dataset.train_subset",
                 std::to_string(e.dataset.train_subset) + " exceeds " + e.dataset.name + "'s " +
                     std::to_string(facts.train_size) + " training images");
    }
    if (e.dataset.eval_subset > facts.eval_size) {
        diag.add(where("dataset.eval_subset"), "dataset.eval_subset",
                 std::to_string(e.dataset.eval_subset) + " exceeds " + e.dataset.name + "'s " +
                     std::to_string(facts.eval_size) + " evaluation images");
    }
    const auto channels = static_cast<std::size_t>(facts.channels);
    for (const char* key : {"dataset.mean", "dataset.std"}) {
        const auto& v = std::string(key) == "dataset.mean" ? e.dataset.mean : e.dataset.std;
        if (!v.empty() && v.size() != 1 && v.size() != channels) {
            diag.add(where(key), key,
                     e.dataset.name + " has " + std::to_string(channels) + " channel(s), got " +
                         std::to_string(v.size()) + " values");
        }
    }
    if (e.al.strategy != Strategy::baseline) {
        const std::int64_t n = effective_train_size(e.dataset);
        if (e.al.initial >= n) {
            diag.add(where("al.initial"), "al.initial",
                     "initial pool of " + std::to_string(e.al.initial) +
                         " leaves nothing to query from " + std::to_string(n) + " training images");
        }
    }
    if (e.model.num_classes > 0 && e.model.num_classes < facts.classes) {
        diag.add(where("model.num_classes"), "model.num_classes",
                 std::to_string(e.model.num_classes) + " is fewer than " + e.dataset.name + "'s " +
                     std::to_string(facts.classes) + " classes");
    }
}

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

} // namespace

SeedStreams derive_seeds(std::uint64_t sweep_seed, std::uint64_t replicate_seed,
                         std::int64_t fixed_tsne_seed) {
    const std::uint64_t root = mix_seed(sweep_seed, replicate_seed);
    auto stream = [root](Stream s) { return mix_seed(root, static_cast<std::uint64_t>(s)); };
    SeedStreams out;
    out.pool = stream(Stream::pool);
    out.init = stream(Stream::init);
    out.data = stream(Stream::data);
    out.dropout = stream(Stream::dropout);
    out.tsne =
        fixed_tsne_seed >= 0 ? static_cast<std::uint64_t>(fixed_tsne_seed) : stream(Stream::tsne);
    return out;
}

std::vector<std::int64_t> labelled_sizes(const Experiment& e) {
    const std::int64_t n = effective_train_size(e.dataset);
    if (e.al.strategy == Strategy::baseline) return {n};
    std::vector<std::int64_t> sizes;
    std::int64_t labelled = std::min(e.al.initial, n);
    sizes.push_back(labelled);
    while (labelled < n &&
           (e.al.rounds == 0 || static_cast<std::int64_t>(sizes.size()) <= e.al.rounds)) {
        labelled = std::min(labelled + e.al.query, n);
        sizes.push_back(labelled);
    }
    return sizes;
}

double estimate_cost(const Experiment& e) {
    const DatasetFacts facts = dataset_facts(e.dataset.name, e.dataset.synthetic);
    const double side =
        static_cast<double>(e.dataset.resize > 0 ? e.dataset.resize : facts.image_size);
    double per_image = side * side * e.model.width * e.model.width;
    if (e.model.stem == "imagenet") per_image /= 16.0;
    const auto n_train = static_cast<double>(effective_train_size(e.dataset));
    const auto n_eval = static_cast<double>(effective_eval_size(e.dataset));
    // A forward pass costs about a third of a training step (forward + backward).
    constexpr double kForward = 1.0 / 3.0;
    const auto sizes = labelled_sizes(e);
    const double epochs = static_cast<double>(
        e.al.strategy != Strategy::baseline && e.al.epochs > 0 ? e.al.epochs : e.train.epochs);
    double images = 0;
    for (std::size_t r = 0; r < sizes.size(); ++r) {
        const auto labelled = static_cast<double>(sizes[r]);
        images += labelled * epochs + n_eval * kForward * epochs; // training + per-epoch eval
        if (r + 1 < sizes.size()) {
            const double passes =
                e.al.strategy == Strategy::bald ? static_cast<double>(e.al.mc_samples) : 1.0;
            images += (n_train - labelled) * kForward * passes; // scoring the unlabelled pool
        }
    }
    return images * per_image * 1e-6;
}

std::vector<int> assign_ranks(const std::vector<Replicate>& replicates, int ranks) {
    SP_CHECK(ranks >= 1, "rank count must be >= 1");
    std::vector<std::size_t> order(replicates.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (replicates[a].cost != replicates[b].cost)
            return replicates[a].cost > replicates[b].cost;
        return replicates[a].id < replicates[b].id;
    });
    std::vector<double> load(static_cast<std::size_t>(ranks), 0.0);
    std::vector<int> out(replicates.size(), 0);
    for (std::size_t i : order) {
        const auto least = std::min_element(load.begin(), load.end()) - load.begin();
        out[i] = static_cast<int>(least);
        load[static_cast<std::size_t>(least)] += replicates[i].cost;
    }
    return out;
}

Plan make_plan(const Sweep& sweep, int ranks, MissingWeights missing) {
    if (ranks < 1) throw ConfigError("--ranks: must be >= 1, got " + std::to_string(ranks));
    Plan plan;
    plan.file = sweep.file;
    plan.name = sweep.name;
    plan.description = sweep.description;
    plan.sweep_seed = sweep.seed;
    plan.ranks = ranks;
    for (const auto& a : sweep.axes) plan.axes.push_back(a.name);

    Diagnostics diag;
    std::set<std::string> reported;
    auto merge = [&](const Diagnostics& d) {
        for (const auto& item : d.items()) {
            if (reported.insert(item.format()).second)
                diag.add(item.source, item.key, item.message);
        }
    };

    // Odometer over the axes; the last axis turns fastest, seeds innermost.
    std::vector<std::size_t> at(sweep.axes.size(), 0);
    std::map<std::string, std::size_t> by_id;
    // Unreadable weights are collected, then reported with the other problems (or, for a plan
    // only shown, named by file name).
    WeightsDigests weights(/*allow_missing=*/true);
    std::map<std::string, Source> weights_source;
    bool done = false;
    while (!done) {
        Experiment base = sweep.base;
        SourceMap sources = sweep.base_sources;
        std::vector<std::pair<std::string, std::string>> coords;
        for (std::size_t a = 0; a < sweep.axes.size(); ++a) {
            const Axis& axis = sweep.axes[a];
            for (const Setting& s : axis.points[at[a]]) {
                find_field(s.key)->set(base, s.value);
                sources[s.key] = s.source;
            }
            coords.emplace_back(axis.name, axis.labels[at[a]]);
        }
        for (const Setting& s : sweep.overrides) {
            find_field(s.key)->set(base, s.value);
            sources[s.key] = s.source;
        }
        Diagnostics local;
        validate_experiment(base, sources, local);
        validate_against_dataset(base, sources, local);
        merge(local);

        for (std::uint64_t seed : sweep.seeds) {
            Replicate r;
            r.index = plan.replicates.size();
            r.coordinates = coords;
            r.coordinates.emplace_back("seed", std::to_string(seed));
            r.seed = seed;
            r.config = base;
            r.sources = sources;
            r.seeds = derive_seeds(sweep.seed, seed, base.metrics.tsne.seed);
            r.effective = plan_effective(base, weights);
            if (!base.model.pretrained.empty()) {
                const auto it = sources.find("model.pretrained");
                weights_source.emplace(base.model.pretrained,
                                       it == sources.end() ? Source{} : it->second);
            }
            r.id = replicate_id(base, r.effective, sweep.seed, seed);
            if (local.empty()) r.cost = estimate_cost(base);
            auto [it, fresh] = by_id.emplace(r.id, r.index);
            if (!fresh) {
                const Replicate& other = plan.replicates[it->second];
                diag.add(Source::in_file(sweep.file, 0, 0), "",
                         "replicates " + coordinates_text(other) + " and " + coordinates_text(r) +
                             " resolve to the same configuration (ID " + r.id +
                             "): an axis value or --set makes them identical");
            }
            plan.replicates.push_back(std::move(r));
        }

        std::size_t a = sweep.axes.size();
        for (;;) {
            if (a == 0) {
                done = true;
                break;
            }
            --a;
            if (++at[a] < sweep.axes[a].points.size()) break;
            at[a] = 0;
        }
    }
    if (missing == MissingWeights::refuse) {
        for (const std::string& path : weights.missing())
            diag.add(weights_source[path], "model.pretrained", weights.why_missing(path));
    }
    diag.throw_if_any();
    plan.missing_weights = weights.missing();
    const auto assigned = assign_ranks(plan.replicates, ranks);
    for (std::size_t i = 0; i < assigned.size(); ++i) plan.replicates[i].rank = assigned[i];
    return plan;
}

std::string resolved_toml(const Plan& plan, const Replicate& r) {
    std::ostringstream out;
    out << "# Resolved configuration of replicate " << r.id << " of sweep \"" << plan.name
        << "\"\n";
    out << "# coordinates: " << coordinates_text(r) << "\n\n";
    out << experiment_to_toml(r.config) << "\n";
    out << "[sweep]\n";
    out << "name = " << value_to_toml(Value{plan.name}) << "\n";
    out << "seed = " << plan.sweep_seed << "\n";
    out << "seeds = [" << r.seed << "]\n";
    return out.str();
}

std::string format_plan(const Plan& plan) {
    // Axes shown in their own columns: all but those already shown as dataset and strategy.
    std::vector<std::size_t> shown;
    for (std::size_t a = 0; a < plan.axes.size(); ++a) {
        const std::string& name = plan.axes[a];
        bool redundant = true;
        for (const auto& r : plan.replicates) {
            const std::string& label = r.coordinates[a].second;
            const bool as_dataset =
                (name == "dataset" || name == "dataset.name") && label == r.config.dataset.name;
            const bool as_strategy = (name == "strategy" || name == "al.strategy") &&
                                     label == enum_name(r.config.al.strategy);
            if (!as_dataset && !as_strategy) {
                redundant = false;
                break;
            }
        }
        if (!redundant) shown.push_back(a);
    }
    std::vector<std::string> header = {"#", "id", "dataset", "strategy", "seed"};
    for (std::size_t a : shown) header.push_back(plan.axes[a]);
    header.emplace_back("rank");
    header.emplace_back("cost");

    std::vector<std::vector<std::string>> rows;
    for (const auto& r : plan.replicates) {
        std::vector<std::string> row = {std::to_string(r.index + 1), r.id, r.config.dataset.name,
                                        std::string(enum_name(r.config.al.strategy)),
                                        std::to_string(r.seed)};
        for (std::size_t a : shown) row.push_back(r.coordinates[a].second);
        row.push_back(std::to_string(r.rank));
        row.push_back(fixed(r.cost, 2));
        rows.push_back(std::move(row));
    }
    std::vector<std::size_t> width(header.size(), 0);
    for (std::size_t c = 0; c < header.size(); ++c) {
        width[c] = header[c].size();
        for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
    }
    auto line = [&](const std::vector<std::string>& cells) {
        std::string out;
        for (std::size_t c = 0; c < cells.size(); ++c) {
            if (c) out += "  ";
            const bool numeric = c == 0 || c == 4 || c + 2 >= cells.size();
            const std::string pad(width[c] - cells[c].size(), ' ');
            out += numeric ? pad + cells[c] : cells[c] + (c + 1 < cells.size() ? pad : "");
        }
        while (!out.empty() && out.back() == ' ') out.pop_back();
        return out + "\n";
    };

    std::ostringstream os;
    os << "sweep \"" << plan.name << "\" (" << plan.file << "), sweep seed " << plan.sweep_seed
       << "\n";
    if (!plan.description.empty()) os << plan.description << "\n";
    os << "\n" << line(header);
    for (const auto& row : rows) os << line(row);

    std::vector<std::string> factors;
    std::size_t seeds = 0;
    std::set<std::string> seen_seeds;
    for (const auto& r : plan.replicates) seen_seeds.insert(std::to_string(r.seed));
    seeds = seen_seeds.size();
    for (std::size_t a = 0; a < plan.axes.size(); ++a) {
        std::set<std::string> labels;
        for (const auto& r : plan.replicates) labels.insert(r.coordinates[a].second);
        factors.push_back(std::to_string(labels.size()) + " " + plan.axes[a]);
    }
    factors.push_back(std::to_string(seeds) + (seeds == 1 ? " seed" : " seeds"));
    std::vector<double> load(static_cast<std::size_t>(plan.ranks), 0.0);
    double total = 0;
    for (const auto& r : plan.replicates) {
        load[static_cast<std::size_t>(r.rank)] += r.cost;
        total += r.cost;
    }
    os << "\n"
       << plan.replicates.size() << " replicates (" << join(factors, " x ") << ") on " << plan.ranks
       << (plan.ranks == 1 ? " rank" : " ranks") << "\n";
    os << "estimated cost: total " << fixed(total, 1) << ", busiest rank "
       << fixed(*std::max_element(load.begin(), load.end()), 1)
       << " (relative units: images x pixels x width^2 / 1e6)\n";
    return os.str();
}

std::string format_plan_tsv(const Plan& plan) {
    std::vector<std::string> header = {"index",        "id",        "dataset",   "strategy",
                                       "seed",         "seed_pool", "seed_init", "seed_data",
                                       "seed_dropout", "seed_tsne", "rank",      "cost"};
    for (const auto& a : plan.axes) header.push_back("axis:" + a);
    std::string out = join(header, "\t") + "\n";
    for (const auto& r : plan.replicates) {
        std::vector<std::string> row = {
            std::to_string(r.index + 1),     r.id,
            r.config.dataset.name,           std::string(enum_name(r.config.al.strategy)),
            std::to_string(r.seed),          std::to_string(r.seeds.pool),
            std::to_string(r.seeds.init),    std::to_string(r.seeds.data),
            std::to_string(r.seeds.dropout), std::to_string(r.seeds.tsne),
            std::to_string(r.rank),          format_double(r.cost)};
        for (std::size_t a = 0; a < plan.axes.size(); ++a) row.push_back(r.coordinates[a].second);
        out += join(row, "\t") + "\n";
    }
    return out;
}

} // namespace sp
