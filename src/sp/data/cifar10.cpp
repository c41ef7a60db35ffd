#include "sp/data/readers.hpp"
#include "sp/data/source_files.hpp"
#include "sp/util/error.hpp"

#include <array>
#include <cstring>
#include <filesystem>
#include <sys/stat.h>

namespace sp {
namespace {

constexpr std::int64_t kClasses = 10;
constexpr std::int64_t kChannels = 3;
constexpr std::int64_t kSide = 32;
constexpr std::size_t kPixelBytes = kChannels * kSide * kSide;
constexpr std::size_t kRecordBytes = 1 + kPixelBytes;

const std::vector<std::string>& published_names() {
    static const std::vector<std::string> names = {
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
    return names;
}

// batches.meta.txt: one class name a line, then blank lines (the published file ends with some).
std::vector<std::string> parse_meta(std::string_view text, const std::string& name) {
    std::vector<std::string> names;
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const std::size_t eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
            line.remove_suffix(1);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
            line.remove_prefix(1);
        if (line.empty()) continue;
        if (names.size() == kClasses) {
            throw DataError(name + ": line " + std::to_string(line_no) + ": more than " +
                            std::to_string(kClasses) + " class names");
        }
        names.emplace_back(line);
    }
    if (names.size() != kClasses) {
        throw DataError(name + ": " + std::to_string(names.size()) + " class names, expected " +
                        std::to_string(kClasses));
    }
    return names;
}

bool file_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

} // namespace

void parse_cifar10_batch(std::string_view bytes, const std::string& name, ImageSet& out) {
    SP_CHECK(out.count == 0 ||
                 (out.channels == kChannels && out.height == kSide && out.width == kSide),
             "parse_cifar10_batch appends only to an empty or 3 x 32 x 32 ImageSet");
    if (bytes.empty()) throw DataError(name + ": empty file, expected 3073-byte records");
    const std::size_t records = bytes.size() / kRecordBytes;
    const std::size_t rest = bytes.size() % kRecordBytes;
    if (rest != 0) {
        throw DataError(name + ": size " + std::to_string(bytes.size()) +
                        " is not a whole number of " + std::to_string(kRecordBytes) +
                        "-byte records (" + std::to_string(records) + " records and " +
                        std::to_string(rest) + " bytes left over)");
    }
    // Validate every label before touching `out`, so a bad file leaves it unchanged.
    for (std::size_t r = 0; r < records; ++r) {
        const auto label = static_cast<unsigned char>(bytes[r * kRecordBytes]);
        if (label >= kClasses) {
            throw DataError(name + ": record " + std::to_string(r) + ": label " +
                            std::to_string(label) + " is out of range [0, " +
                            std::to_string(kClasses) + ")");
        }
    }
    out.channels = kChannels;
    out.height = kSide;
    out.width = kSide;
    const std::size_t first = out.pixels.size();
    out.pixels.resize(first + records * kPixelBytes);
    out.labels.reserve(out.labels.size() + records);
    for (std::size_t r = 0; r < records; ++r) {
        const char* record = bytes.data() + r * kRecordBytes;
        out.labels.push_back(static_cast<unsigned char>(record[0]));
        std::memcpy(out.pixels.data() + first + r * kPixelBytes, record + 1, kPixelBytes);
    }
    out.count += static_cast<std::int64_t>(records);
}

DataSplits read_cifar10(const std::string& dir) {
    static const std::array<const char*, 5> kTrain = {"data_batch_1.bin", "data_batch_2.bin",
                                                      "data_batch_3.bin", "data_batch_4.bin",
                                                      "data_batch_5.bin"};
    static const char* const kTest = "test_batch.bin";
    static const char* const kMeta = "batches.meta.txt";
    const auto path = [&](const char* file) { return dir + "/" + file; };

    // All six files must be there before any is read: a partial download fails fast.
    std::size_t train_bytes = 0;
    for (const char* file : kTrain) {
        if (!file_exists(path(file))) {
            throw DataError(path(file) + ": no such file (CIFAR-10 binary needs data_batch_1.bin "
                                         ".. data_batch_5.bin and test_batch.bin)");
        }
        std::error_code ec;
        const auto size = std::filesystem::file_size(path(file), ec);
        if (!ec) train_bytes += static_cast<std::size_t>(size);
    }
    if (!file_exists(path(kTest))) {
        throw DataError(path(kTest) + ": no such file (CIFAR-10 binary needs data_batch_1.bin "
                                      ".. data_batch_5.bin and test_batch.bin)");
    }

    DataSplits d;
    d.name = "cifar10";
    d.source = dir;
    d.class_names = published_names();
    SourceChecksum sum; // files in sorted order: batches.meta.txt, data_batch_*, test_batch.bin
    if (file_exists(path(kMeta))) {
        const std::string meta = read_file_bytes(path(kMeta));
        sum.add(kMeta, meta);
        d.class_names = parse_meta(meta, path(kMeta));
    }
    d.train.pixels.reserve(train_bytes / kRecordBytes * kPixelBytes);
    for (const char* file : kTrain) {
        const std::string bytes = read_file_bytes(path(file));
        sum.add(file, bytes);
        parse_cifar10_batch(bytes, path(file), d.train);
    }
    const std::string test = read_file_bytes(path(kTest));
    sum.add(kTest, test);
    parse_cifar10_batch(test, path(kTest), d.eval);
    d.checksum = sum.finish_hex();
    return d;
}

} // namespace sp
