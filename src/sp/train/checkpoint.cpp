#include "sp/train/checkpoint.hpp"

#include "sp/io/atomic.hpp"
#include "sp/io/h5.hpp"
#include "sp/util/error.hpp"
#include "sp/util/version.hpp"

#include <filesystem>
#include <sstream>

namespace sp {
namespace {

constexpr std::int32_t kCheckpointVersion = 1;

std::vector<std::uint64_t> shape_of(const torch::Tensor& t) {
    std::vector<std::uint64_t> s;
    for (auto d : t.sizes()) s.push_back(static_cast<std::uint64_t>(d));
    return s;
}

std::string shape_text(const std::vector<std::uint64_t>& s) {
    std::string out = "[";
    for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

/// Writes a tensor under its own name: float tensors as float32 (parameters train in fp32 even
/// under autocast), integer ones (num_batches_tracked) as int64. HDF5 keeps the exact bits.
void write_tensor(h5::Group& g, const std::string& name, const torch::Tensor& t) {
    const torch::Tensor cpu = t.detach().to(torch::kCPU).contiguous();
    if (cpu.is_floating_point()) {
        const torch::Tensor f = cpu.to(torch::kFloat32);
        std::vector<float> v(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
        g.write(name, v, shape_of(f));
    } else {
        const torch::Tensor i = cpu.to(torch::kInt64);
        std::vector<std::int64_t> v(i.data_ptr<std::int64_t>(),
                                    i.data_ptr<std::int64_t>() + i.numel());
        g.write(name, v, shape_of(i));
    }
}

void read_tensor(const h5::Group& g, const std::string& name, torch::Tensor& target,
                 const std::string& file) {
    if (!g.exists(name))
        throw DataError(file + ": " + g.path() + "/" + name + ": missing from checkpoint");
    const auto want = shape_of(target);
    const auto have = g.shape(name);
    if (have != want) {
        throw DataError(file + ": " + g.path() + "/" + name + ": shape " + shape_text(have) +
                        " in checkpoint, " + shape_text(want) + " in model");
    }
    torch::NoGradGuard no_grad;
    if (target.is_floating_point()) {
        auto v = g.read<float>(name, want);
        target.copy_(torch::from_blob(v.data(), target.sizes(), torch::kFloat32));
    } else {
        auto v = g.read<std::int64_t>(name, want);
        target.copy_(torch::from_blob(v.data(), target.sizes(), torch::kInt64));
    }
}

std::vector<std::uint8_t> bytes_of(const torch::Tensor& t) {
    const torch::Tensor c = t.to(torch::kCPU).contiguous().to(torch::kUInt8);
    return {c.data_ptr<std::uint8_t>(), c.data_ptr<std::uint8_t>() + c.numel()};
}

torch::Tensor tensor_of(std::vector<std::uint8_t>& bytes) {
    return torch::from_blob(bytes.data(), {static_cast<std::int64_t>(bytes.size())}, torch::kUInt8)
        .clone();
}

std::string string_or(const h5::File& f, const std::string& name, const std::string& absent) {
    return f.has_attribute(name) ? f.read_attribute<std::string>(name) : absent;
}

std::int64_t int64_or(const h5::File& f, const std::string& name) {
    return f.has_attribute(name) ? f.read_attribute<std::int64_t>(name) : 0;
}

void write_origin(h5::File& f, const CheckpointOrigin& o) {
    f.write_attribute("sp_version", o.sp_version);
    f.write_attribute("git_revision", o.git_revision);
    f.write_attribute("threads", static_cast<std::int32_t>(o.threads));
    if (!o.thread_changes.empty()) f.write_attribute("thread_changes", o.thread_changes);
    if (!o.version_changes.empty()) f.write_attribute("version_changes", o.version_changes);
}

} // namespace

CheckpointOrigin this_build(int threads) {
    CheckpointOrigin o;
    o.threads = threads;
    o.sp_version = version();
    o.git_revision = git_revision();
    return o;
}

std::optional<CheckpointOrigin> read_checkpoint_origin(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return std::nullopt;
    const h5::File f = h5::File::open(path);
    if (string_or(f, "file_kind", "") != "checkpoint") {
        throw DataError(path + ": not a checkpoint (file_kind is not \"checkpoint\")");
    }
    // Checkpoints written before threads and revisions were recorded read as "unknown", which
    // never matches a run: resuming one needs the override flags, so it is never silent.
    CheckpointOrigin o;
    o.threads = f.has_attribute("threads") ? f.read_attribute<std::int32_t>("threads") : 0;
    o.sp_version = string_or(f, "sp_version", "unknown");
    o.git_revision = string_or(f, "git_revision", "unknown");
    o.thread_changes = string_or(f, "thread_changes", "");
    o.version_changes = string_or(f, "version_changes", "");
    return o;
}

void save_checkpoint(const std::string& path, const std::string& replicate_id,
                     const CheckpointOrigin& origin, torch::nn::Module& model,
                     torch::optim::Optimizer& optimizer, const TrainState& state,
                     const std::function<void(h5::File&)>& extra) {
    io::AtomicH5File out(path);
    h5::File& f = out.file();
    f.write_attribute("file_kind", "checkpoint");
    f.write_attribute("schema_version", kCheckpointVersion);
    write_origin(f, origin);
    f.write_attribute("replicate_id", replicate_id);
    f.write_attribute("epoch", state.epoch);
    f.write_attribute("step", state.step);
    f.write_attribute("loss_scale", state.loss_scale);
    f.write_attribute("scale_good_steps", state.scale_good_steps);
    f.write_attribute("skipped_steps", state.skipped_steps);
    // Where a stop signal left the epoch `epoch` (all zero at an epoch boundary).
    f.write_attribute("partial_batches", state.partial.batches);
    f.write_attribute("partial_loss_sum", state.partial.loss_sum);
    f.write_attribute("partial_correct", state.partial.correct);
    f.write_attribute("partial_seen", state.partial.seen);
    f.write_attribute("partial_seconds", state.partial.seconds);

    h5::Group params = f.create_group("/parameters");
    for (const auto& p : model.named_parameters()) write_tensor(params, p.key(), p.value());
    h5::Group buffers = f.create_group("/buffers");
    for (const auto& b : model.named_buffers()) write_tensor(buffers, b.key(), b.value());

    // The optimizer's state (moments, step counts, momentum buffers) in LibTorch's own archive
    // format: exact, and the same API in 1.13 and 2.x.
    torch::serialize::OutputArchive archive;
    optimizer.save(archive);
    std::ostringstream os;
    archive.save_to(os);
    const std::string blob = os.str();
    h5::Group opt = f.create_group("/optimizer");
    opt.write("archive", std::vector<std::uint8_t>(blob.begin(), blob.end()));

    h5::Group rng = f.create_group("/rng");
    {
        auto gen = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        rng.write("torch_cpu", bytes_of(gen.get_state()));
    }
    if (torch::cuda::is_available()) {
        for (std::size_t d = 0; d < torch::cuda::device_count(); ++d) {
            auto gen = at::globalContext().defaultGenerator(
                c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(d)));
            std::lock_guard<std::mutex> lock(gen.mutex());
            rng.write("torch_cuda_" + std::to_string(d), bytes_of(gen.get_state()));
        }
    }

    write_history(f, "/history", state.history);
    if (extra) extra(f);
    out.commit();
}

std::optional<TrainState> load_checkpoint(const std::string& path, const std::string& replicate_id,
                                          torch::nn::Module& model,
                                          torch::optim::Optimizer& optimizer,
                                          const std::function<void(const h5::File&)>& extra) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return std::nullopt;
    h5::File f = h5::File::open(path);
    if (f.read_attribute<std::string>("file_kind") != "checkpoint") {
        throw DataError(path + ": not a checkpoint (file_kind is not \"checkpoint\")");
    }
    const auto version_found = f.read_attribute<std::int32_t>("schema_version");
    if (version_found != kCheckpointVersion) {
        throw DataError(path + ": checkpoint version " + std::to_string(version_found) +
                        ", this sp reads " + std::to_string(kCheckpointVersion));
    }
    const auto id = f.read_attribute<std::string>("replicate_id");
    if (id != replicate_id) {
        throw DataError(path + ": checkpoint of replicate " + id + ", not " + replicate_id);
    }
    TrainState state;
    state.epoch = f.read_attribute<std::int64_t>("epoch");
    state.step = f.read_attribute<std::int64_t>("step");
    state.loss_scale = f.read_attribute<double>("loss_scale");
    state.scale_good_steps = f.read_attribute<std::int64_t>("scale_good_steps");
    // Checkpoints written before mid-epoch stops and skipped-step counts were recorded hold
    // neither: they were written at epoch boundaries with no step skipped that was counted.
    state.skipped_steps = int64_or(f, "skipped_steps");
    state.partial.batches = int64_or(f, "partial_batches");
    state.partial.loss_sum =
        f.has_attribute("partial_loss_sum") ? f.read_attribute<double>("partial_loss_sum") : 0.0;
    state.partial.correct = int64_or(f, "partial_correct");
    state.partial.seen = int64_or(f, "partial_seen");
    state.partial.seconds =
        f.has_attribute("partial_seconds") ? f.read_attribute<double>("partial_seconds") : 0.0;
    if (state.partial.batches < 0 || state.partial.seen < 0 || state.partial.correct < 0 ||
        state.partial.correct > state.partial.seen) {
        throw DataError(path + ": inconsistent partial epoch (batches " +
                        std::to_string(state.partial.batches) + ", correct " +
                        std::to_string(state.partial.correct) + " of " +
                        std::to_string(state.partial.seen) + " seen)");
    }

    const h5::Group params = f.open_group("/parameters");
    for (auto& p : model.named_parameters()) read_tensor(params, p.key(), p.value(), path);
    const h5::Group buffers = f.open_group("/buffers");
    for (auto& b : model.named_buffers()) read_tensor(buffers, b.key(), b.value(), path);

    const auto blob = f.read<std::uint8_t>("/optimizer/archive");
    std::istringstream is(std::string(blob.begin(), blob.end()));
    torch::serialize::InputArchive archive;
    archive.load_from(is);
    optimizer.load(archive);

    const h5::Group rng = f.open_group("/rng");
    {
        auto bytes = rng.read<std::uint8_t>("torch_cpu");
        auto gen = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(tensor_of(bytes));
    }
    if (torch::cuda::is_available()) {
        for (std::size_t d = 0; d < torch::cuda::device_count(); ++d) {
            const std::string name = "torch_cuda_" + std::to_string(d);
            if (!rng.exists(name)) continue;
            auto bytes = rng.read<std::uint8_t>(name);
            auto gen = at::globalContext().defaultGenerator(
                c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(d)));
            std::lock_guard<std::mutex> lock(gen.mutex());
            gen.set_state(tensor_of(bytes));
        }
    }

    state.history = read_history(f, "/history");
    if (extra) extra(f);
    return state;
}

} // namespace sp
