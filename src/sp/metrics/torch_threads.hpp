#pragma once
/// Private to src/sp/metrics: LibTorch's intra-op thread count set for a scope and restored
/// after (the metrics take a `threads` option; 0 keeps the caller's setting), and a scope in
/// which LibTorch ops and BLAS/LAPACK calls run on one thread.

#include <ATen/Parallel.h>

namespace sp::detail {

class TorchThreads {
  public:
    explicit TorchThreads(int threads) : previous_(at::get_num_threads()) {
        if (threads > 0 && threads != previous_) {
            at::set_num_threads(threads);
            changed_ = true;
        }
    }
    ~TorchThreads() {
        if (changed_) at::set_num_threads(previous_);
    }
    TorchThreads(const TorchThreads&) = delete;
    TorchThreads& operator=(const TorchThreads&) = delete;

  private:
    int previous_;
    bool changed_ = false;
};

/// Makes LibTorch ops and BLAS/LAPACK calls in its scope single-threaded, so that their results
/// do not depend on the thread count. OpenBLAS (openmp build, Debian's) splits a GEMM's output
/// tiles by thread count, and its float kernels round a tile's sums differently at different
/// tile positions; ATen's reductions split their sums by thread count. at::set_num_threads(1)
/// sets OpenMP's count, which both follow; inside an OpenMP parallel region (an at::parallel_for
/// worker) they already run on one thread, so the count is left alone there. The same call on
/// the same shapes on one thread gives the same bits.
class SerialBlas {
  public:
    SerialBlas() : guard_(at::in_parallel_region() ? 0 : 1) {}

  private:
    TorchThreads guard_;
};

} // namespace sp::detail
