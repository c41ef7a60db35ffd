#pragma once
/// Process-wide allocator settings for training.
///
///     sp::tune_allocator();   // once, early in main

namespace sp {

/// Keeps freed memory in glibc's heap instead of returning it to the kernel: LibTorch frees and
/// re-allocates the same large activation and gradient buffers every step, and with glibc's
/// defaults each of those is a fresh mmap whose pages fault in again (measured on a 2-core VM:
/// ResNet18 train steps 3x faster; bench/README.md). Raises the mmap threshold, the trim
/// threshold and the top pad. Returns false if glibc rejected a setting (no harm done).
/// Environment variables MALLOC_*_ set by the user take precedence.
bool tune_allocator();

} // namespace sp
