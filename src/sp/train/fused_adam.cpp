#include "sp/train/fused_adam.hpp"

#include <cmath>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SP_FUSED_ADAM_AVX2 1
#endif

namespace sp {

namespace {

/// The step's constants, rounded to float where LibTorch's float kernels round them.
struct Constants {
    float beta1;    ///< exp_avg.mul_(beta1)
    float one_m_b1; ///< .add_(grad, 1 - beta1)
    float beta2;    ///< exp_avg_sq.mul_(beta2)
    float one_m_b2; ///< .addcmul_(grad, grad, 1 - beta2)
    float sqrt_bc2; ///< exp_avg_sq.sqrt() / sqrt(bias_correction2)
    float eps;      ///< .add_(eps)
    float neg_step; ///< p.addcdiv_(exp_avg, denom, -lr / bias_correction1)
};

/// Elements [b, e): the scalar form of the update. std::fma rounds once, as the kernels' fused
/// multiply-adds do; nothing else may be contracted.
void update_scalar(float* p, const float* g, float* m, float* v, std::int64_t b, std::int64_t e,
                   const Constants& k) {
    for (std::int64_t i = b; i < e; ++i) {
        const float gi = g[i];
        const float mi = std::fma(gi, k.one_m_b1, m[i] * k.beta1);
        const float vi = std::fma(k.one_m_b2 * gi, gi, v[i] * k.beta2);
        m[i] = mi;
        v[i] = vi;
        const float denom = std::sqrt(vi) / k.sqrt_bc2 + k.eps;
        p[i] = p[i] + (k.neg_step * mi) / denom;
    }
}

#ifdef SP_FUSED_ADAM_AVX2
/// The same update, 8 lanes at a time: every lane operation is the IEEE operation of the scalar
/// form (multiply, fused multiply-add, square root, divide, add), so the bits are the same.
__attribute__((target("avx2,fma"))) void update_avx2(float* p, const float* g, float* m, float* v,
                                                     std::int64_t b, std::int64_t e,
                                                     const Constants& k) {
    const __m256 beta1 = _mm256_set1_ps(k.beta1);
    const __m256 one_m_b1 = _mm256_set1_ps(k.one_m_b1);
    const __m256 beta2 = _mm256_set1_ps(k.beta2);
    const __m256 one_m_b2 = _mm256_set1_ps(k.one_m_b2);
    const __m256 sqrt_bc2 = _mm256_set1_ps(k.sqrt_bc2);
    const __m256 eps = _mm256_set1_ps(k.eps);
    const __m256 neg_step = _mm256_set1_ps(k.neg_step);
    std::int64_t i = b;
    for (; i + 8 <= e; i += 8) {
        const __m256 gi = _mm256_loadu_ps(g + i);
        const __m256 mi =
            _mm256_fmadd_ps(gi, one_m_b1, _mm256_mul_ps(_mm256_loadu_ps(m + i), beta1));
        const __m256 vi = _mm256_fmadd_ps(_mm256_mul_ps(one_m_b2, gi), gi,
                                          _mm256_mul_ps(_mm256_loadu_ps(v + i), beta2));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), sqrt_bc2), eps);
        _mm256_storeu_ps(p + i, _mm256_add_ps(_mm256_loadu_ps(p + i),
                                              _mm256_div_ps(_mm256_mul_ps(neg_step, mi), denom)));
    }
    update_scalar(p, g, m, v, i, e, k);
}

bool have_avx2_fma() {
    static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return yes;
}
#endif

void update(float* p, const float* g, float* m, float* v, std::int64_t n, const Constants& k) {
    // Elementwise, so how the range is split (and so the thread count) cannot change a bit.
    at::parallel_for(0, n, 16384, [&](std::int64_t b, std::int64_t e) {
#ifdef SP_FUSED_ADAM_AVX2
        if (have_avx2_fma()) {
            update_avx2(p, g, m, v, b, e, k);
            return;
        }
#endif
        update_scalar(p, g, m, v, b, e, k);
    });
}

/// The key torch::optim::Optimizer files a parameter's state under: LibTorch 1.x uses the
/// TensorImpl's address printed to a string, 2.x the address itself.
template <class Map> typename Map::key_type state_key(const Map&, const torch::Tensor& p) {
    using Key = typename Map::key_type;
    if constexpr (std::is_same_v<Key, std::string>) {
        std::ostringstream os;
        os << p.unsafeGetTensorImpl();
        return os.str();
    } else {
        return static_cast<Key>(p.unsafeGetTensorImpl());
    }
}

/// A moment buffer the fused pass can update in place next to `p`.
bool fusable_state(const torch::Tensor& s, const torch::Tensor& p) {
    return s.defined() && s.device().is_cpu() && s.scalar_type() == torch::kFloat32 &&
           s.is_contiguous() && s.sizes() == p.sizes();
}

} // namespace

bool FusedAdam::fusable(const torch::Tensor& p, const torch::optim::AdamOptions& options) {
    const torch::Tensor& g = p.grad();
    return options.weight_decay() == 0 && !options.amsgrad() && p.device().is_cpu() &&
           p.scalar_type() == torch::kFloat32 && p.is_contiguous() && g.defined() &&
           !g.is_sparse() && g.device().is_cpu() && g.scalar_type() == torch::kFloat32 &&
           g.is_contiguous();
}

torch::Tensor FusedAdam::step(LossClosure closure) {
    // All or nothing: one parameter (or its saved state) the fused pass does not take, and the
    // whole step is LibTorch's. Each parameter's state is looked up once.
    struct Job {
        torch::Tensor p;
        const torch::optim::AdamOptions* options;
        typename decltype(state_)::key_type key;
        torch::optim::AdamParamState* state; ///< null: its first step
    };
    std::vector<Job> jobs;
    for (auto& group : param_groups_) {
        const auto& options = static_cast<const torch::optim::AdamOptions&>(group.options());
        for (const auto& p : group.params()) {
            if (!p.grad().defined()) continue;
            if (!fusable(p, options)) return torch::optim::Adam::step(std::move(closure));
            Job job{p, &options, state_key(state_, p), nullptr};
            if (const auto found = state_.find(job.key); found != state_.end()) {
                job.state = static_cast<torch::optim::AdamParamState*>(found->second.get());
                if (!fusable_state(job.state->exp_avg(), p) ||
                    !fusable_state(job.state->exp_avg_sq(), p)) {
                    return torch::optim::Adam::step(std::move(closure));
                }
            }
            jobs.push_back(std::move(job));
        }
    }
    torch::NoGradGuard no_grad;
    torch::Tensor loss = {};
    if (closure != nullptr) {
        at::AutoGradMode enable_grad(true);
        loss = closure();
    }
    for (Job& job : jobs) {
        if (job.state == nullptr) {
            auto fresh = std::make_unique<torch::optim::AdamParamState>();
            fresh->step(0);
            fresh->exp_avg(torch::zeros_like(job.p, torch::MemoryFormat::Preserve));
            fresh->exp_avg_sq(torch::zeros_like(job.p, torch::MemoryFormat::Preserve));
            job.state = fresh.get();
            state_[job.key] = std::move(fresh);
        }
        torch::optim::AdamParamState& state = *job.state;
        state.step(state.step() + 1);
        const double beta1 = std::get<0>(job.options->betas());
        const double beta2 = std::get<1>(job.options->betas());
        const auto t = static_cast<double>(state.step());
        const double bias_correction1 = 1 - std::pow(beta1, t);
        const double bias_correction2 = 1 - std::pow(beta2, t);
        Constants k{};
        k.beta1 = static_cast<float>(beta1);
        k.one_m_b1 = static_cast<float>(1 - beta1);
        k.beta2 = static_cast<float>(beta2);
        k.one_m_b2 = static_cast<float>(1 - beta2);
        k.sqrt_bc2 = static_cast<float>(std::sqrt(bias_correction2));
        k.eps = static_cast<float>(job.options->eps());
        k.neg_step = static_cast<float>(-(job.options->lr() / bias_correction1));
        update(job.p.data_ptr<float>(), job.p.grad().data_ptr<float>(),
               state.exp_avg().data_ptr<float>(), state.exp_avg_sq().data_ptr<float>(),
               job.p.numel(), k);
    }
    return loss;
}

} // namespace sp
