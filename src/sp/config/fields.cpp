#include "sp/config/fields.hpp"

#include "sp/util/error.hpp"
#include "sp/util/strings.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <type_traits>

namespace sp {
namespace {

Value to_value(bool v) { return v; }
Value to_value(std::int64_t v) { return v; }
Value to_value(double v) { return v; }
Value to_value(const std::string& v) { return v; }
Value to_value(const std::vector<double>& v) { return v; }
Value to_value(const std::vector<std::string>& v) { return v; }
// A choice held as an enum is its name in every Value, so TOML text and IDs do not see the enum.
template <class E, class = std::enable_if_t<std::is_enum_v<E>>> Value to_value(E v) {
    return std::string(enum_name(v));
}

template <class T> void from_value(const Value& v, T& out) {
    if constexpr (std::is_enum_v<T>) {
        const auto& name = std::get<std::string>(v);
        const std::optional<T> e = enum_from_name<T>(name);
        // Values reach a setter only after Field::check, which reports unknown names.
        if (!e) throw ConfigError("\"" + name + "\" is not one of " + join(enum_names<T>(), ", "));
        out = *e;
    } else {
        out = std::get<T>(v);
    }
}

// Binds a field to a member path of Experiment: ACCESS(train.lr).
#define SP_ACCESS(path)                                                                            \
    [](const Experiment& e) { return to_value(e.path); },                                          \
        [](Experiment& e, const Value& v) { from_value(v, e.path); }

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Range {
    double min = -kInf;
    double max = kInf;
    bool min_open = false;
    bool max_open = false;
};
constexpr Range kAny{};
constexpr Range kNonNegative{0, kInf, false, false};
constexpr Range kPositive{0, kInf, true, false};
constexpr Range kAtLeastOne{1, kInf, false, false};
constexpr Range kUnitHalfOpen{0, 1, false, true}; // [0, 1)
constexpr Range kUnitClosed{0, 1, false, false};  // [0, 1]

Field make(std::string key, Kind kind, std::string doc, std::function<Value(const Experiment&)> get,
           std::function<void(Experiment&, const Value&)> set, Range range = kAny,
           std::vector<std::string> choices = {}, bool identity = true,
           std::size_t max_length = std::numeric_limits<std::size_t>::max()) {
    Field f;
    f.key = std::move(key);
    f.kind = kind;
    f.doc = std::move(doc);
    f.get = std::move(get);
    f.set = std::move(set);
    f.min = range.min;
    f.max = range.max;
    f.min_open = range.min_open;
    f.max_open = range.max_open;
    f.choices = std::move(choices);
    f.identity = identity;
    f.max_length = max_length;
    return f;
}

std::vector<Field> build_fields() {
    using K = Kind;
    const std::vector<std::string> datasets = {"fashion-mnist", "mnist", "cifar10", "tiny-imagenet",
                                               "synthetic"};
    std::vector<Field> f = {
        // dataset
        make("dataset.name", K::choice, "dataset to train and evaluate on", SP_ACCESS(dataset.name),
             kAny, datasets),
        make("dataset.root", K::string,
             "directory holding the dataset's on-disk files; empty = the dataset's default "
             "(fashion-mnist: /usr/share/datasets/fashion-mnist)",
             SP_ACCESS(dataset.root), kAny, {}, /*identity=*/false),
        make("dataset.cache", K::string,
             "HDF5 cache written by sp_prepare; empty = decode the source",
             SP_ACCESS(dataset.cache), kAny, {}, /*identity=*/false),
        make("dataset.train_subset", K::integer, "training images used; 0 = all",
             SP_ACCESS(dataset.train_subset), kNonNegative),
        make("dataset.eval_subset", K::integer, "evaluation images used; 0 = all",
             SP_ACCESS(dataset.eval_subset), kNonNegative),
        make("dataset.subset", K::choice,
             "how subsets are drawn: the first N, or a stratified random N (pool seed stream)",
             SP_ACCESS(dataset.subset), kAny, {"first", "stratified"}),
        make("dataset.resize", K::integer, "bilinear resize to this side in pixels; 0 = native",
             SP_ACCESS(dataset.resize), kNonNegative),
        make("dataset.mean", K::real_list,
             "per-channel normalisation mean (1 or 3 values); empty = the dataset's standard",
             SP_ACCESS(dataset.mean), kAny, {}, true, 3),
        make("dataset.std", K::real_list,
             "per-channel normalisation std (1 or 3 values, > 0); empty = the dataset's standard",
             SP_ACCESS(dataset.std), kPositive, {}, true, 3),
        make("dataset.augment", K::boolean, "random crop with padding and horizontal flip",
             SP_ACCESS(dataset.augment)),
        make("dataset.crop_padding", K::integer, "zero padding in pixels before the random crop",
             SP_ACCESS(dataset.crop_padding), kNonNegative),
        make("dataset.hflip", K::boolean, "horizontal flip with p = 0.5 when augmenting",
             SP_ACCESS(dataset.hflip)),
        make("dataset.channels_last", K::boolean, "batches in channels_last memory format",
             SP_ACCESS(dataset.channels_last)),
        make("dataset.synthetic.classes", K::integer, "synthetic dataset: number of classes",
             SP_ACCESS(dataset.synthetic.classes), Range{2, kInf, false, false}),
        make("dataset.synthetic.train_size", K::integer, "synthetic dataset: training images",
             SP_ACCESS(dataset.synthetic.train_size), kAtLeastOne),
        make("dataset.synthetic.eval_size", K::integer, "synthetic dataset: evaluation images",
             SP_ACCESS(dataset.synthetic.eval_size), kAtLeastOne),
        make("dataset.synthetic.image_size", K::integer, "synthetic dataset: image side in pixels",
             SP_ACCESS(dataset.synthetic.image_size), kAtLeastOne),
        make("dataset.synthetic.channels", K::integer, "synthetic dataset: channels (1 or 3)",
             SP_ACCESS(dataset.synthetic.channels), Range{1, 3, false, false}),
        // model
        make("model.arch", K::choice, "network architecture", SP_ACCESS(model.arch), kAny,
             {"resnet18"}),
        make("model.stem", K::choice,
             "imagenet: 7x7 stride-2 conv + max pool (torchvision); cifar: 3x3 stride-1, no pool",
             SP_ACCESS(model.stem), kAny, {"imagenet", "cifar"}),
        make("model.width", K::real, "channel multiplier; 1.0 = torchvision's 64-128-256-512",
             SP_ACCESS(model.width), Range{0, 16, true, false}),
        make("model.pretrained", K::string,
             "torchvision state_dict saved as a plain dict (scripts/convert_weights.py); empty = "
             "random init",
             SP_ACCESS(model.pretrained), kAny, {}, /*identity=*/false),
        make("model.dropout", K::real,
             "dropout probability before fc (BALD's MC dropout: perturbs only the classifier head)",
             SP_ACCESS(model.dropout), kUnitHalfOpen),
        make("model.num_classes", K::integer, "output classes; 0 = the dataset's class count",
             SP_ACCESS(model.num_classes), kNonNegative),
        make("model.extra_layers", K::string_list,
             "features saved beside the penultimate, with their cosine statistics: a module "
             "name (layer3, layer4.1.conv2, layer4.0.downsample.0, ...) pooled over H x W, "
             "or with :flatten all C*H*W values; notebook:layer4.1.conv2 = the paper "
             "notebook's CIFAR feature (results-schema/measures.md)",
             SP_ACCESS(model.extra_layers)),
        // train
        make("train.optimizer", K::choice, "optimizer", SP_ACCESS(train.optimizer), kAny,
             enum_names<Optimizer>()),
        make("train.lr", K::real, "learning rate", SP_ACCESS(train.lr), kPositive),
        make("train.momentum", K::real, "SGD momentum", SP_ACCESS(train.momentum), kUnitHalfOpen),
        make("train.nesterov", K::boolean, "Nesterov momentum (SGD)", SP_ACCESS(train.nesterov)),
        make("train.weight_decay", K::real, "weight decay (decoupled for adamw)",
             SP_ACCESS(train.weight_decay), kNonNegative),
        make("train.schedule", K::choice, "learning-rate schedule", SP_ACCESS(train.schedule), kAny,
             enum_names<Schedule>()),
        make("train.warmup_epochs", K::integer, "epochs of linear warmup before the schedule",
             SP_ACCESS(train.warmup_epochs), kNonNegative),
        make("train.step_size", K::integer, "epochs between decays (step schedule)",
             SP_ACCESS(train.step_size), kAtLeastOne),
        make("train.gamma", K::real, "decay factor per step (step schedule)",
             SP_ACCESS(train.gamma), Range{0, 1, true, false}),
        make("train.epochs", K::integer, "training epochs (per round for active learning)",
             SP_ACCESS(train.epochs), kAtLeastOne),
        make("train.batch_size", K::integer, "training batch size, images",
             SP_ACCESS(train.batch_size), kAtLeastOne),
        make("train.eval_batch_size", K::integer, "evaluation and embedding batch size, images",
             SP_ACCESS(train.eval_batch_size), kAtLeastOne),
        make("train.label_smoothing", K::real, "cross-entropy label smoothing",
             SP_ACCESS(train.label_smoothing), kUnitHalfOpen),
        make("train.precision", K::choice,
             "fp32, or autocast to bf16 (CUDA and CPU) / fp16 with loss scaling (CUDA; the CPU "
             "trains fp32 then); evaluation runs fp32",
             SP_ACCESS(train.precision), kAny, enum_names<Precision>()),
        make("train.deterministic", K::boolean,
             "deterministic algorithms and cuDNN benchmark off (bit-identical reruns)",
             SP_ACCESS(train.deterministic)),
        make("train.shuffle", K::boolean, "shuffle the training order every epoch",
             SP_ACCESS(train.shuffle)),
        make("train.device", K::choice, "auto: one GPU per rank when CUDA is present, else CPU",
             SP_ACCESS(train.device), kAny, enum_names<DeviceChoice>()),
        make("train.checkpoint_every", K::integer,
             "epochs between checkpoints; 0 = only at the end", SP_ACCESS(train.checkpoint_every),
             kNonNegative, {}, /*identity=*/false),
        make("train.eval_every", K::integer,
             "epochs between evaluations of the evaluation set during training (a round's last "
             "epoch is always evaluated; the others record NaN)",
             SP_ACCESS(train.eval_every), kAtLeastOne, {}, /*identity=*/false),
        // al
        make("al.strategy", K::choice,
             "baseline trains once on all data; the others run active-learning rounds",
             SP_ACCESS(al.strategy), kAny, enum_names<Strategy>()),
        make("al.initial", K::integer, "images in the initial labelled pool", SP_ACCESS(al.initial),
             kAtLeastOne),
        make("al.initial_sampling", K::choice, "how the initial pool is drawn",
             SP_ACCESS(al.initial_sampling), kAny, enum_names<InitialSampling>()),
        make("al.query", K::integer, "images labelled per round", SP_ACCESS(al.query), kAtLeastOne),
        make("al.rounds", K::integer, "query rounds; 0 = until the unlabelled pool is empty",
             SP_ACCESS(al.rounds), kNonNegative),
        make("al.start", K::choice,
             "warm: model and optimizer carry over between rounds (the paper); cold: "
             "re-initialise from the init seed every round",
             SP_ACCESS(al.start), kAny, enum_names<StartMode>()),
        make("al.init", K::choice,
             "pretrained: the first round starts from the built model (init seed and "
             "model.pretrained); baseline: from the final weights of the seed-paired baseline "
             "replicate of the same sweep (ignored by the baseline strategy)",
             SP_ACCESS(al.init), kAny, enum_names<AlInit>()),
        make("al.epochs", K::integer, "epochs per round; 0 = train.epochs", SP_ACCESS(al.epochs),
             kNonNegative),
        make("al.mc_samples", K::integer, "stochastic forward passes for BALD",
             SP_ACCESS(al.mc_samples), kAtLeastOne),
        make("al.score_batch_size", K::integer, "batch size when scoring the unlabelled pool",
             SP_ACCESS(al.score_batch_size), kAtLeastOne),
        make("al.pool_subset", K::integer,
             "score a seeded random subset of this many unlabelled images per round (the "
             "candidates of that round's query); 0 = the whole unlabelled pool",
             SP_ACCESS(al.pool_subset), kNonNegative),
        make("al.round_metrics", K::boolean, "compute the full metrics after every round",
             SP_ACCESS(al.round_metrics)),
        make("al.save_pool_outputs", K::boolean,
             "store what each query saw (pool logits, embeddings, MC samples): large",
             SP_ACCESS(al.save_pool_outputs), kAny, {}, /*identity=*/false),
        // metrics
        make("metrics.cosine_bins", K::integer, "histogram bins of cosine similarity over [-1, 1]",
             SP_ACCESS(metrics.cosine_bins), kAtLeastOne),
        make("metrics.cosine_full_matrix", K::boolean,
             "also the paper's variant: all N x N entries, diagonal included",
             SP_ACCESS(metrics.cosine_full_matrix)),
        make("metrics.spaces", K::string_list,
             "spaces where silhouette and Davies-Bouldin are computed", SP_ACCESS(metrics.spaces),
             kAny, {"raw", "tsne"}, true, 2),
        make("metrics.silhouette_per_sample", K::boolean, "also store every sample's silhouette",
             SP_ACCESS(metrics.silhouette_per_sample)),
        make("metrics.tsne.enabled", K::boolean, "compute the 2-D t-SNE map",
             SP_ACCESS(metrics.tsne.enabled)),
        make("metrics.tsne.perplexity", K::real, "t-SNE perplexity",
             SP_ACCESS(metrics.tsne.perplexity), kPositive),
        make("metrics.tsne.iterations", K::integer,
             "t-SNE iterations in all (the first 250 with early exaggeration 12)",
             SP_ACCESS(metrics.tsne.iterations), Range{251, kInf, false, false}),
        make("metrics.tsne.method", K::choice, "repulsion: Barnes-Hut, FFT interpolation, or exact",
             SP_ACCESS(metrics.tsne.method), kAny, enum_names<TsneMethod>()),
        make("metrics.tsne.theta", K::real, "Barnes-Hut accuracy (0 = exact)",
             SP_ACCESS(metrics.tsne.theta), kUnitClosed),
        make("metrics.tsne.seed", K::integer,
             "-1 = the replicate's t-SNE seed stream; >= 0 fixes it (the paper used 42)",
             SP_ACCESS(metrics.tsne.seed), Range{-1, kInf, false, false}),
        make("metrics.tsne.compat", K::choice,
             "sp, or sklearn: as scikit-learn 1.2.1 (k = int(3 x perplexity + 1), its quadtree, "
             "float32 steps, its stopping rule)",
             SP_ACCESS(metrics.tsne.compat), kAny, {"sp", "sklearn"}),
        make("metrics.tsne.init", K::choice,
             "starting map: pca (deterministic given the embeddings) or random (from the t-SNE "
             "seed)",
             SP_ACCESS(metrics.tsne.init), kAny, {"pca", "random"}),
        // output
        make("output.dir", K::string, "directory for result files (relative to the working dir)",
             SP_ACCESS(output.dir), kAny, {}, /*identity=*/false),
        make("output.compression", K::integer, "deflate level 0-9 for large datasets",
             SP_ACCESS(output.compression), Range{0, 9, false, false}, {}, /*identity=*/false),
        make("output.save_embeddings", K::boolean, "keep the embeddings in the result file",
             SP_ACCESS(output.save_embeddings), kAny, {}, /*identity=*/false),
    };
    std::sort(f.begin(), f.end(), [](const Field& a, const Field& b) { return a.key < b.key; });
    return f;
}

#undef SP_ACCESS

std::string range_text(const Field& f) {
    const bool has_min = std::isfinite(f.min);
    const bool has_max = std::isfinite(f.max);
    std::string lo = f.kind == Kind::integer ? std::to_string(static_cast<long long>(f.min))
                                             : format_double(f.min);
    std::string hi = f.kind == Kind::integer ? std::to_string(static_cast<long long>(f.max))
                                             : format_double(f.max);
    if (has_min && has_max) {
        return std::string("in ") + (f.min_open ? "(" : "[") + lo + ", " + hi +
               (f.max_open ? ")" : "]");
    }
    if (has_min) return std::string(f.min_open ? "> " : ">= ") + lo;
    if (has_max) return std::string(f.max_open ? "< " : "<= ") + hi;
    return "";
}

bool in_range(const Field& f, double x) {
    if (std::isnan(x)) return false;
    if (f.min_open ? !(x > f.min) : !(x >= f.min)) return false;
    if (f.max_open ? !(x < f.max) : !(x <= f.max)) return false;
    return true;
}

std::string choice_problem(const Field& f, const std::string& s) {
    if (f.choices.empty() || std::find(f.choices.begin(), f.choices.end(), s) != f.choices.end()) {
        return "";
    }
    std::string msg = "\"" + s + "\" is not one of " + join(f.choices, ", ");
    const std::string guess = did_you_mean(s, f.choices);
    if (!guess.empty()) msg += " (did you mean \"" + guess + "\"?)";
    return msg;
}

} // namespace

std::string kind_name(Kind kind) {
    switch (kind) {
    case Kind::boolean:
        return "boolean";
    case Kind::integer:
        return "integer";
    case Kind::real:
        return "float";
    case Kind::string:
        return "string";
    case Kind::choice:
        return "string";
    case Kind::real_list:
        return "array of floats";
    case Kind::string_list:
        return "array of strings";
    }
    return "?";
}

std::string Field::check(const Value& v) const {
    switch (kind) {
    case Kind::integer: {
        const auto x = std::get<std::int64_t>(v);
        if (!in_range(*this, static_cast<double>(x))) {
            return "must be " + range_text(*this) + ", got " + std::to_string(x);
        }
        return "";
    }
    case Kind::real: {
        const double x = std::get<double>(v);
        if (!std::isfinite(x)) return "must be a finite number, got " + format_double(x);
        if (!in_range(*this, x))
            return "must be " + range_text(*this) + ", got " + format_double(x);
        return "";
    }
    case Kind::choice:
        return choice_problem(*this, std::get<std::string>(v));
    case Kind::real_list: {
        const auto& xs = std::get<std::vector<double>>(v);
        if (xs.size() > max_length) {
            return "at most " + std::to_string(max_length) + " values, got " +
                   std::to_string(xs.size());
        }
        for (double x : xs) {
            if (!std::isfinite(x) || !in_range(*this, x)) {
                return "every value must be " +
                       (range_text(*this).empty() ? "finite" : range_text(*this)) + ", got " +
                       format_double(x);
            }
        }
        return "";
    }
    case Kind::string_list: {
        const auto& xs = std::get<std::vector<std::string>>(v);
        if (xs.size() > max_length) {
            return "at most " + std::to_string(max_length) + " values, got " +
                   std::to_string(xs.size());
        }
        std::set<std::string> seen;
        for (const auto& x : xs) {
            if (auto p = choice_problem(*this, x); !p.empty()) return p;
            if (!seen.insert(x).second) return "\"" + x + "\" is listed twice";
        }
        return "";
    }
    case Kind::boolean:
    case Kind::string:
        return "";
    }
    return "";
}

std::string Field::constraint() const {
    if (!choices.empty()) return "one of " + join(choices, ", ");
    std::string r = range_text(*this);
    if (kind == Kind::real_list && !r.empty()) r = "each " + r;
    if (max_length != std::numeric_limits<std::size_t>::max()) {
        r += std::string(r.empty() ? "" : "; ") + "at most " + std::to_string(max_length) +
             " values";
    }
    return r;
}

const std::vector<Field>& fields() {
    static const std::vector<Field> all = build_fields();
    return all;
}

const Field* find_field(const std::string& key) {
    const auto& all = fields();
    auto it = std::lower_bound(all.begin(), all.end(), key,
                               [](const Field& f, const std::string& k) { return f.key < k; });
    return it != all.end() && it->key == key ? &*it : nullptr;
}

const std::vector<std::string>& field_keys() {
    static const std::vector<std::string> keys = [] {
        std::vector<std::string> out;
        for (const auto& f : fields()) out.push_back(f.key);
        return out;
    }();
    return keys;
}

const std::vector<std::string>& table_prefixes() {
    static const std::vector<std::string> prefixes = [] {
        std::set<std::string> out;
        for (const auto& f : fields()) {
            for (std::size_t dot = f.key.find('.'); dot != std::string::npos;
                 dot = f.key.find('.', dot + 1)) {
                out.insert(f.key.substr(0, dot));
            }
        }
        return std::vector<std::string>(out.begin(), out.end());
    }();
    return prefixes;
}

void validate_experiment(const Experiment& e, const SourceMap& sources, Diagnostics& diag) {
    auto where = [&](const std::string& key) {
        auto it = sources.find(key);
        return it == sources.end() ? Source{} : it->second;
    };
    const auto& d = e.dataset;
    if (!d.mean.empty() && d.mean.size() != 1 && d.mean.size() != 3) {
        diag.add(where("dataset.mean"), "dataset.mean",
                 "needs 1 or 3 values, got " + std::to_string(d.mean.size()));
    }
    if (!d.std.empty() && d.std.size() != 1 && d.std.size() != 3) {
        diag.add(where("dataset.std"), "dataset.std",
                 "needs 1 or 3 values, got " + std::to_string(d.std.size()));
    }
    if (d.mean.empty() != d.std.empty()) {
        const std::string key = d.mean.empty() ? "dataset.std" : "dataset.mean";
        diag.add(where(key), key, "dataset.mean and dataset.std must be given together");
    }
    const auto& t = e.train;
    if (t.nesterov && (t.optimizer != Optimizer::sgd || t.momentum <= 0)) {
        diag.add(where("train.nesterov"), "train.nesterov",
                 "needs train.optimizer = \"sgd\" and train.momentum > 0");
    }
    if (t.warmup_epochs >= t.epochs && t.warmup_epochs > 0) {
        diag.add(where("train.warmup_epochs"), "train.warmup_epochs",
                 "must be less than train.epochs (" + std::to_string(t.epochs) + ")");
    }
    const auto& a = e.al;
    if (a.strategy == Strategy::bald && e.model.dropout <= 0) {
        diag.add(where("al.strategy"), "al.strategy",
                 "bald needs MC dropout: set model.dropout > 0");
    }
    if (a.strategy != Strategy::baseline && d.train_subset > 0 && a.initial > d.train_subset) {
        diag.add(where("al.initial"), "al.initial",
                 "initial pool of " + std::to_string(a.initial) +
                     " exceeds dataset.train_subset (" + std::to_string(d.train_subset) + ")");
    }
    if (a.strategy != Strategy::baseline && a.pool_subset > 0 && a.pool_subset < a.query) {
        diag.add(where("al.pool_subset"), "al.pool_subset",
                 "scores " + std::to_string(a.pool_subset) +
                     " candidates per round, fewer than "
                     "al.query (" +
                     std::to_string(a.query) +
                     ") images to label: use 0 (the whole pool) or at least al.query");
    }
    if (e.metrics.tsne.method == TsneMethod::barnes_hut && e.metrics.tsne.theta <= 0) {
        diag.add(where("metrics.tsne.theta"), "metrics.tsne.theta",
                 "must be > 0 for barnes_hut (use method = \"exact\" for theta 0)");
    }
    if (d.name == "synthetic" && d.synthetic.channels == 2) {
        diag.add(where("dataset.synthetic.channels"), "dataset.synthetic.channels",
                 "must be 1 or 3, got 2");
    }
}

} // namespace sp
