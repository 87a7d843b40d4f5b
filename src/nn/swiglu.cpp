// SwiGLU feed-forward (see the header). On float32 CPU tensors the gate and up projections
// run as one matmul against their stacked weights and the gating is one autograd node:
//   y = silu(a) * b = a * s * b,  s = sigmoid(a)
//   da = g * b * s * (1 + a * (1 - s)),  db = g * a * s
#include "elarin/nn/swiglu.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

namespace elarin::nn {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class SwiGLUGateFn : public torch::autograd::Function<SwiGLUGateFn> {
 public:
  // gu (N, 2H) = [a | b] -> (N, H)
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& gu_in) {
    auto gu = gu_in.contiguous();
    const int64_t N = gu.size(0), H = gu.size(1) / 2;
    auto s = torch::sigmoid(gu.narrow(1, 0, H));  // (N, H) contiguous, vectorised
    auto y = torch::empty({N, H}, gu.options());
    const float* xp = gu.data_ptr<float>();
    const float* sp = s.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    at::parallel_for(0, N, 16, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const float *a = xp + r * 2 * H, *b = a + H, *sr = sp + r * H;
        float* yr = yp + r * H;
        for (int64_t j = 0; j < H; ++j) yr[j] = a[j] * sr[j] * b[j];
      }
    });
    ctx->save_for_backward({gu, s});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &gu = saved[0], &s = saved[1];
    auto g = grads[0].contiguous();
    const int64_t N = gu.size(0), H = gu.size(1) / 2;
    auto dgu = torch::empty_like(gu);
    const float* xp = gu.data_ptr<float>();
    const float* sp = s.data_ptr<float>();
    const float* gp = g.data_ptr<float>();
    float* dp = dgu.data_ptr<float>();
    at::parallel_for(0, N, 16, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const float *a = xp + r * 2 * H, *b = a + H, *sr = sp + r * H, *gr = gp + r * H;
        float *da = dp + r * 2 * H, *db = da + H;
        for (int64_t j = 0; j < H; ++j) {
          const float sj = sr[j], gs = gr[j] * sj;
          da[j] = gs * b[j] * (1.0f + a[j] * (1.0f - sj));
          db[j] = gs * a[j];
        }
      }
    });
    return {dgu};
  }
};

}  // namespace

torch::Tensor swiglu_gate(const torch::Tensor& gu) {
  TORCH_CHECK(gu.size(-1) % 2 == 0, "swiglu_gate: last dim must be even, got ", gu.sizes());
  const int64_t H = gu.size(-1) / 2;
  if (gu.is_cpu() && gu.scalar_type() == torch::kFloat && gu.numel() > 0) {
    auto sizes = gu.sizes().vec();
    sizes.back() = H;
    return SwiGLUGateFn::apply(gu.reshape({-1, 2 * H})).view(sizes);
  }
  return torch::silu(gu.narrow(-1, 0, H)) * gu.narrow(-1, H, H);
}

SwiGLUImpl::SwiGLUImpl(int64_t dim, int64_t hidden, bool bias) {
  using torch::nn::LinearOptions;
  gate_proj =
      register_module("gate_proj", torch::nn::Linear(LinearOptions(dim, hidden).bias(bias)));
  up_proj = register_module("up_proj", torch::nn::Linear(LinearOptions(dim, hidden).bias(bias)));
  down_proj =
      register_module("down_proj", torch::nn::Linear(LinearOptions(hidden, dim).bias(bias)));
}

torch::Tensor SwiGLUImpl::forward(const torch::Tensor& x) {
  if (x.is_cpu() && x.scalar_type() == torch::kFloat) {
    auto w = torch::cat({gate_proj->weight, up_proj->weight}, 0);  // (2H, dim)
    auto b = gate_proj->bias.defined() ? torch::cat({gate_proj->bias, up_proj->bias}, 0)
                                       : torch::Tensor();
    return down_proj(swiglu_gate(torch::linear(x, w, b)));
  }
  return reference(x);
}

torch::Tensor SwiGLUImpl::reference(const torch::Tensor& x) {
  return down_proj(torch::silu(gate_proj(x)) * up_proj(x));
}

}  // namespace elarin::nn
