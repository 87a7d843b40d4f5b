// Fused causal self-attention (see the header).
//
// Forward, per sequence b and head h (g = the key/value head h reads):
//   q, k = rope(qkv's q_h, k_g)             one pass over the rows, into `qk` (B, T, QK)
//   S = q k^T / sqrt(D), S[t, s > t] = -inf BLAS gemm per (b, h) into att (B, H, T, T)
//   P = softmax(S)                          ATen's vectorised softmax, in place
//   y_h = P v_g                             BLAS gemm per (b, h), written at y[b, :, h*D]
// Backward, per (b, g) so the heads of one group accumulate into dK_g / dV_g in order:
//   dP = dy_h v_g^T, dV_g += P^T dy_h;  dS = P * (dP - rowsum(dP * P));
//   dq_h = dS k_g / sqrt(D), dk_g += dS^T q_h / sqrt(D);  then RoPE's transpose.
#include "nn/fused_causal_attention.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace elarin::nn {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

extern "C" void sgemm_(const char* transa, const char* transb, const int* m, const int* n,
                       const int* k, const float* alpha, const float* a, const int* lda,
                       const float* b, const int* ldb, const float* beta, float* c,
                       const int* ldc);

// Row-major C (M x N) = alpha * op(A) (M x K) * op(B) (K x N) + beta * C, through the
// column-major BLAS (libblas.so.3, OpenBLAS here): C^T = op(B)^T op(A)^T. Called inside
// at::parallel_for, where OpenBLAS's OpenMP build runs single-threaded.
void gemm_rm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
             int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const char opb = tb ? 'T' : 'N', opa = ta ? 'T' : 'N';
  const int m = static_cast<int>(N), n = static_cast<int>(M), k = static_cast<int>(K);
  const int la = static_cast<int>(ldb), lb = static_cast<int>(lda), lc = static_cast<int>(ldc);
  sgemm_(&opb, &opa, &m, &n, &k, &alpha, B, &la, A, &lb, &beta, C, &lc);
}

// y = x cos + rotate_half(x) sin for one head's D values.
inline void rope_row(const float* x, float* y, const float* c, const float* s, int64_t D) {
  const int64_t h = D / 2;
  for (int64_t i = 0; i < h; ++i) {
    const float x1 = x[i], x2 = x[i + h];
    y[i] = x1 * c[i] - x2 * s[i];
    y[i + h] = x2 * c[i + h] + x1 * s[i + h];
  }
}

// The transpose of rope_row: dx from dy.
inline void rope_row_backward(const float* g, float* dx, const float* c, const float* s,
                              int64_t D) {
  const int64_t h = D / 2;
  for (int64_t i = 0; i < h; ++i) {
    const float g1 = g[i], g2 = g[i + h];
    dx[i] = g1 * c[i] + g2 * s[i + h];
    dx[i + h] = g2 * c[i + h] - g1 * s[i];
  }
}

class FusedCausalAttentionFn : public torch::autograd::Function<FusedCausalAttentionFn> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& qkv_in,
                               const torch::Tensor& cos_in, const torch::Tensor& sin_in,
                               int64_t H, int64_t Hkv) {
    auto qkv = qkv_in.contiguous();
    auto cos = cos_in.contiguous(), sin = sin_in.contiguous();
    const int64_t B = qkv.size(0), T = qkv.size(1), W = qkv.size(2);
    const int64_t D = W / (H + 2 * Hkv), QK = (H + Hkv) * D, G = H / Hkv;
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    auto qk = torch::empty({B, T, QK}, qkv.options());
    auto att = torch::empty({B, H, T, T}, qkv.options());
    auto y = torch::empty({B, T, H * D}, qkv.options());
    const float* xp = qkv.data_ptr<float>();
    const float* cp = cos.data_ptr<float>();
    const float* sp = sin.data_ptr<float>();
    float* qkp = qk.data_ptr<float>();
    float* ap = att.data_ptr<float>();
    float* yp = y.data_ptr<float>();

    at::parallel_for(0, B * T, 16, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t t = r % T;
        for (int64_t j = 0; j < H + Hkv; ++j)
          rope_row(xp + r * W + j * D, qkp + r * QK + j * D, cp + t * D, sp + t * D, D);
      }
    });
    const float ninf = -std::numeric_limits<float>::infinity();
    at::parallel_for(0, B * H, 1, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t b = u / H, h = u % H, g = h / G;
        float* s = ap + u * T * T;
        gemm_rm(false, true, T, T, D, scale, qkp + b * T * QK + h * D, QK,
                qkp + b * T * QK + (H + g) * D, QK, 0.0f, s, T);
        for (int64_t t = 0; t < T; ++t)
          for (int64_t j = t + 1; j < T; ++j) s[t * T + j] = ninf;
      }
    });
    att = at::_softmax(att, -1, false);
    ap = att.data_ptr<float>();
    at::parallel_for(0, B * H, 1, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t b = u / H, h = u % H, g = h / G;
        gemm_rm(false, false, T, D, T, 1.0f, ap + u * T * T, T, xp + b * T * W + (QK + g * D), W,
                0.0f, yp + b * T * H * D + h * D, H * D);
      }
    });
    ctx->save_for_backward({qkv, qk, att, cos, sin});
    ctx->saved_data["H"] = H;
    ctx->saved_data["Hkv"] = Hkv;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &qkv = saved[0], &qk = saved[1], &att = saved[2], &cos = saved[3],
               &sin = saved[4];
    const int64_t H = ctx->saved_data["H"].toInt(), Hkv = ctx->saved_data["Hkv"].toInt();
    auto gy = grads[0].contiguous();
    const int64_t B = qkv.size(0), T = qkv.size(1), W = qkv.size(2);
    const int64_t D = W / (H + 2 * Hkv), QK = (H + Hkv) * D, G = H / Hkv, HD = H * D;
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    auto dqkv = torch::empty_like(qkv);
    auto dqk = torch::empty({B, T, QK}, qkv.options());
    auto dP = torch::empty_like(att);
    const float* xp = qkv.data_ptr<float>();
    const float* qkp = qk.data_ptr<float>();
    const float* ap = att.data_ptr<float>();
    const float* gp = gy.data_ptr<float>();
    const float* cp = cos.data_ptr<float>();
    const float* sp = sin.data_ptr<float>();
    float* dxp = dqkv.data_ptr<float>();
    float* dqkp = dqk.data_ptr<float>();
    float* dPp = dP.data_ptr<float>();

    at::parallel_for(0, B * Hkv, 1, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t b = u / Hkv, g = u % Hkv;
        const float* v = xp + b * T * W + QK + g * D;
        float* dv = dxp + b * T * W + QK + g * D;
        for (int64_t r = 0; r < G; ++r) {
          const int64_t h = g * G + r;
          const float* gyh = gp + b * T * HD + h * D;
          gemm_rm(false, true, T, T, D, 1.0f, gyh, HD, v, W, 0.0f, dPp + (b * H + h) * T * T, T);
          gemm_rm(true, false, T, D, T, 1.0f, ap + (b * H + h) * T * T, T, gyh, HD,
                  r == 0 ? 0.0f : 1.0f, dv, W);
        }
      }
    });
    auto dS = at::_softmax_backward_data(dP, att, -1, att.scalar_type());
    const float* dSp = dS.data_ptr<float>();
    at::parallel_for(0, B * Hkv, 1, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t b = u / Hkv, g = u % Hkv;
        const float* k = qkp + b * T * QK + (H + g) * D;
        float* dk = dqkp + b * T * QK + (H + g) * D;
        for (int64_t r = 0; r < G; ++r) {
          const int64_t h = g * G + r;
          const float* ds = dSp + (b * H + h) * T * T;
          gemm_rm(false, false, T, D, T, scale, ds, T, k, QK, 0.0f, dqkp + b * T * QK + h * D, QK);
          gemm_rm(true, false, T, D, T, scale, ds, T, qkp + b * T * QK + h * D, QK,
                  r == 0 ? 0.0f : 1.0f, dk, QK);
        }
      }
    });
    at::parallel_for(0, B * T, 16, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t t = r % T;
        for (int64_t j = 0; j < H + Hkv; ++j)
          rope_row_backward(dqkp + r * QK + j * D, dxp + r * W + j * D, cp + t * D, sp + t * D,
                            D);
      }
    });
    return {dqkv, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool fused_attention_supported(const torch::Tensor& x) {
  return x.is_cpu() && x.scalar_type() == torch::kFloat;
}

torch::Tensor fused_causal_attention(const torch::Tensor& qkv, const torch::Tensor& cos,
                                     const torch::Tensor& sin, int64_t n_head, int64_t n_kv_head) {
  TORCH_CHECK(qkv.dim() == 3, "fused_causal_attention: expected qkv (B, T, W), got ",
              qkv.sizes());
  TORCH_CHECK(fused_attention_supported(qkv) && cos.scalar_type() == torch::kFloat &&
                  sin.scalar_type() == torch::kFloat,
              "fused_causal_attention: needs float32 CPU tensors");
  TORCH_CHECK(n_head > 0 && n_kv_head > 0 && n_head % n_kv_head == 0,
              "fused_causal_attention: n_kv_head ", n_kv_head, " must divide n_head ", n_head);
  const int64_t heads = n_head + 2 * n_kv_head;
  TORCH_CHECK(qkv.size(2) % heads == 0 && (qkv.size(2) / heads) % 2 == 0,
              "fused_causal_attention: width ", qkv.size(2), " is not ", heads,
              " heads of an even size");
  const int64_t D = qkv.size(2) / heads;
  TORCH_CHECK(cos.dim() == 2 && cos.size(0) == qkv.size(1) && cos.size(1) == D &&
                  sin.sizes() == cos.sizes(),
              "fused_causal_attention: cos/sin must be (T, D) = (", qkv.size(1), ", ", D,
              "), got ", cos.sizes(), " and ", sin.sizes());
  return FusedCausalAttentionFn::apply(qkv, cos, sin, n_head, n_kv_head);
}

}  // namespace elarin::nn
