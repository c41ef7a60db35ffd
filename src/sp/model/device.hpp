#pragma once
/// The compute device a replicate runs on, and the LibTorch facts recorded in provenance.
/// This header does not include LibTorch; only device.cpp does.
///
///     sp::DeviceInfo d = sp::select_device(local_rank, ranks_per_gpu);   // "cuda:1" or "cpu"
///     sp::set_torch_threads(cores_per_node / ranks_per_node);
///     sp::RuntimeFacts f = sp::runtime_facts(d.device);    // CPU/GPU model, BLAS, CUDA, ...

#include <string>

namespace sp {

/// What provenance records about LibTorch and the device.
struct DeviceInfo {
    std::string device;           ///< "cpu" or "cuda:N"
    std::string name;             ///< the device's model: GPU name, or the CPU model
    std::string libtorch_version; ///< "1.13.1"
    bool cuda_available = false;
    int cuda_device_count = 0;
    int threads = 0; ///< LibTorch intra-op threads in use
};

/// The CUDA device index of local rank `local_rank` when `ranks_per_gpu` consecutive local ranks
/// share each of `device_count` GPUs: (local_rank / ranks_per_gpu) % device_count. With 2 GPUs
/// and 4 ranks per GPU, local ranks 0-3 use device 0, 4-7 device 1, 8-11 device 0 again.
/// Throws ConfigError when ranks_per_gpu < 1 (sp_sweep --ranks-per-gpu) or device_count < 1.
/// A negative local rank (none known) counts as 0. Pure: no LibTorch, no device query.
int device_for_rank(int local_rank, int ranks_per_gpu, int device_count);

/// Picks `cuda:device_for_rank(local_rank, ranks_per_gpu, count)` when CUDA is available, else
/// the CPU. `prefer_cpu` forces the CPU (device = "cpu" in a config). Throws ConfigError when
/// ranks_per_gpu < 1.
DeviceInfo select_device(int local_rank, int ranks_per_gpu = 1, bool prefer_cpu = false);

/// Sets LibTorch's intra-op thread count (>= 1) and disables inter-op oversubscription.
void set_torch_threads(int threads);

/// The LibTorch version compiled against, "MAJOR.MINOR.PATCH".
std::string libtorch_version();

/// What explains a difference between two runs of one configuration, beyond sp's own build:
/// the hardware and the numeric libraries as found at run time (results-schema/README.md).
struct RuntimeFacts {
    std::string cpu_model;      ///< /proc/cpuinfo "model name"; "unknown" where there is none
    std::string gpu_model;      ///< name of the CUDA device in use; "" on the CPU
    std::string cuda_version;   ///< CUDA runtime LibTorch uses, "12.1"; "" without CUDA
    std::string cudnn_version;  ///< cuDNN LibTorch uses, "8.9.2"; "" without cuDNN
    std::string cuda_driver;    ///< NVIDIA kernel driver, "535.104.05"; "" without CUDA
    std::string blas;           ///< BLAS libraries mapped into this process, resolved paths
    std::string cpu_capability; ///< instruction set of ATen's CPU kernels, "AVX2"
};

/// The facts for a replicate computing on `device` ("cpu" or "cuda:N"). Never throws: what cannot
/// be found is "unknown" (or "" where the item does not apply).
RuntimeFacts runtime_facts(const std::string& device);

/// The BLAS libraries mapped into this process (resolved paths, "; "-joined), or LibTorch's
/// BLAS_INFO when none is (linked statically). Lazily loaded ones (cuBLAS) appear once used.
std::string blas_libraries();

/// The environment variables that steer the numeric libraries or the device, one "KEY=value\n"
/// per variable, sorted: OMP_*, MKL_*, OPENBLAS_*, GOTO*, KMP_*, ATEN_CPU_CAPABILITY,
/// CUBLAS_WORKSPACE_CONFIG, CUDA_VISIBLE_DEVICES, CUDA_DEVICE_ORDER, SLURM_JOB_ID. "" if none set.
std::string relevant_environment();

} // namespace sp
