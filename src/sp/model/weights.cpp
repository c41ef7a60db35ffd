#include "sp/model/weights.hpp"

#include "sp/io/atomic.hpp"
#include "sp/util/error.hpp"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

namespace sp {
namespace {

constexpr const char* kHowToSave = "save with torch.save(dict(model.state_dict()), path); "
                                   "scripts/convert_weights.py converts torchvision's files";

std::string shape_text(c10::IntArrayRef sizes) {
    std::ostringstream out;
    out << '[';
    for (std::size_t i = 0; i < sizes.size(); ++i) out << (i == 0 ? "" : ", ") << sizes[i];
    out << ']';
    return out.str();
}

// c10::Error's message can carry a C++ backtrace; the first line is what the user needs.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string reason(const std::exception& e) {
    if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
        return first_line(c10_error->what_without_backtrace());
    }
    return first_line(e.what());
}

std::vector<char> read_bytes(const std::string& path, const std::string& where) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(status)) throw ConfigError(where + "no such file");
    if (!std::filesystem::is_regular_file(status)) throw ConfigError(where + "not a regular file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(where + "cannot be opened for reading");
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw ConfigError(where + "read error");
    return bytes;
}

bool has_prefix(const std::string& s, std::string_view prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

} // namespace

std::vector<std::pair<std::string, torch::Tensor>> state_dict(const torch::nn::Module& model) {
    std::vector<std::pair<std::string, torch::Tensor>> entries;
    for (const auto& module : model.named_modules()) {
        const std::string prefix = module.key().empty() ? "" : module.key() + ".";
        for (const auto& p : module.value()->named_parameters(/*recurse=*/false)) {
            if (p.value().defined()) entries.emplace_back(prefix + p.key(), p.value());
        }
        for (const auto& b : module.value()->named_buffers(/*recurse=*/false)) {
            if (b.value().defined()) entries.emplace_back(prefix + b.key(), b.value());
        }
    }
    return entries;
}

std::vector<std::pair<std::string, torch::Tensor>> read_tensor_dict(const std::string& path,
                                                                    const std::string& config_key) {
    const std::string where = config_key + ": " + path + ": ";
    const std::vector<char> bytes = read_bytes(path, where);
    c10::IValue value;
    try {
        value = torch::pickle_load(bytes);
    } catch (const std::exception& e) {
        // torch.save(model.state_dict()) pickles an OrderedDict with metadata, which LibTorch's
        // unpickler cannot rebuild: the commonest way to get here, hence the hint.
        throw ConfigError(where + "not a plain dict of tensors written by torch.save (" +
                          reason(e) + "); " + kHowToSave);
    }
    if (!value.isGenericDict()) {
        throw ConfigError(where + "holds a " + value.tagKind() + ", not a dict of tensors; " +
                          kHowToSave);
    }
    std::vector<std::pair<std::string, torch::Tensor>> entries;
    std::vector<std::string> problems;
    // GCC's -Wnull-dereference fires inside c10::Dict's inlined iterator (a false positive on
    // the hash map's sentinel, which is never null).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
    for (const auto& entry : value.toGenericDict()) {
        if (!entry.key().isString()) {
            problems.push_back("a key that is a " + entry.key().tagKind() + ", not a string");
        } else if (!entry.value().isTensor()) {
            problems.push_back(entry.key().toStringRef() + ": a " + entry.value().tagKind() +
                               ", not a tensor");
        } else {
            entries.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
        }
    }
#pragma GCC diagnostic pop
    if (!problems.empty()) {
        std::string message = where + "not a dict of tensors:";
        for (const std::string& p : problems) message += "\n  " + p;
        throw ConfigError(message);
    }
    return entries;
}

void load_state_dict_file(torch::nn::Module& model, const std::string& path,
                          const LoadOptions& options) {
    const auto skipped = [&](const std::string& name) {
        return options.skip_fc && has_prefix(name, "fc.");
    };
    std::map<std::string, torch::Tensor> file;
    std::vector<std::string> file_order;
    for (auto& [name, tensor] : read_tensor_dict(path, options.config_key)) {
        if (skipped(name)) continue;
        file_order.push_back(name);
        file.emplace(name, std::move(tensor));
    }

    std::vector<std::string> missing;
    std::vector<std::string> mismatched;
    std::vector<std::pair<torch::Tensor, torch::Tensor>> copies; // (model, file)
    std::set<std::string> in_model;
    for (const auto& [name, target] : state_dict(model)) {
        if (skipped(name)) continue;
        in_model.insert(name);
        const auto found = file.find(name);
        if (found == file.end()) {
            missing.push_back(name);
            continue;
        }
        const torch::Tensor& source = found->second;
        if (source.sizes() != target.sizes()) {
            mismatched.push_back(name + ": shape " + shape_text(source.sizes()) + " in file, " +
                                 shape_text(target.sizes()) + " in model");
        } else if (source.is_floating_point() != target.is_floating_point()) {
            mismatched.push_back(name + ": dtype " + std::string(source.dtype().name()) +
                                 " in file, " + std::string(target.dtype().name()) + " in model");
        } else {
            copies.emplace_back(target, source);
        }
    }
    std::vector<std::string> unexpected;
    for (const std::string& name : file_order) {
        if (in_model.count(name) == 0) unexpected.push_back(name);
    }

    const std::size_t count = missing.size() + unexpected.size() + mismatched.size();
    if (count > 0) {
        std::string message = options.config_key + ": " + path + ": " + std::to_string(count) +
                              (count == 1 ? " mismatch" : " mismatches") + " with the model:";
        for (const std::string& name : missing) message += "\n  missing in file: " + name;
        for (const std::string& name : unexpected) message += "\n  unexpected in file: " + name;
        for (const std::string& line : mismatched) message += "\n  " + line;
        throw ConfigError(message);
    }
    torch::NoGradGuard no_grad;
    for (auto& [target, source] : copies) target.copy_(source);
}

void save_state_dict_file(const torch::nn::Module& model, const std::string& path) {
    c10::Dict<std::string, torch::Tensor> dict;
    for (const auto& [name, tensor] : state_dict(model)) {
        dict.insert(name, tensor.detach().to(torch::kCPU).contiguous());
    }
    std::vector<char> bytes;
    try {
        bytes = torch::pickle_save(c10::IValue(dict));
    } catch (const std::exception& e) {
        throw IoError(path + ": cannot serialise the state_dict (" + reason(e) + ")");
    }
    io::write_file_atomic(path, std::string_view(bytes.data(), bytes.size()));
}

} // namespace sp
