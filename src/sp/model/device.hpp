#pragma once
/// The compute device a replicate runs on, and the LibTorch facts recorded in provenance.
/// This header does not include LibTorch; only device.cpp does.
///
///     sp::DeviceInfo d = sp::select_device(local_rank);   // "cuda:1" or "cpu"
///     sp::set_torch_threads(cores_per_node / ranks_per_node);

#include <string>

namespace sp {

/// What provenance records about LibTorch and the device.
struct DeviceInfo {
    std::string device;           ///< "cpu" or "cuda:N"
    std::string name;             ///< GPU model name, or "cpu"
    std::string libtorch_version; ///< "1.13.1"
    bool cuda_available = false;
    int cuda_device_count = 0;
    int threads = 0; ///< LibTorch intra-op threads in use
};

/// Picks `cuda:(local_rank % count)` when CUDA is available, else the CPU.
/// `prefer_cpu` forces the CPU (device = "cpu" in a config).
DeviceInfo select_device(int local_rank, bool prefer_cpu = false);

/// Sets LibTorch's intra-op thread count (>= 1) and disables inter-op oversubscription.
void set_torch_threads(int threads);

/// The LibTorch version compiled against, "MAJOR.MINOR.PATCH".
std::string libtorch_version();

} // namespace sp
