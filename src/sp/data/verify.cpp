#include "sp/data/verify.hpp"

#include "sp/data/source_files.hpp"
#include "sp/util/error.hpp"
#include "sp/util/hash.hpp"
#include "sp/util/log.hpp"

#include <array>
#include <cctype>
#include <filesystem>
#include <system_error>

namespace sp {
namespace {

// CIFAR-10: the dataset's page lists the MD5 of each version's archive, binary version
// "cifar-10-binary.tar.gz" c32a1d4ab5d03f1284b67883e8d87530 (https://www.cs.toronto.edu/~kriz/
// cifar.html). Tiny ImageNet: Stanford's CS231n page gives only the download link; the MD5 below
// is the one public loaders check the zip against, e.g. ContinualAI/avalanche,
// avalanche/benchmarks/datasets/tiny_imagenet/tiny_imagenet.py (`md5 = '90528d7c...'`).
constexpr std::array<PublishedArchive, 2> kPublished = {{
    {"cifar10", "cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530",
     "https://www.cs.toronto.edu/~kriz/cifar.html"},
    {"tiny-imagenet", "tiny-imagenet-200.zip", "90528d7ca1a48142e341f4ef8d21d0de",
     "http://cs231n.stanford.edu/tiny-imagenet-200.zip, MD5 as checked by ContinualAI/avalanche "
     "(avalanche/benchmarks/datasets/tiny_imagenet/tiny_imagenet.py)"},
}};

bool is_hex_digest(const std::string& s, std::size_t digits) {
    if (s.size() != digits) return false;
    for (char c : s) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    }
    return true;
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

} // namespace

const PublishedArchive* published_archive(const std::string& dataset) {
    for (const PublishedArchive& a : kPublished) {
        if (dataset == a.dataset) return &a;
    }
    return nullptr;
}

std::string verify_archive(const std::string& dataset, const std::string& path,
                           bool allow_unverified) {
    const PublishedArchive* published = published_archive(dataset);
    if (published == nullptr) {
        throw ConfigError("--archive: no published checksum is known for dataset " + dataset +
                          " (known: cifar10, tiny-imagenet)");
    }
    const std::string found = file_md5_hex(path);
    if (found == published->md5) {
        return "archive " + path + ": MD5 " + found + " matches the published value (" +
               published->source + ")";
    }
    const std::string mismatch = path + ": MD5 mismatch: expected " + published->md5 + " (" +
                                 published->file_name + ", " + published->source + "), found " +
                                 found;
    if (!allow_unverified) {
        throw DataError(mismatch + " (a damaged or different download; --allow-unverified "
                                   "accepts it and records that it did)");
    }
    log::warn(mismatch + "; accepted with --allow-unverified");
    return "UNVERIFIED: " + mismatch + "; accepted with --allow-unverified";
}

std::string verify_manifest(const std::string& dir, bool allow_unverified) {
    const std::string manifest = dir + "/" + kManifestName;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(manifest, ec)) return "";
    const std::string text = read_file_bytes(manifest);
    std::size_t files = 0;
    std::size_t line_no = 0;
    std::string mismatches;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        start = end + 1;
        ++line_no;
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (line.empty()) continue;
        const std::size_t space = line.find(' ');
        const std::string expected = lower(line.substr(0, space));
        std::string rel = space == std::string::npos ? "" : line.substr(space);
        while (!rel.empty() && rel.front() == ' ') rel.erase(0, 1);
        if (!rel.empty() && rel.front() == '*') rel.erase(0, 1); // sha256sum's binary mode
        if (!is_hex_digest(expected, 64) || rel.empty()) {
            throw DataError(manifest + ":" + std::to_string(line_no) +
                            ": expected '<64 hex digits>  <file>', as sha256sum writes");
        }
        const std::string path = dir + "/" + rel;
        std::string found;
        try {
            found = file_sha256_hex(path);
        } catch (const IoError& e) {
            found = std::string("nothing (") + e.what() + ")";
        }
        ++files;
        if (found == expected) continue;
        const std::string mismatch = path + ": SHA-256 mismatch: expected " + expected + " (" +
                                     manifest + ":" + std::to_string(line_no) + "), found " + found;
        if (!allow_unverified) throw DataError(mismatch);
        log::warn(mismatch + "; accepted with --allow-unverified");
        mismatches += (mismatches.empty() ? "" : "; ") + mismatch;
    }
    if (!mismatches.empty()) {
        return "UNVERIFIED: " + mismatches + "; accepted with --allow-unverified";
    }
    return std::to_string(files) + (files == 1 ? " file matches " : " files match ") + manifest;
}

} // namespace sp
