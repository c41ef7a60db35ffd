// sp_scaler_compare DIR [--device cuda|cpu] [--steps N] [--growth-interval N]
//
// Trains a linear classifier for N steps with sp::GradScaler (fp16 autocast on CUDA, fp32 on the
// CPU) and writes, into DIR, everything PyTorch needs to replay the same steps with
// torch.amp.GradScaler (tests/gpu/scaler_compare.py): the initial weights, the inputs and labels
// of every step (some scaled so that the scaled gradients overflow), sp's trace (scale before
// and after each step, whether it stepped) and the final weights. Raw little-endian files:
//   init_weight.f32 [4,16], init_bias.f32 [4], x.f32 [N,32,16], y.i64 [N,32],
//   final_weight.f32, final_bias.f32, trace.tsv, meta.txt
#include "sp/train/grad_scaler.hpp"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

namespace {

void write_raw(const std::string& path, const torch::Tensor& t) {
    const torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    std::ofstream out(path, std::ios::binary);
    out.write(
        static_cast<const char*>(c.data_ptr()),
        static_cast<std::streamsize>(c.numel() * static_cast<std::int64_t>(c.element_size())));
    if (!out) throw std::runtime_error("cannot write " + path);
}

void autocast(bool on) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_dtype(at::kCUDA, at::kHalf);
    at::autocast::set_autocast_enabled(at::kCUDA, on);
#else
    at::autocast::set_autocast_gpu_dtype(at::kHalf);
    at::autocast::set_enabled(on);
#endif
    if (!on) at::autocast::clear_cache();
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: sp_scaler_compare DIR [--device cuda|cpu] [--steps N] "
                     "[--growth-interval N]\n";
        return 2;
    }
    const std::string dir = argv[1];
    std::string device_name = "cuda";
    std::int64_t steps = 60;
    std::int64_t growth_interval = 5;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        if (key == "--device")
            device_name = argv[i + 1];
        else if (key == "--steps")
            steps = std::atoll(argv[i + 1]);
        else if (key == "--growth-interval")
            growth_interval = std::atoll(argv[i + 1]);
        else {
            std::cerr << "sp_scaler_compare: unknown option " << key << "\n";
            return 2;
        }
    }
    const bool cuda = device_name == "cuda";
    if (cuda && !torch::cuda::is_available()) {
        std::cerr << "sp_scaler_compare: --device cuda, but LibTorch sees no CUDA device\n";
        return 3;
    }
    const torch::Device device(cuda ? torch::kCUDA : torch::kCPU);
    at::globalContext().setDeterministicAlgorithms(true, false);

    // Inputs from a fixed CPU seed. Every 7th step (from the 4th) is scaled up so that the scaled
    // fp16 gradients overflow (on the CPU, in fp32, by a larger factor): a skipped step.
    torch::manual_seed(20240611);
    const std::int64_t batch = 32, in = 16, classes = 4;
    torch::Tensor w0 = torch::randn({classes, in}) * 0.25;
    torch::Tensor b0 = torch::zeros({classes});
    torch::Tensor x = torch::randn({steps, batch, in});
    const torch::Tensor y = torch::randint(classes, {steps, batch}, torch::kInt64);
    const double blow_up = cuda ? 3000.0 : 1e36;
    for (std::int64_t s = 3; s < steps; s += 7) x[s].mul_(blow_up);
    write_raw(dir + "/init_weight.f32", w0);
    write_raw(dir + "/init_bias.f32", b0);
    write_raw(dir + "/x.f32", x);
    write_raw(dir + "/y.i64", y);

    torch::nn::Linear model(torch::nn::LinearOptions(in, classes));
    {
        torch::NoGradGuard g;
        model->weight.copy_(w0);
        model->bias.copy_(b0);
    }
    model->to(device);
    const std::vector<torch::Tensor> params = model->parameters();
    torch::optim::SGD opt(params, torch::optim::SGDOptions(0.05));
    sp::GradScalerOptions so;
    so.growth_interval = growth_interval;
    sp::GradScaler scaler(so);

    std::ofstream trace(dir + "/trace.tsv");
    trace.precision(17);
    trace << "step\tscale_before\tstepped\tscale_after\n";
    std::int64_t skipped = 0;
    for (std::int64_t s = 0; s < steps; ++s) {
        opt.zero_grad();
        const torch::Tensor xs = x[s].to(device);
        const torch::Tensor ys = y[s].to(device);
        if (cuda) autocast(true);
        const torch::Tensor logits = model->forward(xs);
        if (cuda) autocast(false);
        const torch::Tensor loss =
            torch::nn::functional::cross_entropy(logits.to(torch::kFloat32), ys);
        const double before = scaler.scale();
        scaler.scale_loss(loss).backward();
        const bool stepped = scaler.step(opt, params);
        skipped += stepped ? 0 : 1;
        trace << s << '\t' << before << '\t' << (stepped ? 1 : 0) << '\t' << scaler.scale() << '\n';
    }
    write_raw(dir + "/final_weight.f32", model->weight);
    write_raw(dir + "/final_bias.f32", model->bias);
    std::ofstream meta(dir + "/meta.txt");
    meta << "device " << device_name << "\nsteps " << steps << "\nbatch " << batch << "\nin " << in
         << "\nclasses " << classes << "\ngrowth_interval " << growth_interval << "\nlr 0.05\n"
         << "init_scale " << so.init_scale << "\nskipped " << skipped << "\n";
    std::cout << "sp_scaler_compare: " << steps << " steps on " << device_name << ", " << skipped
              << " skipped, final scale " << scaler.scale() << "\n";
    return 0;
}
