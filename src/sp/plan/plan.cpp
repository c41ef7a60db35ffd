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
#include <variant>

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

/// The settings of `r` that pair it with a baseline: context (is_context_key) or not; the
/// non-context ones without al.strategy and al.init, which a baseline differs in by definition.
std::pair<std::string, std::vector<std::pair<std::string, std::string>>>
pairing_settings(const Replicate& r, std::uint64_t sweep_seed) {
    std::string context;
    std::vector<std::pair<std::string, std::string>> rest;
    for (auto& [key, value] : condition_settings(r.config, r.effective, sweep_seed)) {
        if (is_context_key(key)) {
            context += key + " = " + value + "\n";
        } else if (key != "al.strategy" && key != "al.init") {
            rest.emplace_back(key, value);
        }
    }
    return {context, rest};
}

/// The keys whose values differ between two replicates' context settings.
std::vector<std::string> context_differences(const Replicate& a, const Replicate& b,
                                             std::uint64_t sweep_seed) {
    std::vector<std::string> out;
    const auto sa = condition_settings(a.config, a.effective, sweep_seed);
    const auto sb = condition_settings(b.config, b.effective, sweep_seed);
    for (std::size_t i = 0; i < sa.size() && i < sb.size(); ++i) {
        if (is_context_key(sa[i].first) && sa[i] != sb[i]) out.push_back(sa[i].first);
    }
    return out;
}

/// The index of the baseline `plan.replicates[i]` starts from (baseline_of's rule), or why
/// there is none.
std::variant<std::size_t, std::string> pair_with_baseline(const Plan& plan, std::size_t i) {
    const Replicate& r = plan.replicates[i];
    const auto mine = pairing_settings(r, plan.sweep_seed);
    std::vector<std::size_t> same_seed;
    std::vector<std::size_t> candidates;
    for (const Replicate& b : plan.replicates) {
        if (b.config.al.strategy != Strategy::baseline || b.seed != r.seed) continue;
        same_seed.push_back(b.index);
        if (pairing_settings(b, plan.sweep_seed).first == mine.first) candidates.push_back(b.index);
    }
    if (candidates.size() > 1) {
        std::vector<std::size_t> exact;
        for (std::size_t c : candidates) {
            if (pairing_settings(plan.replicates[c], plan.sweep_seed).second == mine.second)
                exact.push_back(c);
        }
        if (exact.size() == 1) return exact.front();
        std::vector<std::string> names;
        for (std::size_t c : candidates)
            names.push_back("#" + std::to_string(c + 1) + " " +
                            coordinates_text(plan.replicates[c]));
        return "its baseline is ambiguous: " + join(names, ", ") +
               " all qualify (same seed and settings but al.* and train.shuffle) and none has "
               "exactly its al.* and train.shuffle settings";
    }
    if (candidates.size() == 1) return candidates.front();
    std::string why = "the sweep has no replicate with al.strategy = \"baseline\", seed " +
                      std::to_string(r.seed) +
                      " and the same settings except al.* and train.shuffle (add the baseline "
                      "strategy to the sweep, or set al.init = \"pretrained\")";
    if (!same_seed.empty()) {
        why +=
            "; the baseline " + coordinates_text(plan.replicates[same_seed.front()]) +
            " differs in " +
            join(context_differences(r, plan.replicates[same_seed.front()], plan.sweep_seed), ", ");
    }
    return why;
}

/// A baseline's priority in run_order: its cost plus that of its costliest dependent.
std::vector<double> run_priorities(const std::vector<Replicate>& replicates) {
    std::vector<double> priority(replicates.size());
    std::map<std::string, std::size_t> by_id;
    for (std::size_t i = 0; i < replicates.size(); ++i) {
        priority[i] = replicates[i].cost;
        by_id.emplace(replicates[i].id, i);
    }
    std::map<std::size_t, double> longest_dependent;
    for (const Replicate& r : replicates) {
        if (r.effective.baseline_id.empty()) continue;
        const auto it = by_id.find(r.effective.baseline_id);
        if (it == by_id.end()) continue;
        double& longest = longest_dependent[it->second];
        longest = std::max(longest, r.cost);
    }
    for (const auto& [i, cost] : longest_dependent) priority[i] += cost;
    return priority;
}

/// "train.shuffle = false, train.epochs = 3": what a rule sets.
std::string rule_settings_text(const Rule& rule) {
    std::vector<std::string> parts;
    for (const Setting& s : rule.settings) parts.push_back(s.key + " = " + value_to_toml(s.value));
    return join(parts, ", ");
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

std::vector<std::size_t> run_order(const std::vector<Replicate>& replicates) {
    const std::vector<double> priority = run_priorities(replicates);
    // A dependent last among equals: a baseline's priority is at least its dependent's cost.
    auto dependent = [&](std::size_t i) { return !replicates[i].effective.baseline_id.empty(); };
    std::vector<std::size_t> order(replicates.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (priority[a] != priority[b]) return priority[a] > priority[b];
        if (dependent(a) != dependent(b)) return dependent(b);
        return replicates[a].id < replicates[b].id;
    });
    return order;
}

std::vector<int> assign_ranks(const std::vector<Replicate>& replicates, int ranks) {
    SP_CHECK(ranks >= 1, "rank count must be >= 1");
    std::vector<double> load(static_cast<std::size_t>(ranks), 0.0);
    std::vector<int> out(replicates.size(), 0);
    for (std::size_t i : run_order(replicates)) {
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
    plan.rules = sweep.rules;

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
    auto register_id = [&](const Replicate& r) {
        auto [it, fresh] = by_id.emplace(r.id, r.index);
        if (!fresh) {
            const Replicate& other = plan.replicates[it->second];
            diag.add(Source::in_file(sweep.file, 0, 0), "",
                     "replicates " + coordinates_text(other) + " and " + coordinates_text(r) +
                         " resolve to the same configuration (ID " + r.id +
                         "): an axis value or --set makes them identical");
        }
    };
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
        // Conditional settings, after every axis and before --set (parse_sweep checked that no
        // two rules set one key here and that no rule sets a key an axis sets).
        for (const Rule& rule : sweep.rules) {
            if (!rule.matches(coords)) continue;
            for (const Setting& s : rule.settings) {
                find_field(s.key)->set(base, s.value);
                sources[s.key] = s.source;
            }
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
            if (local.empty()) r.cost = estimate_cost(base);
            // A replicate that starts from its baseline is named once the grid is complete.
            if (!starts_from_baseline(base)) {
                r.id = replicate_id(base, r.effective, sweep.seed, seed);
                register_id(r);
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
    // Baselines never start from another replicate, so their IDs are final here.
    for (Replicate& r : plan.replicates) {
        if (!starts_from_baseline(r.config)) continue;
        const auto paired = pair_with_baseline(plan, r.index);
        if (const auto* why = std::get_if<std::string>(&paired)) {
            const auto it = r.sources.find("al.init");
            diag.add(it == r.sources.end() ? Source::in_file(sweep.file, 0, 0) : it->second,
                     "al.init",
                     "replicate #" + std::to_string(r.index + 1) + " " + coordinates_text(r) +
                         " starts from its baseline's final weights, but " + *why);
            r.id = "(unpaired #" + std::to_string(r.index + 1) + ")";
            continue;
        }
        r.effective.baseline_id = plan.replicates[std::get<std::size_t>(paired)].id;
        r.id = replicate_id(r.config, r.effective, sweep.seed, r.seed);
        register_id(r);
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

const Replicate* find_replicate(const Plan& plan, const std::string& id) {
    for (const Replicate& r : plan.replicates) {
        if (r.id == id) return &r;
    }
    return nullptr;
}

const Replicate* baseline_of(const Plan& plan, const Replicate& r) {
    if (r.effective.baseline_id.empty()) return nullptr;
    const Replicate* b = find_replicate(plan, r.effective.baseline_id);
    SP_CHECK(b != nullptr, "the plan holds the baseline it paired");
    return b;
}

std::string resolved_toml(const Plan& plan, const Replicate& r) {
    std::ostringstream out;
    out << "# Resolved configuration of replicate " << r.id << " of sweep \"" << plan.name
        << "\"\n";
    out << "# coordinates: " << coordinates_text(r) << "\n";
    for (const Rule& rule : plan.rules) {
        if (!rule.matches(r.coordinates)) continue;
        out << "# [[sweep.rules]] at " << rule.source.describe() << " (" << rule.when_text()
            << ") sets " << rule_settings_text(rule) << "\n";
    }
    if (const Replicate* b = baseline_of(plan, r)) {
        // Not a key: the pairing is the plan's (baseline_of), and the baseline's ID is in r's.
        out << "# starts from the final weights of baseline replicate " << b->id << " "
            << coordinates_text(*b)
            << " (al.init = \"baseline\"): this file alone does not plan, it lacks that baseline\n";
    }
    out << "\n";
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
    // Keys set by rules: a column each, or their effect would show nowhere in the table.
    std::vector<std::string> rule_keys;
    for (const Rule& rule : plan.rules) {
        for (const Setting& setting : rule.settings) {
            if (std::find(rule_keys.begin(), rule_keys.end(), setting.key) == rule_keys.end())
                rule_keys.push_back(setting.key);
        }
    }
    header.insert(header.end(), rule_keys.begin(), rule_keys.end());
    std::size_t dependents = 0;
    for (const auto& r : plan.replicates) dependents += r.effective.baseline_id.empty() ? 0 : 1;
    if (dependents > 0) header.emplace_back("from");
    header.emplace_back("rank");
    header.emplace_back("cost");

    std::vector<std::vector<std::string>> rows;
    for (const auto& r : plan.replicates) {
        std::vector<std::string> row = {std::to_string(r.index + 1), r.id, r.config.dataset.name,
                                        std::string(enum_name(r.config.al.strategy)),
                                        std::to_string(r.seed)};
        for (std::size_t a : shown) row.push_back(r.coordinates[a].second);
        for (const std::string& key : rule_keys)
            row.push_back(value_to_text(find_field(key)->get(r.config)));
        if (dependents > 0) {
            const Replicate* b = baseline_of(plan, r);
            row.push_back(b ? "#" + std::to_string(b->index + 1) : "-");
        }
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
    for (const Rule& rule : plan.rules) {
        const auto n =
            std::count_if(plan.replicates.begin(), plan.replicates.end(),
                          [&](const Replicate& r) { return rule.matches(r.coordinates); });
        os << "rule " << rule.source.describe() << ": " << rule_settings_text(rule) << " where "
           << rule.when_text() << " (" << n << (n == 1 ? " replicate" : " replicates") << ")\n";
    }
    if (dependents > 0) {
        os << dependents << (dependents == 1 ? " replicate starts" : " replicates start")
           << " from the final weights of the baseline in column \"from\" (al.init = "
              "\"baseline\"): each runs after it\n";
    }
    return os.str();
}

std::string format_plan_tsv(const Plan& plan) {
    std::vector<std::string> header = {
        "index",     "id",           "dataset",   "strategy", "seed", "seed_pool", "seed_init",
        "seed_data", "seed_dropout", "seed_tsne", "rank",     "cost", "baseline"};
    for (const auto& a : plan.axes) header.push_back("axis:" + a);
    std::string out = join(header, "\t") + "\n";
    for (const auto& r : plan.replicates) {
        std::vector<std::string> row = {
            std::to_string(r.index + 1),     r.id,
            r.config.dataset.name,           std::string(enum_name(r.config.al.strategy)),
            std::to_string(r.seed),          std::to_string(r.seeds.pool),
            std::to_string(r.seeds.init),    std::to_string(r.seeds.data),
            std::to_string(r.seeds.dropout), std::to_string(r.seeds.tsne),
            std::to_string(r.rank),          format_double(r.cost),
            r.effective.baseline_id};
        for (std::size_t a = 0; a < plan.axes.size(); ++a) row.push_back(r.coordinates[a].second);
        out += join(row, "\t") + "\n";
    }
    return out;
}

} // namespace sp
