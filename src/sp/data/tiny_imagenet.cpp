#include "sp/data/jpeg.hpp"
#include "sp/data/readers.hpp"
#include "sp/data/source_files.hpp"
#include "sp/util/error.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

namespace sp {
namespace {

namespace fs = std::filesystem;

constexpr int kSide = 64;
constexpr std::int64_t kChannels = 3;

/// One JPEG to decode: its path relative to the dataset root, and the slot it fills.
struct Job {
    std::string rel;
    ImageSet* set = nullptr;
    std::int64_t index = 0;
};

std::string_view trim(std::string_view s) {
    const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

/// Calls `f(line_number, line)` for each line of `text` (1-based, without the line ending).
template <typename F> void for_each_line(std::string_view text, F f) {
    std::size_t line_no = 0;
    while (!text.empty()) {
        const std::size_t eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        f(++line_no, line);
    }
}

bool is_directory(const std::string& path) {
    std::error_code ec;
    return fs::is_directory(path, ec);
}

/// File names ending in ".JPEG" in `dir`, sorted bytewise.
std::vector<std::string> list_jpegs(const std::string& dir) {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::string file = it->path().filename().string();
        constexpr std::string_view kExt = ".JPEG";
        if (file.size() > kExt.size() &&
            file.compare(file.size() - kExt.size(), kExt.size(), kExt) == 0)
            names.push_back(std::move(file));
    }
    if (ec) throw DataError(dir + "/: cannot list: " + ec.message());
    if (names.empty()) throw DataError(dir + "/: no .JPEG files");
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<std::string> parse_wnids(std::string_view text, const std::string& name) {
    std::vector<std::string> wnids;
    std::map<std::string, std::size_t, std::less<>> first_line;
    for_each_line(text, [&](std::size_t line_no, std::string_view line) {
        line = trim(line);
        if (line.empty()) return;
        const std::string where = name + ": line " + std::to_string(line_no) + ": ";
        if (line.find_first_of(" \t") != std::string_view::npos)
            throw DataError(where + "'" + std::string(line) + "' is not a single wnid");
        const auto [it, fresh] = first_line.emplace(std::string(line), line_no);
        if (!fresh) {
            throw DataError(where + "wnid " + it->first + " repeats line " +
                            std::to_string(it->second));
        }
        wnids.emplace_back(line);
    });
    if (wnids.empty()) throw DataError(name + ": no wnids");
    return wnids;
}

/// A val image's class, and the annotation line that gives it.
struct ValLabel {
    std::int64_t label = 0;
    std::size_t line = 0;
};

/// val_annotations.txt: "file<TAB>wnid<TAB>x0<TAB>y0<TAB>x1<TAB>y1" per line; returns file ->
/// label.
std::map<std::string, ValLabel> parse_annotations(std::string_view text, const std::string& name,
                                                  const std::vector<std::string>& wnids) {
    std::map<std::string, std::int64_t, std::less<>> label_of_wnid;
    for (std::size_t i = 0; i < wnids.size(); ++i)
        label_of_wnid.emplace(wnids[i], static_cast<std::int64_t>(i));
    std::map<std::string, ValLabel> labels;
    for_each_line(text, [&](std::size_t line_no, std::string_view line) {
        if (trim(line).empty()) return;
        const std::string where = name + ": line " + std::to_string(line_no) + ": ";
        std::vector<std::string_view> fields;
        for (std::size_t start = 0;;) {
            const std::size_t tab = line.find('\t', start);
            fields.push_back(line.substr(start, tab == std::string_view::npos ? tab : tab - start));
            if (tab == std::string_view::npos) break;
            start = tab + 1;
        }
        if (fields.size() != 6) {
            throw DataError(where +
                            "expected 6 tab-separated fields (file, wnid, x0, y0, x1, y1), "
                            "found " +
                            std::to_string(fields.size()));
        }
        for (std::size_t f = 2; f < 6; ++f) {
            if (fields[f].empty() ||
                fields[f].find_first_not_of("0123456789") != std::string_view::npos) {
                throw DataError(where + "field " + std::to_string(f + 1) + " '" +
                                std::string(fields[f]) + "' is not a box coordinate");
            }
        }
        const std::string file(fields[0]);
        if (file.empty() || file.find('/') != std::string::npos)
            throw DataError(where + "'" + file + "' is not a file name");
        const auto wnid = label_of_wnid.find(fields[1]);
        if (wnid == label_of_wnid.end()) {
            throw DataError(where + "wnid " + std::string(fields[1]) + " is not in wnids.txt");
        }
        const auto [it, fresh] = labels.emplace(file, ValLabel{wnid->second, line_no});
        if (!fresh) {
            throw DataError(where + file + " is annotated twice (first on line " +
                            std::to_string(it->second.line) + ")");
        }
    });
    return labels;
}

void allocate(ImageSet& set, std::int64_t count) {
    set.count = count;
    set.channels = kChannels;
    set.height = kSide;
    set.width = kSide;
    set.pixels.assign(static_cast<std::size_t>(count * set.image_bytes()), 0);
    set.labels.assign(static_cast<std::size_t>(count), 0);
}

// Workers take jobs in increasing order (sorted by path) and decode each into its slot; the
// calling thread feeds the checksum in the same order as each file's bytes become ready, so
// the bytes are read once and freed early. A failing job stops new claims, but every job already
// claimed finishes, so the error reported is always that of the first bad file in path order,
// whatever the thread count.
void decode_all(const std::string& dir, const std::vector<Job>& jobs, int threads,
                SourceChecksum& sum) {
    const std::size_t n = jobs.size();
    std::vector<std::string> raw(n);
    std::vector<char> ready(n, 0);
    std::mutex mutex;
    std::condition_variable changed;
    std::atomic<std::size_t> next{0};
    std::atomic<bool> stop{false};
    std::size_t failed = n; // guarded by mutex, like failure, raw and ready
    std::exception_ptr failure;
    const auto fail = [&](std::size_t i, std::exception_ptr e) {
        std::lock_guard<std::mutex> lock(mutex);
        if (i < failed) {
            failed = i;
            failure = std::move(e);
        }
        stop = true;
    };

    const auto work = [&] {
        try {
            JpegDecoder decoder;
            while (!stop) {
                const std::size_t i = next.fetch_add(1);
                if (i >= n) break;
                const Job& job = jobs[i];
                const std::string path = dir + "/" + job.rel;
                try {
                    std::string bytes = read_file_bytes(path);
                    decoder.decode_planar_rgb(bytes, path, kSide, kSide, job.set->image(job.index));
                    std::lock_guard<std::mutex> lock(mutex);
                    raw[i] = std::move(bytes);
                    ready[i] = 1;
                } catch (...) {
                    fail(i, std::current_exception());
                }
                changed.notify_all();
            }
        } catch (...) {
            fail(0, std::current_exception()); // no decoder: nothing can be decoded
            changed.notify_all();
        }
    };

    const std::size_t workers =
        std::min<std::size_t>(static_cast<std::size_t>(std::max(threads, 1)), n);
    std::vector<std::thread> pool;
    const auto join = [&] {
        stop = true;
        for (auto& t : pool) t.join();
        pool.clear();
    };
    try {
        for (std::size_t t = 0; t < workers; ++t) pool.emplace_back(work);
        for (std::size_t i = 0; i < n; ++i) {
            std::string bytes;
            {
                std::unique_lock<std::mutex> lock(mutex);
                changed.wait(lock, [&] { return ready[i] != 0 || failed < n; });
                if (ready[i] == 0) break;
                bytes = std::move(raw[i]);
            }
            sum.add(jobs[i].rel, bytes);
        }
    } catch (...) {
        join();
        throw;
    }
    join();
    if (failure) std::rethrow_exception(failure);
}

} // namespace

DataSplits read_tiny_imagenet(const std::string& dir, int threads) {
    if (!is_directory(dir)) throw DataError(dir + "/: no such directory (Tiny ImageNet root)");
    DataSplits d;
    d.name = "tiny-imagenet";
    d.source = dir;
    const std::string wnids_text = read_file_bytes(dir + "/wnids.txt");
    d.class_names = parse_wnids(wnids_text, dir + "/wnids.txt");

    std::vector<Job> jobs;
    // Training: class by class in wnids.txt order, then by file name.
    if (!is_directory(dir + "/train")) throw DataError(dir + "/train/: no such folder");
    std::vector<std::vector<std::string>> train_files;
    std::int64_t train_count = 0;
    for (std::size_t c = 0; c < d.class_names.size(); ++c) {
        const std::string& wnid = d.class_names[c];
        const std::string folder = dir + "/train/" + wnid;
        if (!is_directory(folder)) {
            throw DataError(folder + "/: no such folder (wnids.txt lists " + wnid + ")");
        }
        if (!is_directory(folder + "/images")) throw DataError(folder + "/images/: no such folder");
        train_files.push_back(list_jpegs(folder + "/images"));
        train_count += static_cast<std::int64_t>(train_files.back().size());
    }
    {
        std::error_code ec;
        for (fs::directory_iterator it(dir + "/train", ec), end; !ec && it != end;
             it.increment(ec)) {
            const std::string entry = it->path().filename().string();
            if (std::find(d.class_names.begin(), d.class_names.end(), entry) == d.class_names.end())
                throw DataError(dir + "/train/" + entry + ": not a wnid listed in wnids.txt");
        }
        if (ec) throw DataError(dir + "/train/: cannot list: " + ec.message());
    }
    allocate(d.train, train_count);
    std::int64_t slot = 0;
    for (std::size_t c = 0; c < train_files.size(); ++c) {
        for (const std::string& file : train_files[c]) {
            d.train.labels[static_cast<std::size_t>(slot)] = static_cast<std::int64_t>(c);
            jobs.push_back({"train/" + d.class_names[c] + "/images/" + file, &d.train, slot++});
        }
    }

    // Validation: by file name; every image annotated and every annotation an image.
    const std::string annotations_rel = "val/val_annotations.txt";
    const std::string annotations_text = read_file_bytes(dir + "/" + annotations_rel);
    std::map<std::string, ValLabel> val_labels =
        parse_annotations(annotations_text, dir + "/" + annotations_rel, d.class_names);
    if (!is_directory(dir + "/val/images")) throw DataError(dir + "/val/images/: no such folder");
    const std::vector<std::string> val_files = list_jpegs(dir + "/val/images");
    allocate(d.eval, static_cast<std::int64_t>(val_files.size()));
    for (std::size_t i = 0; i < val_files.size(); ++i) {
        const auto it = val_labels.find(val_files[i]);
        if (it == val_labels.end()) {
            throw DataError(dir + "/val/images/" + val_files[i] + ": not in " + annotations_rel);
        }
        d.eval.labels[i] = it->second.label;
        val_labels.erase(it);
        jobs.push_back({"val/images/" + val_files[i], &d.eval, static_cast<std::int64_t>(i)});
    }
    if (!val_labels.empty()) {
        const auto& [file, label] = *val_labels.begin();
        throw DataError(dir + "/" + annotations_rel + ": line " + std::to_string(label.line) +
                        ": " + file + " is not in val/images/");
    }

    std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.rel < b.rel; });
    SourceChecksum sum;
    decode_all(dir, jobs, threads, sum);
    // After every JPEG in path order: "val/val_annotations.txt" < "wnids.txt", both >
    // "val/images/".
    sum.add(annotations_rel, annotations_text);
    sum.add("wnids.txt", wnids_text);
    d.checksum = sum.finish_hex();
    return d;
}

} // namespace sp
