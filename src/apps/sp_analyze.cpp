// sp_analyze: the metrics stage alone, on any HDF5 file holding embeddings and labels.
//
//     sp_analyze FILE.h5 [--output OUT.h5] [--set metrics.KEY=VALUE ...] [--threads T]
//                [--classes K] [--seed S]
//
// Reads /eval/embeddings (N x D, float32 or float64), /eval/labels (N, int64 or int32) and, if
// present, /model/class_vectors (K x D) and a replicate's extra layers (/eval/extra/<name>, the
// cosine statistics of each) from FILE, computes every metric (results-schema/
// measures.md) and writes the group /metrics into FILE (or into a copy at OUT), replacing an
// old /metrics. The file is rewritten atomically: a copy is written beside it and renamed over
// it, so an interruption leaves the original untouched. Metric settings come from the file's own
// resolved configuration (/provenance/config_toml, a replicate file) or the defaults, then
// --set. The t-SNE seed is metrics.tsne.seed when that is set (>= 0), else --seed, else the
// file's /provenance/seeds seed_tsne attribute, else 0.
// FILE may come from elsewhere: HDF5 external links, virtual and externally stored datasets are
// refused unless --allow-external-links, and a declared extent larger than the memory available
// is refused before it is read (results-schema/README.md, "Reading files from elsewhere").
// Exit codes: 0 ok, 2 bad input (arguments, file layout, settings).
#include "sp/config/sweep.hpp"
#include "sp/io/atomic.hpp"
#include "sp/io/h5.hpp"
#include "sp/metrics/analyze.hpp"
#include "sp/util/error.hpp"
#include "sp/util/main.hpp"
#include "sp/util/memory.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace {

struct Loaded {
    std::int64_t n = 0;
    std::int64_t d = 0;
    std::int64_t classes = 0;
    std::vector<float> x;
    std::vector<std::int64_t> labels;
    std::vector<float> class_vectors;
    std::int64_t class_vector_dim = 0;
    std::optional<std::string> config_toml;
    std::optional<std::uint64_t> tsne_seed;
    /// The file's extra feature sets (/eval/extra/<name> for each model.extra_layers entry of
    /// its resolved configuration): name, width, n x width rows.
    std::vector<std::tuple<std::string, std::int64_t, std::vector<float>>> extra;
};

/// A float matrix stored as float32 or float64.
std::vector<float> read_floats(const sp::h5::File& f, const std::string& path,
                               sp::h5::Shape& shape) {
    shape = f.shape(path);
    if (shape.size() != 2)
        throw sp::DataError(path + " must be a 2-D dataset, found rank " +
                            std::to_string(shape.size()));
    const std::optional<sp::h5::Dtype> dt = f.dtype(path).dtype;
    if (dt == sp::h5::Dtype::float32) return f.read<float>(path, shape);
    if (dt == sp::h5::Dtype::float64) {
        const std::vector<double> v = f.read<double>(path, shape);
        return {v.begin(), v.end()};
    }
    throw sp::DataError(path + " must hold float32 or float64 values");
}

Loaded load(const std::string& file, std::int64_t classes_arg) {
    const sp::h5::File f = sp::h5::File::open(file);
    Loaded in;
    for (const char* needed : {"/eval/embeddings", "/eval/labels"}) {
        if (!f.exists(needed))
            throw sp::DataError(file + ": " + needed +
                                " is missing (see results-schema/README.md, \"Analysing "
                                "embeddings from elsewhere\")");
    }
    sp::h5::Shape shape;
    in.x = read_floats(f, "/eval/embeddings", shape);
    in.n = static_cast<std::int64_t>(shape[0]);
    in.d = static_cast<std::int64_t>(shape[1]);
    const std::optional<sp::h5::Dtype> ldt = f.dtype("/eval/labels").dtype;
    if (ldt == sp::h5::Dtype::int64) {
        in.labels = f.read<std::int64_t>("/eval/labels", {shape[0]});
    } else if (ldt == sp::h5::Dtype::int32) {
        const auto v = f.read<std::int32_t>("/eval/labels", {shape[0]});
        in.labels.assign(v.begin(), v.end());
    } else {
        throw sp::DataError(file + ": /eval/labels must hold int64 or int32 values");
    }
    std::int64_t max_label = -1;
    for (std::size_t i = 0; i < in.labels.size(); ++i) {
        if (in.labels[i] < 0)
            throw sp::DataError(file + ": /eval/labels[" + std::to_string(i) + "] is negative (" +
                                std::to_string(in.labels[i]) + ")");
        max_label = std::max(max_label, in.labels[i]);
    }
    in.classes = max_label + 1;
    if (f.exists("/eval/class_names"))
        in.classes = static_cast<std::int64_t>(f.shape("/eval/class_names").at(0));
    if (classes_arg > 0) in.classes = classes_arg;
    if (max_label >= in.classes)
        throw sp::DataError(file + ": label " + std::to_string(max_label) + " is outside [0, " +
                            std::to_string(in.classes) + ")");
    if (f.exists("/model/class_vectors")) {
        sp::h5::Shape ws;
        in.class_vectors = read_floats(f, "/model/class_vectors", ws);
        if (static_cast<std::int64_t>(ws[0]) != in.classes)
            throw sp::DataError(file + ": /model/class_vectors has " + std::to_string(ws[0]) +
                                " rows for " + std::to_string(in.classes) + " classes");
        in.class_vector_dim = static_cast<std::int64_t>(ws[1]);
    }
    if (f.exists("/provenance") && f.open_group("/provenance").has_attribute("config_toml"))
        in.config_toml = f.open_group("/provenance").read_attribute<std::string>("config_toml");
    if (in.config_toml) {
        // A replicate's extra layers are analysed again with its embeddings (their cosine
        // statistics are part of /metrics, which is rewritten whole).
        const sp::Sweep s = sp::parse_sweep(*in.config_toml, file + ":/provenance/config_toml");
        for (const std::string& name : s.base.model.extra_layers) {
            const std::string path = "/eval/extra/" + name;
            if (!f.exists(path)) continue;
            sp::h5::Shape es;
            std::vector<float> rows = read_floats(f, path, es);
            if (static_cast<std::int64_t>(es[0]) != in.n)
                throw sp::DataError(file + ": " + path + " has " + std::to_string(es[0]) +
                                    " rows for " + std::to_string(in.n) + " embeddings");
            in.extra.emplace_back(name, static_cast<std::int64_t>(es[1]), std::move(rows));
        }
    }
    if (f.exists("/provenance/seeds") &&
        f.open_group("/provenance/seeds").has_attribute("seed_tsne"))
        in.tsne_seed = f.open_group("/provenance/seeds").read_attribute<std::uint64_t>("seed_tsne");
    return in;
}

/// Metric settings: the file's resolved configuration (or the defaults), then --set.
sp::MetricsConfig metrics_config(const std::string& file, const Loaded& in,
                                 const std::vector<std::string>& sets) {
    for (const std::string& s : sets) {
        if (s.rfind("metrics.", 0) != 0)
            throw sp::ConfigError("--set " + s + ": sp_analyze takes only metrics.* keys");
    }
    const sp::Sweep sweep =
        in.config_toml ? sp::parse_sweep(*in.config_toml, file + ":/provenance/config_toml", sets)
                       : sp::parse_sweep("[sweep]\nname = \"sp_analyze\"\n", "sp_analyze", sets);
    sp::Experiment e = sweep.base;
    sp::SourceMap sources = sweep.base_sources;
    for (const sp::Setting& s : sweep.overrides) {
        sp::find_field(s.key)->set(e, s.value);
        sources[s.key] = s.source;
    }
    sp::Diagnostics diag;
    sp::validate_experiment(e, sources, diag);
    diag.throw_if_any();
    return e.metrics;
}

void write_in_copy(const std::string& source, const std::string& target, const sp::Analysis& a) {
    // A temporary of this process's own (never another writer's), overwritten with the copy.
    const std::string temp = sp::io::create_temp_for(target);
    std::error_code ec;
    try {
        std::filesystem::copy_file(source, temp, std::filesystem::copy_options::overwrite_existing,
                                   ec);
        if (ec) throw sp::IoError(temp + ": cannot copy " + source + ": " + ec.message());
        sp::h5::File f = sp::h5::File::open(temp, sp::h5::Access::read_write);
        sp::write_analysis(f, a, 4);
        f.close();
        sp::io::publish_file(temp, target);
    } catch (...) {
        std::filesystem::remove(temp, ec);
        throw;
    }
}

void print_summary(const std::string& file, const sp::Analysis& a) {
    std::cout << file << ": " << a.n << " x " << a.d << ", " << a.classes << " classes, "
              << std::fixed << std::setprecision(1) << a.seconds << " s\n";
    std::cout << std::defaultfloat << std::setprecision(6);
    for (const auto& [name, v] : a.scalars) {
        std::cout << "  " << std::left << std::setw(32) << name << ' ' << v;
        const auto why = a.undefined.find(name);
        if (why != a.undefined.end()) std::cout << "  (undefined: " << why->second << ')';
        std::cout << '\n';
    }
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"Compute sp's metrics for the embeddings in an HDF5 file and write /metrics."};
    std::string file;
    std::string output;
    std::vector<std::string> sets;
    int threads = 0;
    std::int64_t classes = 0;
    std::int64_t seed = -1;
    bool quiet = false;
    app.add_option("file", file, "HDF5 file with /eval/embeddings and /eval/labels")->required();
    app.add_option("-o,--output", output, "write a copy with /metrics here instead of in place");
    app.add_option("--set", sets, "metrics.KEY=VALUE override (repeatable)");
    app.add_option("--threads", threads, "LibTorch threads (default: LibTorch's choice)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--classes", classes, "number of classes (default: from the file)")
        ->check(CLI::PositiveNumber);
    app.add_option("--seed", seed,
                   "t-SNE seed, used unless metrics.tsne.seed is set (file configuration or "
                   "--set); overrides the file's /provenance/seeds seed_tsne (default: that, "
                   "else 0)")
        ->check(CLI::NonNegativeNumber);
    app.add_flag("-q,--quiet", quiet, "print nothing on success");
    bool allow_external = false;
    app.add_flag("--allow-external-links", allow_external,
                 "follow HDF5 external links and read virtual or externally stored datasets in "
                 "FILE (refused by default: they read files not named here)");
    return sp::guarded_main("sp_analyze", [&] {
        try {
            app.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            return app.exit(e) == 0 ? 0 : static_cast<int>(sp::ExitCode::bad_input);
        }
        sp::h5::ReadPolicy policy;
        policy.allow_external = allow_external;
        sp::h5::set_read_policy(policy);
        sp::tune_allocator();
        const Loaded in = load(file, classes);
        const sp::MetricsConfig cfg = metrics_config(file, in, sets);
        const std::uint64_t tsne_seed =
            seed >= 0 ? static_cast<std::uint64_t>(seed) : in.tsne_seed.value_or(0);
        sp::AnalysisInput ai = sp::analysis_input(in.n, in.d, in.classes, in.x, in.labels,
                                                  in.class_vectors, in.class_vector_dim);
        for (const auto& [name, width, rows] : in.extra)
            ai.feature_sets.push_back({name, width, rows.data()});
        const sp::Analysis a = sp::analyze(ai, cfg, tsne_seed, threads);
        const std::string target = output.empty() ? file : output;
        write_in_copy(file, target, a);
        if (!quiet) print_summary(target, a);
        return 0;
    });
}
