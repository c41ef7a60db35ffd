#include "sp/model/device.hpp"

#include <torch/torch.h>

#include <algorithm>

namespace sp {

std::string libtorch_version() {
    return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
           std::to_string(TORCH_VERSION_PATCH);
}

void set_torch_threads(int threads) { torch::set_num_threads(std::max(1, threads)); }

DeviceInfo select_device(int local_rank, bool prefer_cpu) {
    DeviceInfo info;
    info.libtorch_version = libtorch_version();
    info.cuda_available = torch::cuda::is_available();
    info.cuda_device_count =
        info.cuda_available ? static_cast<int>(torch::cuda::device_count()) : 0;
    info.threads = torch::get_num_threads();
    if (info.cuda_available && info.cuda_device_count > 0 && !prefer_cpu) {
        // One GPU per rank: ranks on a node take GPUs round-robin by local rank.
        const int index = std::max(0, local_rank) % info.cuda_device_count;
        info.device = "cuda:" + std::to_string(index);
        // The device's model name needs the CUDA runtime API, outside the stable C++ API;
        // the name is filled in by the CUDA build (see model/ in a later issue).
        info.name = "cuda";
    } else {
        info.device = "cpu";
        info.name = "cpu";
    }
    return info;
}

} // namespace sp
