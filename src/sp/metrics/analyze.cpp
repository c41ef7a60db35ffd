#include "sp/metrics/analyze.hpp"

#include "sp/metrics/torch_threads.hpp"
#include "sp/metrics/undefined.hpp"
#include "sp/util/error.hpp"
#include "sp/util/version.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <limits>

namespace sp {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Every statistic of every set for the penultimate features; for another feature set (a
// `prefix`) a few (measures.md): the full statistics stay in its /metrics/features group.
void add_cosine_scalars(Analysis& a, const std::string& set, const CosineSetStats& s,
                        const std::string& prefix = "") {
    const std::string p = prefix + "cosine_" + set + "_";
    const std::pair<const char*, double> values[] = {
        {"mean", s.mean}, {"std", s.std}, {"min", s.min}, {"max", s.max},
        {"q25", s.q25},   {"q50", s.q50}, {"q75", s.q75}};
    for (const auto& [name, v] : values) {
        const bool brief = set == "all" || set == "full"
                               ? std::string(name) == "mean" || std::string(name) == "std"
                               : std::string(name) == "mean";
        if (!prefix.empty() && !brief) continue;
        a.scalars[p + name] = v;
        if (s.count == 0) a.undefined[p + name] = "no pairs in the " + set + " set";
    }
}

void add_cosine_scalars(Analysis& a, const CosineStats& c, const std::string& prefix = "") {
    add_cosine_scalars(a, "all", c.all, prefix);
    add_cosine_scalars(a, "within", c.within, prefix);
    add_cosine_scalars(a, "between", c.between, prefix);
    if (c.has_full) add_cosine_scalars(a, "full", c.full, prefix);
}

/// Silhouettes and Davies-Bouldin of one space; a metric sklearn refuses (fewer than 2 or more
/// than n - 1 classes present: UndefinedMetric) is recorded as undefined with its reason. Any
/// other exception propagates (undefined.hpp).
SpaceClusters space_clusters(Analysis& a, const std::string& space, const float* x, std::int64_t d,
                             const AnalysisInput& in, const MetricsConfig& cfg) {
    SpaceClusters out;
    ClusterOptions opt;
    opt.per_sample = cfg.silhouette_per_sample;
    auto guarded = [&](const std::string& name, auto&& compute) {
        try {
            compute();
        } catch (const UndefinedMetric& e) {
            a.scalars[name] = kNaN;
            a.undefined[name] = e.what();
        }
    };
    guarded("silhouette_euclidean_" + space, [&] {
        out.euclidean = silhouette(x, in.n, d, in.labels, in.classes, Distance::euclidean, opt);
        a.scalars["silhouette_euclidean_" + space] = out.euclidean->mean;
    });
    guarded("silhouette_cosine_" + space, [&] {
        out.cosine = silhouette(x, in.n, d, in.labels, in.classes, Distance::cosine, opt);
        a.scalars["silhouette_cosine_" + space] = out.cosine->mean;
    });
    guarded("davies_bouldin_" + space, [&] {
        out.davies_bouldin = davies_bouldin(x, in.n, d, in.labels, in.classes);
        a.scalars["davies_bouldin_" + space] = *out.davies_bouldin;
    });
    return out;
}

void check_finite(const std::string& what, const float* x, std::int64_t n, std::int64_t d) {
    const auto count = static_cast<std::size_t>(n * d);
    for (std::size_t i = 0; i < count; ++i) {
        if (!std::isfinite(x[i]))
            throw DataError("analysis: " + what + " hold a non-finite value at row " +
                            std::to_string(i / static_cast<std::size_t>(d)) + ", column " +
                            std::to_string(i % static_cast<std::size_t>(d)));
    }
}

void check_feature_sets(const AnalysisInput& in) {
    std::map<std::string, std::string> prefixes;
    for (const FeatureSetInput& f : in.feature_sets) {
        if (f.d < 1 || f.x == nullptr)
            throw DataError("analysis: feature set '" + f.name + "' must be N x D with D >= 1");
        const auto [it, fresh] = prefixes.emplace(feature_scalar_prefix(f.name), f.name);
        if (!fresh)
            throw DataError("analysis: feature sets '" + it->second + "' and '" + f.name +
                            "' would share the scalar names " + it->first + "*");
        check_finite("feature set '" + f.name + "'", f.x, in.n, f.d);
    }
}

void check_input(const AnalysisInput& in) {
    if (in.n < 1 || in.d < 1)
        throw DataError("analysis: embeddings must be N x D with N, D >= 1, got " +
                        std::to_string(in.n) + " x " + std::to_string(in.d));
    if (in.classes < 1)
        throw DataError("analysis: classes must be >= 1, got " + std::to_string(in.classes));
    if (in.embeddings == nullptr || in.labels == nullptr)
        throw DataError("analysis: embeddings and labels are required");
    check_finite("embeddings", in.embeddings, in.n, in.d);
    for (std::int64_t i = 0; i < in.n; ++i) {
        if (in.labels[i] < 0 || in.labels[i] >= in.classes)
            throw DataError("analysis: label " + std::to_string(in.labels[i]) + " of sample " +
                            std::to_string(i) + " is outside [0, " + std::to_string(in.classes) +
                            ")");
    }
}

} // namespace

std::string feature_scalar_prefix(const std::string& name) {
    std::string prefix = name;
    for (char& c : prefix) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
    }
    return prefix + "_";
}

AnalysisInput analysis_input(std::int64_t n, std::int64_t d, std::int64_t classes,
                             const std::vector<float>& embeddings,
                             const std::vector<std::int64_t>& labels,
                             const std::vector<float>& class_vectors,
                             std::int64_t class_vector_dim) {
    AnalysisInput ai;
    ai.n = n;
    ai.d = d;
    ai.classes = classes;
    ai.embeddings = embeddings.data();
    ai.labels = labels.data();
    if (!class_vectors.empty()) {
        ai.class_vectors = class_vectors.data();
        ai.class_vector_dim = class_vector_dim;
    }
    return ai;
}

Analysis analyze(const AnalysisInput& in, const MetricsConfig& cfg, std::uint64_t tsne_seed,
                 int threads) {
    check_input(in);
    check_feature_sets(in);
    const auto t0 = std::chrono::steady_clock::now();
    detail::TorchThreads scope(threads);
    torch::NoGradGuard no_grad;
    Analysis a;
    a.n = in.n;
    a.d = in.d;
    a.classes = in.classes;

    CosineOptions co;
    co.bins = cfg.cosine_bins;
    co.full_matrix = cfg.cosine_full_matrix;
    a.cosine = cosine_statistics(in.embeddings, in.n, in.d, in.labels, in.classes, co);
    add_cosine_scalars(a, a.cosine);
    for (const FeatureSetInput& f : in.feature_sets) {
        FeatureSetCosine& fc = a.features[f.name];
        fc.d = f.d;
        fc.cosine = cosine_statistics(f.x, in.n, f.d, in.labels, in.classes, co);
        add_cosine_scalars(a, fc.cosine, feature_scalar_prefix(f.name));
    }

    if (cfg.tsne.enabled) {
        TsneOptions to;
        to.perplexity = cfg.tsne.perplexity;
        to.iterations = cfg.tsne.iterations;
        to.method = cfg.tsne.method;
        to.theta = cfg.tsne.theta;
        to.seed = cfg.tsne.seed >= 0 ? static_cast<std::uint64_t>(cfg.tsne.seed) : tsne_seed;
        to.compat = cfg.tsne.compat == "sklearn" ? TsneCompat::sklearn : TsneCompat::sp;
        to.init = cfg.tsne.init == "random" ? TsneInit::random : TsneInit::pca;
        a.tsne_options = to;
        try {
            a.tsne = tsne(in.embeddings, in.n, in.d, to);
            a.scalars["tsne_kl_divergence"] = a.tsne->kl_divergence;
        } catch (const UndefinedMetric& e) {
            // Input-dependent refusals (too few points for the perplexity, ...): the map is
            // undefined for this input, the other metrics go on. Anything else (a bug inside
            // t-SNE: InternalError; a diverged map or bad option: ConfigError; StopRequested)
            // fails or stops the replicate.
            a.scalars["tsne_kl_divergence"] = kNaN;
            a.undefined["tsne_kl_divergence"] = e.what();
        }
    }
    for (const std::string& space : cfg.spaces) {
        if (space == "raw") {
            a.spaces[space] = space_clusters(a, space, in.embeddings, in.d, in, cfg);
        } else if (space == "tsne" && a.tsne) {
            a.spaces[space] =
                space_clusters(a, space, a.tsne->embedding.data(), a.tsne->dims, in, cfg);
        } else if (space == "tsne") {
            const std::string why = cfg.tsne.enabled
                                        ? "no t-SNE map: " + a.undefined["tsne_kl_divergence"]
                                        : "metrics.tsne.enabled is false";
            for (const char* m :
                 {"silhouette_euclidean_", "silhouette_cosine_", "davies_bouldin_"}) {
                a.scalars[m + space] = kNaN;
                a.undefined[m + space] = why;
            }
        } else {
            throw ConfigError("metrics.spaces: unknown space \"" + space + "\"");
        }
    }

    a.superposition = superposition_measures(in.embeddings, in.n, in.d, in.labels, in.classes);
    const Superposition& s = a.superposition;
    a.scalars["participation_ratio"] = s.participation_ratio;
    a.scalars["nc1"] = s.nc1;
    a.scalars["within_between_ratio"] = s.within_between_ratio;
    a.scalars["selectivity_mean"] = s.selectivity_mean;
    a.scalars["classes_per_unit_mean"] = s.classes_per_unit_mean;
    a.scalars["dead_units"] = static_cast<double>(s.dead_units);
    if (in.class_vectors != nullptr && in.class_vector_dim > 0) {
        a.feature_dimensionality =
            feature_dimensionality(in.class_vectors, in.classes, in.class_vector_dim);
        a.scalars["feature_dimensionality_total"] = a.feature_dimensionality->total;
        a.scalars["dimensions_per_feature"] = a.feature_dimensionality->dimensions_per_feature;
    }
    for (const auto& [name, v] : a.scalars) {
        if (std::isnan(v) && a.undefined.count(name) == 0)
            a.undefined[name] = "undefined for this input: see results-schema/measures.md";
    }
    a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return a;
}

namespace {

h5::DatasetOptions compressed(std::uint64_t rows, std::uint64_t cols, int compression) {
    h5::DatasetOptions o;
    if (rows > 0 && cols > 0 && compression > 0) {
        o.chunk = {std::min<std::uint64_t>(rows, 4096), cols};
        o.deflate = compression;
        o.shuffle = true;
    }
    return o;
}

void write_set(h5::Group& cosine, const std::string& name, const CosineSetStats& s) {
    h5::Group g = cosine.create_group(name);
    g.write<std::int64_t>("histogram", s.histogram);
    g.write_attribute("count", s.count);
    g.write_attribute("mean", s.mean);
    g.write_attribute("std", s.std);
    g.write_attribute("min", s.min);
    g.write_attribute("max", s.max);
    g.write_attribute("q25", s.q25);
    g.write_attribute("q50", s.q50);
    g.write_attribute("q75", s.q75);
}

void write_cosine(h5::Group& parent, const CosineStats& c, std::int64_t classes) {
    h5::Group cosine = parent.create_group("cosine");
    cosine.write_attribute("bins", c.bins);
    cosine.write_attribute("quantile_resolution", c.quantile_resolution);
    write_set(cosine, "all", c.all);
    write_set(cosine, "within", c.within);
    write_set(cosine, "between", c.between);
    if (c.has_full) write_set(cosine, "full", c.full);
    const auto k = static_cast<std::uint64_t>(classes);
    cosine.write<double>("class_means", c.class_means_cosine, {k, k});
}

void write_silhouette(h5::Group& parent, const std::string& name, const Silhouette& s) {
    h5::Group g = parent.create_group(name);
    g.write_attribute("mean", s.mean);
    g.write<double>("per_class", s.per_class);
    if (!s.samples.empty()) g.write<double>("samples", s.samples);
}

} // namespace

void write_analysis(h5::Location& file, const Analysis& a, int compression,
                    const std::string& path) {
    if (file.exists(path)) file.remove(path);
    h5::Group m = file.create_group(path);
    m.write_attribute("n", a.n);
    m.write_attribute("d", a.d);
    m.write_attribute("classes", a.classes);
    m.write_attribute("seconds", a.seconds);
    m.write_attribute("sp_version", version());

    h5::Group scalars = m.create_group("scalars");
    for (const auto& [name, v] : a.scalars) scalars.write_attribute(name, v);
    h5::Group undefined = m.create_group("undefined");
    for (const auto& [name, why] : a.undefined) undefined.write_attribute(name, why);

    write_cosine(m, a.cosine, a.classes);
    if (!a.features.empty()) {
        h5::Group features = m.create_group("features");
        for (const auto& [name, f] : a.features) {
            h5::Group g = features.create_group(name);
            g.write_attribute("d", f.d);
            g.write_attribute("scalar_prefix", feature_scalar_prefix(name));
            write_cosine(g, f.cosine, a.classes);
        }
    }

    h5::Group sil = m.create_group("silhouette");
    for (const auto& [space, c] : a.spaces) {
        h5::Group g = sil.create_group(space);
        if (c.euclidean) write_silhouette(g, "euclidean", *c.euclidean);
        if (c.cosine) write_silhouette(g, "cosine", *c.cosine);
    }

    if (a.tsne) {
        const TsneResult& t = *a.tsne;
        const auto n = static_cast<std::uint64_t>(t.n);
        const auto dims = static_cast<std::uint64_t>(t.dims);
        h5::Group g = m.create_group("tsne");
        g.write<float>("embedding", t.embedding, {n, dims}, compressed(n, dims, compression));
        g.write_attribute("kl_divergence", t.kl_divergence);
        g.write_attribute("perplexity", a.tsne_options.perplexity);
        g.write_attribute("iterations", t.iterations);
        g.write_attribute("learning_rate", t.learning_rate);
        g.write_attribute("neighbours", t.neighbours);
        g.write_attribute("theta", a.tsne_options.theta);
        g.write_attribute("seed", a.tsne_options.seed);
        g.write_attribute("method", std::string(enum_name(a.tsne_options.method)));
    }

    h5::Group sup = m.create_group("superposition");
    sup.write<double>("covariance_spectrum", a.superposition.covariance_spectrum);
    sup.write<double>("unit_selectivity", a.superposition.unit_selectivity);
    sup.write<std::int64_t>("unit_classes", a.superposition.unit_classes);
    if (a.feature_dimensionality)
        sup.write<double>("feature_dimensionality", a.feature_dimensionality->per_feature);
}

namespace {

CosineSetStats read_set(const h5::Group& cosine, const std::string& name) {
    const h5::Group g = cosine.open_group(name);
    CosineSetStats s;
    s.histogram = g.read<std::int64_t>("histogram");
    s.count = g.read_attribute<std::int64_t>("count");
    s.mean = g.read_attribute<double>("mean");
    s.std = g.read_attribute<double>("std");
    s.min = g.read_attribute<double>("min");
    s.max = g.read_attribute<double>("max");
    s.q25 = g.read_attribute<double>("q25");
    s.q50 = g.read_attribute<double>("q50");
    s.q75 = g.read_attribute<double>("q75");
    return s;
}

CosineStats read_cosine(const h5::Group& parent, std::int64_t classes) {
    const h5::Group cosine = parent.open_group("cosine");
    CosineStats c;
    c.bins = cosine.read_attribute<std::int64_t>("bins");
    c.quantile_resolution = cosine.read_attribute<double>("quantile_resolution");
    c.classes = classes;
    c.all = read_set(cosine, "all");
    c.within = read_set(cosine, "within");
    c.between = read_set(cosine, "between");
    c.has_full = cosine.exists("full");
    if (c.has_full) c.full = read_set(cosine, "full");
    c.class_means_cosine = cosine.read<double>("class_means", {h5::kAnyDim, h5::kAnyDim});
    return c;
}

std::optional<Silhouette> read_silhouette(const h5::Group& space, const std::string& name) {
    if (!space.exists(name)) return std::nullopt;
    const h5::Group g = space.open_group(name);
    Silhouette s;
    s.mean = g.read_attribute<double>("mean");
    s.per_class = g.read<double>("per_class");
    if (g.exists("samples")) s.samples = g.read<double>("samples");
    return s;
}

} // namespace

Analysis read_analysis(const h5::Location& file, const std::string& path) {
    const h5::Group m = file.open_group(path);
    Analysis a;
    a.n = m.read_attribute<std::int64_t>("n");
    a.d = m.read_attribute<std::int64_t>("d");
    a.classes = m.read_attribute<std::int64_t>("classes");
    a.seconds = m.read_attribute<double>("seconds");
    const h5::Group scalars = m.open_group("scalars");
    for (const std::string& name : scalars.attribute_names())
        a.scalars[name] = scalars.read_attribute<double>(name);
    const h5::Group undefined = m.open_group("undefined");
    for (const std::string& name : undefined.attribute_names())
        a.undefined[name] = undefined.read_attribute<std::string>(name);

    a.cosine = read_cosine(m, a.classes);
    if (m.exists("features")) {
        const h5::Group features = m.open_group("features");
        for (const std::string& name : features.links()) {
            const h5::Group g = features.open_group(name);
            FeatureSetCosine& f = a.features[name];
            f.d = g.read_attribute<std::int64_t>("d");
            f.cosine = read_cosine(g, a.classes);
        }
    }

    const h5::Group sil = m.open_group("silhouette");
    for (const std::string& space : sil.links()) {
        const h5::Group g = sil.open_group(space);
        SpaceClusters c;
        c.euclidean = read_silhouette(g, "euclidean");
        c.cosine = read_silhouette(g, "cosine");
        const auto db = a.scalars.find("davies_bouldin_" + space);
        if (db != a.scalars.end() && a.undefined.count(db->first) == 0)
            c.davies_bouldin = db->second;
        a.spaces[space] = std::move(c);
    }

    if (m.exists("tsne")) {
        const h5::Group g = m.open_group("tsne");
        TsneResult t;
        t.embedding = g.read<float>("embedding", {h5::kAnyDim, h5::kAnyDim});
        const h5::Shape shape = g.shape("embedding");
        t.n = static_cast<std::int64_t>(shape[0]);
        t.dims = static_cast<std::int64_t>(shape[1]);
        t.kl_divergence = g.read_attribute<double>("kl_divergence");
        t.iterations = g.read_attribute<std::int64_t>("iterations");
        t.learning_rate = g.read_attribute<double>("learning_rate");
        t.neighbours = g.read_attribute<std::int64_t>("neighbours");
        a.tsne = std::move(t);
        a.tsne_options.perplexity = g.read_attribute<double>("perplexity");
        a.tsne_options.theta = g.read_attribute<double>("theta");
        a.tsne_options.seed = g.read_attribute<std::uint64_t>("seed");
        const std::string method = g.read_attribute<std::string>("method");
        const std::optional<TsneMethod> parsed = enum_from_name<TsneMethod>(method);
        if (!parsed) throw ConfigError("metrics.tsne.method: unknown method \"" + method + "\"");
        a.tsne_options.method = *parsed;
    }

    const h5::Group sup = m.open_group("superposition");
    Superposition& s = a.superposition;
    s.covariance_spectrum = sup.read<double>("covariance_spectrum");
    s.unit_selectivity = sup.read<double>("unit_selectivity");
    s.unit_classes = sup.read<std::int64_t>("unit_classes");
    auto scalar = [&](const char* name) {
        const auto it = a.scalars.find(name);
        return it == a.scalars.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
    };
    s.participation_ratio = scalar("participation_ratio");
    s.nc1 = scalar("nc1");
    s.within_between_ratio = scalar("within_between_ratio");
    s.selectivity_mean = scalar("selectivity_mean");
    s.classes_per_unit_mean = scalar("classes_per_unit_mean");
    s.dead_units = static_cast<std::int64_t>(scalar("dead_units"));
    if (sup.exists("feature_dimensionality")) {
        FeatureDimensionality f;
        f.per_feature = sup.read<double>("feature_dimensionality");
        f.total = scalar("feature_dimensionality_total");
        f.dimensions_per_feature = scalar("dimensions_per_feature");
        a.feature_dimensionality = std::move(f);
    }
    return a;
}

} // namespace sp
