#include "sp/data/cache.hpp"

#include "sp/io/atomic.hpp"
#include "sp/io/h5.hpp"
#include "sp/util/clock.hpp"
#include "sp/util/error.hpp"
#include "sp/util/hash.hpp"
#include "sp/util/version.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

namespace sp {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFileKind = "dataset-cache";

// ---- writing --------------------------------------------------------------------------------

void check_split(const ImageSet& s, const std::string& split, std::int64_t classes,
                 const std::string& path) {
    const std::string where = path + ": /" + split + ": ";
    if (s.count < 0 || s.channels < 1 || s.height < 1 || s.width < 1) {
        throw DataError(where + "bad shape [" + std::to_string(s.count) + ", " +
                        std::to_string(s.channels) + ", " + std::to_string(s.height) + ", " +
                        std::to_string(s.width) + "]");
    }
    if (s.pixels.size() != static_cast<std::size_t>(s.count * s.image_bytes())) {
        throw DataError(where + std::to_string(s.pixels.size()) + " pixel bytes for " +
                        std::to_string(s.count) + " images of " + std::to_string(s.image_bytes()) +
                        " bytes");
    }
    if (s.labels.size() != static_cast<std::size_t>(s.count)) {
        throw DataError(where + std::to_string(s.labels.size()) + " labels for " +
                        std::to_string(s.count) + " images");
    }
    for (std::size_t i = 0; i < s.labels.size(); ++i) {
        if (s.labels[i] < 0 || s.labels[i] >= classes) {
            throw DataError(where + "label " + std::to_string(s.labels[i]) + " of image " +
                            std::to_string(i) + " is outside [0, " + std::to_string(classes) + ")");
        }
    }
}

void write_split(h5::File& f, const ImageSet& s, const std::string& split, int deflate) {
    const auto u = [](std::int64_t v) { return static_cast<std::uint64_t>(v); };
    h5::DatasetOptions opts;
    // Chunks of a few hundred images: whole images per chunk, and reading a subset or a batch
    // touches few chunks. deflate 0 stores them raw (the fastest to read back).
    opts.chunk = {u(std::max<std::int64_t>(1, std::min(s.count, kCacheChunkImages))), u(s.channels),
                  u(s.height), u(s.width)};
    if (deflate > 0) opts.deflate = deflate;
    f.write<std::uint8_t>("/" + split + "/images", s.pixels,
                          {u(s.count), u(s.channels), u(s.height), u(s.width)}, opts);
    f.write<std::int64_t>("/" + split + "/labels", s.labels);
}

// ---- reading --------------------------------------------------------------------------------

std::string read_string_attribute(const h5::File& f, const std::string& name) {
    const std::string where = f.file_name() + ": /@" + name + ": ";
    if (!f.has_attribute(name)) throw DataError(where + "missing");
    const h5::TypeInfo t = f.attribute_type(name);
    if (t.dtype != h5::Dtype::string || !f.attribute_shape(name).empty()) {
        throw DataError(where + "expected a scalar string, found " + t.name + " " +
                        h5::to_string(f.attribute_shape(name)));
    }
    return f.read_attribute<std::string>(name);
}

// The dataset at `path` must exist with `dtype` and `rank`; returns its shape.
h5::Shape check_h5_dataset(const h5::File& f, const std::string& path, h5::Dtype dtype,
                           std::size_t rank) {
    const std::string where = f.file_name() + ": " + path + ": ";
    if (f.object_type(path) != h5::ObjectType::dataset) throw DataError(where + "missing");
    const h5::TypeInfo t = f.dtype(path);
    if (t.dtype != dtype) {
        throw DataError(where + "dtype is " + t.name + ", expected " + h5::to_string(dtype));
    }
    const h5::Shape shape = f.shape(path);
    if (shape.size() != rank) {
        throw DataError(where + "shape " + h5::to_string(shape) + ", expected rank " +
                        std::to_string(rank));
    }
    return shape;
}

ImageSet read_split(const h5::File& f, const std::string& split, std::int64_t classes) {
    const std::string images = "/" + split + "/images";
    const std::string labels = "/" + split + "/labels";
    const h5::Shape is = check_h5_dataset(f, images, h5::Dtype::uint8, 4);
    const h5::Shape ls = check_h5_dataset(f, labels, h5::Dtype::int64, 1);
    if (is[1] == 0 || is[2] == 0 || is[3] == 0) {
        throw DataError(f.file_name() + ": " + images + ": empty image shape " + h5::to_string(is));
    }
    if (ls[0] != is[0]) {
        throw DataError(f.file_name() + ": " + labels + ": shape " + h5::to_string(ls) + " but " +
                        images + " holds " + std::to_string(is[0]) + " images");
    }
    ImageSet s;
    s.count = static_cast<std::int64_t>(is[0]);
    s.channels = static_cast<std::int64_t>(is[1]);
    s.height = static_cast<std::int64_t>(is[2]);
    s.width = static_cast<std::int64_t>(is[3]);
    s.pixels = f.read<std::uint8_t>(images, is);
    s.labels = f.read<std::int64_t>(labels, ls);
    for (std::size_t i = 0; i < s.labels.size(); ++i) {
        if (s.labels[i] < 0 || s.labels[i] >= classes) {
            throw DataError(f.file_name() + ": " + labels + ": label " +
                            std::to_string(s.labels[i]) + " of image " + std::to_string(i) +
                            " is outside [0, " + std::to_string(classes) + ")");
        }
    }
    return s;
}

CacheInfo read_info(const h5::File& f) {
    const std::string& path = f.file_name();
    const std::string kind = read_string_attribute(f, "file_kind");
    if (kind != kFileKind) {
        throw DataError(path + ": /@file_kind: '" + kind + "', expected '" + kFileKind +
                        "' (not a dataset cache made by sp_prepare)");
    }
    if (!f.has_attribute("schema_version")) throw DataError(path + ": /@schema_version: missing");
    const h5::TypeInfo t = f.attribute_type("schema_version");
    if (t.dtype != h5::Dtype::int32 || !f.attribute_shape("schema_version").empty()) {
        throw DataError(path + ": /@schema_version: expected a scalar int32, found " + t.name);
    }
    const auto version = f.read_attribute<std::int32_t>("schema_version");
    if (version != kCacheSchemaVersion) {
        throw DataError(path + ": /@schema_version: " + std::to_string(version) +
                        ", this sp reads " + std::to_string(kCacheSchemaVersion) +
                        " (re-run sp_prepare)");
    }
    CacheInfo info;
    info.path = path;
    info.dataset = read_string_attribute(f, "dataset");
    info.source = read_string_attribute(f, "source");
    info.source_checksum = read_string_attribute(f, "source_checksum");
    info.source_fingerprint = read_string_attribute(f, "source_fingerprint");
    info.sp_version = read_string_attribute(f, "sp_version");
    info.created = read_string_attribute(f, "created");
    // Optional: caches made before it was recorded stay readable.
    if (f.has_attribute("verification"))
        info.verification = read_string_attribute(f, "verification");
    return info;
}

} // namespace

std::string source_fingerprint(const std::string& dir, const std::string& exclude) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw DataError(dir + ": no such directory");
    std::string excluded;
    if (!exclude.empty()) {
        const fs::path rel =
            fs::weakly_canonical(exclude, ec).lexically_relative(fs::weakly_canonical(dir, ec));
        if (!ec && !rel.empty() && *rel.begin() != "..") excluded = rel.generic_string();
    }
    std::vector<std::string> lines;
    try {
        const auto options = fs::directory_options::follow_directory_symlink;
        for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir, options)) {
            if (!e.is_regular_file()) continue;
            const std::string rel = e.path().lexically_relative(dir).generic_string();
            // The cache and its writers' temporaries (io/atomic.hpp: "<cache>.tmp.<pid>.<random>").
            if (!excluded.empty() && (rel == excluded || rel == excluded + ".tmp" ||
                                      rel.rfind(excluded + ".tmp.", 0) == 0)) {
                continue;
            }
            // stat's nanosecond mtime: std::filesystem's clock epoch is implementation-defined.
            struct stat st {};
            if (::stat(e.path().c_str(), &st) != 0) continue; // vanished while listing
            const long long mtime_ns =
                static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
            lines.push_back(rel + "\t" + std::to_string(st.st_size) + "\t" +
                            std::to_string(mtime_ns) + "\n");
        }
    } catch (const fs::filesystem_error& e) {
        throw DataError(dir + ": cannot list the dataset's files: " + e.code().message());
    }
    std::sort(lines.begin(), lines.end());
    std::string text;
    for (const std::string& l : lines) text += l;
    return sha256_hex(text);
}

void write_cache(const DataSplits& d, const std::string& path, int deflate,
                 const std::string& source_fingerprint) {
    if (deflate < 0 || deflate > 9) {
        throw ConfigError("compression level " + std::to_string(deflate) + " is outside 0-9");
    }
    const auto classes = static_cast<std::int64_t>(d.class_names.size());
    if (classes < 1)
        throw DataError(path + ": /class_names: dataset " + d.name + " has no classes");
    check_split(d.train, "train", classes, path);

    io::AtomicH5File out(path);
    h5::File& f = out.file();
    f.write_attribute("file_kind", kFileKind);
    f.write_attribute("schema_version", std::int32_t{kCacheSchemaVersion});
    f.write_attribute("sp_version", version());
    f.write_attribute("git_revision", git_revision());
    f.write_attribute("dataset", d.name);
    f.write_attribute("source", d.source);
    f.write_attribute("source_checksum", d.checksum);
    f.write_attribute("source_fingerprint", source_fingerprint);
    f.write_attribute("created", utc_now_iso8601());
    f.write_attribute("verification", d.verification);
    f.write<std::string>("/class_names", d.class_names);
    write_split(f, d.train, "train", deflate);

    // The evaluation split is checked only now, after the training split went into the .tmp:
    // a failure here leaves nothing under `path` (AtomicH5File removes the .tmp).
    check_split(d.eval, "eval", classes, path);
    if (d.eval.channels != d.train.channels || d.eval.height != d.train.height ||
        d.eval.width != d.train.width) {
        throw DataError(path + ": /eval: images of " + std::to_string(d.eval.channels) + " x " +
                        std::to_string(d.eval.height) + " x " + std::to_string(d.eval.width) +
                        ", training images are " + std::to_string(d.train.channels) + " x " +
                        std::to_string(d.train.height) + " x " + std::to_string(d.train.width));
    }
    write_split(f, d.eval, "eval", deflate);
    out.commit();
}

CacheInfo read_cache_info(const std::string& path) {
    const h5::File f = h5::File::open(path);
    return read_info(f);
}

DataSplits read_cache(const std::string& path, const std::string& expected_name) {
    const h5::File f = h5::File::open(path);
    const CacheInfo info = read_info(f);
    if (!expected_name.empty() && info.dataset != expected_name) {
        throw DataError(path + ": /@dataset: the cache holds '" + info.dataset + "', expected '" +
                        expected_name + "'");
    }
    const h5::Shape ks = check_h5_dataset(f, "/class_names", h5::Dtype::string, 1);
    if (ks[0] == 0) throw DataError(path + ": /class_names: empty");
    DataSplits d;
    d.name = info.dataset;
    d.class_names = f.read<std::string>("/class_names");
    const auto classes = static_cast<std::int64_t>(d.class_names.size());
    d.train = read_split(f, "train", classes);
    d.eval = read_split(f, "eval", classes);
    if (d.eval.channels != d.train.channels || d.eval.height != d.train.height ||
        d.eval.width != d.train.width) {
        throw DataError(path + ": /eval/images: image shape differs from /train/images");
    }
    d.source = path;
    d.checksum = info.source_checksum;
    d.verification = info.verification;
    return d;
}

} // namespace sp
