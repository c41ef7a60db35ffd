#pragma once
/// Batches of transformed images as torch tensors, in a seeded, resumable order.
///
///     sp::TransformSpec spec = sp::make_transform_spec(cfg.dataset, facts, split.train,
///                                                      /*model_channels=*/3);
///     sp::LoaderOptions opt;
///     opt.batch_size = cfg.train.batch_size;
///     opt.seed = replicate.seeds.data;
///     opt.threads = threads;
///     sp::BatchLoader loader(split.train, labelled_indices, spec, opt);
///     for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
///         loader.start_epoch(epoch);               // or start_epoch(epoch, saved.batch)
///         while (std::optional<sp::Batch> b = loader.next()) { train_step(b->images, b->labels); }
///     }
///
/// The order and every augmentation are functions of (data seed, epoch, dataset index) only
/// (see data/transforms.hpp), so batches are bit-identical across runs, thread counts and batch
/// sizes, and a run resumed at (epoch, batch) sees exactly the batches an uninterrupted run saw.

#include "sp/data/image_set.hpp"
#include "sp/data/transforms.hpp"

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace sp {

/// One batch: images, labels and where they came from.
struct Batch {
    torch::Tensor images;              ///< float32 [B, C, H, W] (channels_last strides if asked)
    torch::Tensor labels;              ///< int64 [B]
    std::vector<std::int64_t> indices; ///< the B dataset indices, in batch order
    std::int64_t epoch = 0;            ///< the epoch it belongs to
    std::int64_t number = 0;           ///< its position within the epoch, from 0
};

/// Training draws a shuffled order and augments; evaluation keeps the subset order, unaugmented.
enum class LoaderMode { train, eval };

/// How a BatchLoader batches.
struct LoaderOptions {
    std::int64_t batch_size = 128;
    bool shuffle = true;    ///< shuffle each epoch (train mode only)
    bool drop_last = false; ///< drop a last batch smaller than batch_size
    LoaderMode mode = LoaderMode::train;
    int threads = 1;        ///< images transformed in parallel: the caller + threads - 1 workers
    std::uint64_t seed = 0; ///< the replicate's data seed stream (SeedStreams::data)
};

/// A place in the data order, for checkpoints: the next batch `batch` of epoch `epoch`.
struct DataPosition {
    std::int64_t epoch = 0;
    std::int64_t batch = 0;
};

/// A fixed team of threads for the per-image work of a batch. LibTorch's at::parallel_for is
/// not used: it is an inline OpenMP region that runs serially unless the caller is compiled with
/// OpenMP, and its width is LibTorch's global thread count rather than the loader's.
class WorkTeam {
  public:
    /// Starts threads - 1 workers (the caller of run() is the last member); threads >= 1.
    explicit WorkTeam(int threads);
    /// Stops and joins the workers. Never throws.
    ~WorkTeam();
    WorkTeam(const WorkTeam&) = delete;
    WorkTeam& operator=(const WorkTeam&) = delete;

    int threads() const { return threads_; }
    /// Calls job(member) once for each member in [0, threads()), concurrently, and returns when
    /// all have returned; rethrows the first exception one of them threw. Not reentrant: one
    /// run() at a time.
    void run(const std::function<void(int)>& job);

  private:
    struct State;
    int threads_;
    std::unique_ptr<State> state_;
};

/// Transforms images[indices[k]] for k < indices.size() into one batch. With `augment_seed`
/// set, image i gets draw_augment(spec, sample_seed(*augment_seed, epoch, i)); without, no
/// augmentation. The images are split into team.threads() runs of consecutive images, one per
/// member; the values do not depend on the split. Indices must be valid (SP_CHECK); the caller
/// keeps `images` alive for the call.
Batch make_batch(const ImageSet& images, const ImageTransform& transform,
                 const std::vector<std::int64_t>& indices,
                 std::optional<std::uint64_t> augment_seed, std::int64_t epoch, WorkTeam& team,
                 const torch::Tensor& reuse = {});

/// Batches over a subset of an ImageSet, epoch by epoch. Holds a reference to `images`, which
/// must outlive the loader and not change while it is used. Not thread-safe itself (one loader
/// per consumer); it owns a WorkTeam of options.threads threads for the transforms.
class BatchLoader {
  public:
    /// `subset`: dataset indices in their natural order (the labelled pool, a training subset).
    /// Starts at epoch 0, batch 0. Throws ConfigError on a batch size or thread count below 1
    /// or a spec not shaped like `images`, DataError on an index outside images or on images
    /// whose pixels or labels do not match their count.
    BatchLoader(const ImageSet& images, std::vector<std::int64_t> subset, TransformSpec spec,
                LoaderOptions options);

    /// Images per epoch: the subset's size.
    std::int64_t size() const { return static_cast<std::int64_t>(subset_.size()); }
    /// Batches per epoch: ceil(size / batch_size), or floor with drop_last.
    std::int64_t batches_per_epoch() const;

    /// Sets the order for `epoch` (>= 0) and makes batch `first_batch` the next one, so that
    /// start_epoch(e, k) then next() yields what k calls of next() after start_epoch(e) skipped
    /// to. first_batch may equal batches_per_epoch() (nothing left). Throws DataError otherwise.
    void start_epoch(std::int64_t epoch, std::int64_t first_batch = 0);

    /// The next batch of the current epoch, or nullopt at its end.
    std::optional<Batch> next();

    /// Batch `number` (0 <= number < batches_per_epoch()) of the current epoch, leaving the
    /// position unchanged. Throws DataError outside that range. Full batches reuse the memory of
    /// the previous full batch when the caller has released it (make_batch's `reuse`).
    Batch batch(std::int64_t number);

    /// Where next() continues: store it in a checkpoint, pass it back to start_epoch().
    DataPosition position() const { return {epoch_, next_}; }
    /// The current epoch's order of dataset indices.
    const std::vector<std::int64_t>& order() const { return order_; }
    const TransformSpec& spec() const { return transform_.spec(); }
    const LoaderOptions& options() const { return options_; }

  private:
    const ImageSet* images_;
    std::vector<std::int64_t> subset_;
    ImageTransform transform_;
    std::unique_ptr<WorkTeam> team_;
    LoaderOptions options_;
    std::vector<std::int64_t> order_;
    std::int64_t epoch_ = 0;
    std::int64_t next_ = 0;
    torch::Tensor recycled_; ///< the last full batch's images, reused once released
};

} // namespace sp
