#include "sp/model/device.hpp"

#include "sp/util/error.hpp"

#include <ATen/Version.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/torch.h>

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

extern char** environ; // POSIX: the process environment

namespace sp {
namespace {

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    const auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (!starts_with(line, "model name")) continue;
        const auto colon = line.find(':');
        if (colon != std::string::npos) return trim(line.substr(colon + 1));
    }
    return "unknown";
}

/// The value after `key` in at::show_config()'s text, up to the end of its line or a comma.
std::string config_value(const std::string& config, const std::string& key) {
    const auto at = config.find(key);
    if (at == std::string::npos) return "";
    const auto begin = at + key.size();
    const auto end = config.find_first_of(",\n", begin);
    return trim(config.substr(begin, end == std::string::npos ? end : end - begin));
}

/// The kernel module's version from /proc/driver/nvidia/version ("NVRM version: NVIDIA UNIX
/// x86_64 Kernel Module  535.104.05  Sat Aug ..."): its first token of digits and dots.
std::string nvidia_driver() {
    std::ifstream in("/proc/driver/nvidia/version");
    std::string line;
    if (!std::getline(in, line)) return "";
    std::istringstream words(line);
    std::string w;
    while (words >> w) {
        const bool numeric = std::all_of(w.begin(), w.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '.';
        });
        if (numeric && w.find('.') != std::string::npos) return w;
    }
    return "unknown";
}

/// The CUDA device's name through the driver API (libcuda, dlopen'ed: a CPU LibTorch has no CUDA
/// headers, and the name is outside LibTorch's stable C++ API). Device ordinals follow the same
/// CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER as LibTorch's.
std::string cuda_device_name(int index) {
    void* lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (lib == nullptr) return "unknown";
    using Init = int (*)(unsigned);
    using Get = int (*)(int*, int);
    using Name = int (*)(char*, int, int);
    // dlsym returns object pointers; POSIX guarantees they convert to function pointers.
    const auto init = reinterpret_cast<Init>(dlsym(lib, "cuInit"));
    const auto get = reinterpret_cast<Get>(dlsym(lib, "cuDeviceGet"));
    const auto name = reinterpret_cast<Name>(dlsym(lib, "cuDeviceGetName"));
    std::string result = "unknown";
    int device = 0;
    char buf[256] = {};
    if (init != nullptr && get != nullptr && name != nullptr && init(0) == 0 &&
        get(&device, index) == 0 && name(buf, sizeof buf - 1, device) == 0) {
        result = buf;
    }
    dlclose(lib);
    return result;
}

std::string cuda_runtime_version() {
    try {
        const auto& hooks = at::detail::getCUDAHooks();
        if (!hooks.hasCUDART()) return "";
        const long v = hooks.versionCUDART(); // CUDART_VERSION: 1000 * major + 10 * minor
        return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
    } catch (const std::exception&) {
        return "";
    }
}

std::string cudnn_version() {
    try {
        const auto& hooks = at::detail::getCUDAHooks();
        if (!hooks.hasCuDNN()) return "";
        // CUDNN_VERSION: 1000 * major + 100 * minor + patch up to 8.x, 10000 * major from 9.0.
        const long v = hooks.versionCuDNN();
        const long major = v >= 90000 ? v / 10000 : v / 1000;
        const long minor = v >= 90000 ? v % 10000 / 100 : v % 1000 / 100;
        return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(v % 100);
    } catch (const std::exception&) {
        return "";
    }
}

} // namespace

std::string libtorch_version() {
    return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
           std::to_string(TORCH_VERSION_PATCH);
}

void set_torch_threads(int threads) { torch::set_num_threads(std::max(1, threads)); }

int device_for_rank(int local_rank, int ranks_per_gpu, int device_count) {
    if (ranks_per_gpu < 1) {
        throw ConfigError("--ranks-per-gpu: must be at least 1, got " +
                          std::to_string(ranks_per_gpu));
    }
    if (device_count < 1) {
        throw ConfigError("device_for_rank: no CUDA device to map local rank " +
                          std::to_string(local_rank) + " to");
    }
    return std::max(0, local_rank) / ranks_per_gpu % device_count;
}

DeviceInfo select_device(int local_rank, int ranks_per_gpu, bool prefer_cpu) {
    if (ranks_per_gpu < 1) { // checked before any device query, also on a CPU-only node
        throw ConfigError("--ranks-per-gpu: must be at least 1, got " +
                          std::to_string(ranks_per_gpu));
    }
    DeviceInfo info;
    info.libtorch_version = libtorch_version();
    info.cuda_available = torch::cuda::is_available();
    info.cuda_device_count =
        info.cuda_available ? static_cast<int>(torch::cuda::device_count()) : 0;
    info.threads = torch::get_num_threads();
    if (info.cuda_available && info.cuda_device_count > 0 && !prefer_cpu) {
        // ranks_per_gpu consecutive local ranks per GPU, the GPUs round-robin beyond that.
        const int index = device_for_rank(local_rank, ranks_per_gpu, info.cuda_device_count);
        info.device = "cuda:" + std::to_string(index);
        info.name = cuda_device_name(index);
    } else {
        info.device = "cpu";
        info.name = cpu_model();
    }
    return info;
}

std::string blas_libraries() {
    // The BLAS actually in use is the one the dynamic linker mapped (Debian's libblas.so.3 is an
    // alternative: OpenBLAS, BLIS, reference...); /proc/self/maps names the resolved files.
    static const char* const kNames[] = {"libblas",      "libcblas", "libopenblas", "libmkl",
                                         "libflexiblas", "libblis",  "libatlas",    "libcublas",
                                         "libnvpl_blas", "libarmpl"};
    std::ifstream in("/proc/self/maps");
    std::string line;
    std::vector<std::string> found;
    std::set<std::string> seen;
    while (std::getline(in, line)) {
        const auto slash = line.find('/');
        if (slash == std::string::npos) continue;
        const std::string path = trim(line.substr(slash));
        const std::string base = path.substr(path.rfind('/') + 1);
        const bool blas = std::any_of(std::begin(kNames), std::end(kNames),
                                      [&](const char* n) { return starts_with(base, n); });
        if (blas && seen.insert(path).second) found.push_back(path);
    }
    std::string out;
    for (const auto& p : found) out += (out.empty() ? "" : "; ") + p;
    if (!out.empty()) return out;
    // None mapped: linked statically into LibTorch (MKL in PyTorch's own builds).
    const std::string info = config_value(at::show_config(), "BLAS_INFO=");
    return info.empty() ? "unknown" : "BLAS_INFO=" + info + " (linked into LibTorch)";
}

RuntimeFacts runtime_facts(const std::string& device) {
    RuntimeFacts f;
    f.cpu_model = cpu_model();
    if (starts_with(device, "cuda")) {
        const auto colon = device.find(':');
        f.gpu_model = cuda_device_name(
            colon == std::string::npos ? 0 : std::atoi(device.c_str() + colon + 1));
    }
    f.cuda_version = cuda_runtime_version();
    f.cudnn_version = cudnn_version();
    f.cuda_driver = f.cuda_version.empty() ? "" : nvidia_driver();
    f.blas = blas_libraries();
    const std::string capability = config_value(at::show_config(), "CPU capability usage:");
    f.cpu_capability = capability.empty() ? "unknown" : capability;
    return f;
}

std::string relevant_environment() {
    static const char* const kPrefixes[] = {"OMP_", "MKL_", "OPENBLAS_", "GOTO", "KMP_"};
    static const char* const kNames[] = {"ATEN_CPU_CAPABILITY", "CUBLAS_WORKSPACE_CONFIG",
                                         "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER",
                                         "SLURM_JOB_ID"};
    std::vector<std::string> vars;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string kv = *e;
        const std::string key = kv.substr(0, kv.find('='));
        const bool prefixed = std::any_of(std::begin(kPrefixes), std::end(kPrefixes),
                                          [&](const char* p) { return starts_with(key, p); });
        const bool named = std::any_of(std::begin(kNames), std::end(kNames),
                                       [&](const char* n) { return key == n; });
        if (prefixed || named) vars.push_back(kv);
    }
    std::sort(vars.begin(), vars.end());
    std::string out;
    for (const auto& v : vars) out += v + "\n";
    return out;
}

} // namespace sp
