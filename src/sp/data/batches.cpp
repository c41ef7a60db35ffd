#include "sp/data/batches.hpp"

#include "sp/util/error.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace sp {

struct WorkTeam::State {
    std::mutex mutex;
    std::condition_variable start; // a new job, or stop
    std::condition_variable done;  // the last worker finished
    const std::function<void(int)>* job = nullptr;
    std::uint64_t generation = 0; // counts jobs, so a worker never runs one twice
    int pending = 0;              // workers still running the current job
    bool stop = false;
    std::exception_ptr error;
    std::vector<std::thread> workers;

    void record(std::exception_ptr e) {
        const std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::move(e);
    }

    void stop_all() noexcept {
        {
            const std::lock_guard<std::mutex> lock(mutex);
            stop = true;
        }
        start.notify_all();
        for (std::thread& t : workers) t.join();
        workers.clear();
    }

    void work(int member) {
        std::uint64_t seen = 0;
        for (;;) {
            std::unique_lock<std::mutex> lock(mutex);
            start.wait(lock, [&] { return stop || generation != seen; });
            if (stop) return;
            seen = generation;
            const std::function<void(int)>* f = job;
            lock.unlock();
            try {
                (*f)(member);
            } catch (...) {
                record(std::current_exception());
            }
            lock.lock();
            if (--pending == 0) done.notify_one();
        }
    }
};

WorkTeam::WorkTeam(int threads) : threads_(threads), state_(std::make_unique<State>()) {
    SP_CHECK(threads >= 1, "a work team needs at least one thread");
    try {
        for (int member = 1; member < threads; ++member) {
            state_->workers.emplace_back([this, member] { state_->work(member); });
        }
    } catch (...) {
        // The destructor does not run for a throwing constructor: join what was started.
        state_->stop_all();
        throw;
    }
}

WorkTeam::~WorkTeam() { state_->stop_all(); }

void WorkTeam::run(const std::function<void(int)>& job) {
    if (threads_ == 1) {
        job(0);
        return;
    }
    State& s = *state_;
    {
        const std::lock_guard<std::mutex> lock(s.mutex);
        s.job = &job;
        s.pending = threads_ - 1;
        s.error = nullptr;
        ++s.generation;
    }
    s.start.notify_all();
    try {
        job(0);
    } catch (...) {
        s.record(std::current_exception());
    }
    std::unique_lock<std::mutex> lock(s.mutex);
    s.done.wait(lock, [&] { return s.pending == 0; });
    s.job = nullptr;
    if (s.error) std::rethrow_exception(s.error);
}

Batch make_batch(const ImageSet& images, const ImageTransform& transform,
                 const std::vector<std::int64_t>& indices,
                 std::optional<std::uint64_t> augment_seed, std::int64_t epoch, WorkTeam& team,
                 const torch::Tensor& reuse) {
    const TransformSpec& spec = transform.spec();
    const auto n = static_cast<std::int64_t>(indices.size());
    SP_CHECK(spec.in_channels == images.channels && spec.in_height == images.height &&
                 spec.in_width == images.width,
             "transform spec not shaped like the images");
    for (const std::int64_t i : indices) {
        SP_CHECK(i >= 0 && i < images.count, "image index " + std::to_string(i) + " out of range");
    }

    Batch b;
    b.epoch = epoch;
    b.indices = indices;
    const std::vector<std::int64_t> shape = {n, spec.out_channels, spec.out_height, spec.out_width};
    const auto format =
        spec.channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
    // use_count() == 1: only the caller's handle (no Batch, no copy of the handle); storage
    // use_count() == 1: no view of it either. Then nobody can observe the overwrite.
    const bool recyclable = reuse.defined() && reuse.use_count() == 1 &&
                            reuse.storage().use_count() == 1 && reuse.sizes() == shape &&
                            reuse.scalar_type() == torch::kFloat32 && reuse.is_contiguous(format) &&
                            reuse.device().is_cpu();
    b.images =
        recyclable
            ? reuse
            : torch::empty(shape,
                           torch::TensorOptions().dtype(torch::kFloat32).memory_format(format));
    b.labels = torch::empty({n}, torch::TensorOptions().dtype(torch::kInt64));
    std::int64_t* labels = b.labels.data_ptr<std::int64_t>();
    for (std::int64_t k = 0; k < n; ++k) {
        labels[k] = images.labels[static_cast<std::size_t>(indices[static_cast<std::size_t>(k)])];
    }
    if (n == 0) return b;

    // Both memory formats keep each image in one block of output_floats() floats (NCHW and
    // NHWC differ only inside the block), so image k is written at k * output_floats().
    float* out = b.images.data_ptr<float>();
    const std::int64_t floats = transform.output_floats();
    const std::int64_t members = team.threads();
    // Member m takes the m-th run of consecutive images, with its own workspace; an image's
    // values depend only on its index and draw, so the split cannot change the result.
    team.run([&](int member) {
        std::vector<float> workspace;
        const std::int64_t first = member * n / members;
        const std::int64_t last = (member + 1) * n / members;
        for (std::int64_t k = first; k < last; ++k) {
            const std::int64_t index = indices[static_cast<std::size_t>(k)];
            const AugmentDraw draw =
                augment_seed ? draw_augment(spec, sample_seed(*augment_seed, epoch, index))
                             : no_augment(spec);
            transform.apply(images.image(index), draw, out + k * floats, workspace);
        }
    });
    return b;
}

BatchLoader::BatchLoader(const ImageSet& images, std::vector<std::int64_t> subset,
                         TransformSpec spec, LoaderOptions options)
    : images_(&images), subset_(std::move(subset)), transform_(std::move(spec)), options_(options) {
    if (options_.batch_size < 1) {
        throw ConfigError("batch size " + std::to_string(options_.batch_size) + " is below 1");
    }
    if (options_.threads < 1) {
        throw ConfigError("loader threads " + std::to_string(options_.threads) + " is below 1");
    }
    const TransformSpec& s = transform_.spec();
    if (s.in_channels != images.channels || s.in_height != images.height ||
        s.in_width != images.width) {
        throw ConfigError("transform expects " + std::to_string(s.in_channels) + " x " +
                          std::to_string(s.in_height) + " x " + std::to_string(s.in_width) +
                          " images, the data has " + std::to_string(images.channels) + " x " +
                          std::to_string(images.height) + " x " + std::to_string(images.width));
    }
    if (images.labels.size() != static_cast<std::size_t>(images.count) ||
        images.pixels.size() != static_cast<std::size_t>(images.count * images.image_bytes())) {
        throw DataError("image set of " + std::to_string(images.count) + " images holds " +
                        std::to_string(images.labels.size()) + " labels and " +
                        std::to_string(images.pixels.size()) + " pixel bytes");
    }
    for (std::size_t k = 0; k < subset_.size(); ++k) {
        if (subset_[k] < 0 || subset_[k] >= images.count) {
            throw DataError("subset entry " + std::to_string(k) + ": index " +
                            std::to_string(subset_[k]) + " outside the " +
                            std::to_string(images.count) + " images");
        }
    }
    team_ = std::make_unique<WorkTeam>(options_.threads);
    start_epoch(0);
}

std::int64_t BatchLoader::batches_per_epoch() const {
    const std::int64_t n = size();
    const std::int64_t b = options_.batch_size;
    return options_.drop_last ? n / b : (n + b - 1) / b;
}

void BatchLoader::start_epoch(std::int64_t epoch, std::int64_t first_batch) {
    if (epoch < 0 || first_batch < 0 || first_batch > batches_per_epoch()) {
        throw DataError("data position (epoch " + std::to_string(epoch) + ", batch " +
                        std::to_string(first_batch) + ") outside an epoch of " +
                        std::to_string(batches_per_epoch()) + " batches");
    }
    const bool train = options_.mode == LoaderMode::train;
    order_ = epoch_order(subset_, train && options_.shuffle, options_.seed, epoch);
    epoch_ = epoch;
    next_ = first_batch;
}

std::optional<Batch> BatchLoader::next() {
    if (next_ >= batches_per_epoch()) return std::nullopt;
    Batch b = batch(next_);
    ++next_;
    return b;
}

Batch BatchLoader::batch(std::int64_t number) {
    if (number < 0 || number >= batches_per_epoch()) {
        throw DataError("batch " + std::to_string(number) + " outside an epoch of " +
                        std::to_string(batches_per_epoch()) + " batches");
    }
    const std::int64_t first = number * options_.batch_size;
    const std::int64_t last = std::min(first + options_.batch_size, size());
    const std::vector<std::int64_t> indices(order_.begin() + first, order_.begin() + last);
    const bool augment = options_.mode == LoaderMode::train && transform_.spec().augment;
    // Only full batches recycle: the short last one gets its own memory, so the full-size
    // buffer survives it. Both branches are lvalues, so `reuse` adds no reference of its own.
    const bool full = last - first == options_.batch_size;
    const torch::Tensor none;
    const torch::Tensor& reuse = full ? recycled_ : none;
    Batch b = make_batch(*images_, transform_, indices,
                         augment ? std::optional<std::uint64_t>(options_.seed) : std::nullopt,
                         epoch_, *team_, reuse);
    if (full) recycled_ = b.images;
    b.number = number;
    return b;
}

} // namespace sp
