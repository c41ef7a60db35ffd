#pragma once
/// Private to src/sp/metrics: LibTorch's intra-op thread count set for a scope and restored
/// after (the metrics take a `threads` option; 0 keeps the caller's setting).

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

} // namespace sp::detail
