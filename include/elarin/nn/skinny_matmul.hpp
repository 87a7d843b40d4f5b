// Few-row matrix products for batch-1 decoding: y (N, O) = x (N, K) @ W^T [+ b] [+ acc] with N
// small (a token, or a draft-and-verify pass of a few positions). The weight is packed once
// into panels of 16 output columns, each (K, 16) contiguous, so the kernel streams it
// sequentially (a decoder's weights come from L3 every token) and reads each weight once for
// up to 8 rows: 4 rows cost 1.03x one row on a 19.6 MB stack, against 1.08x for the same kernel
// on (K, O) rows and more for BLAS (docs/BENCHMARKS.md, issue #4). AVX-512F when the CPU has
// it; otherwise the pack holds W^T and torch::mm does the work.
//
//   torch::nn::Linear linear(256, 512);
//   auto pw = elarin::nn::SkinnyWeight::pack(linear->weight);  // (out, in), as nn::Linear holds it
//   torch::Tensor x = torch::randn({4, 256}), residual = torch::randn({4, 512});
//   auto y = elarin::nn::skinny_mm(x, pw, linear->bias, residual);  // (N, out); bias, acc optional
//   auto rows = elarin::nn::skinny_rows(pw, {3, 7});                 // (2, 256) = weight[{3, 7}]
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace elarin::nn {

struct SkinnyWeight {
  torch::Tensor data;  // (ceil(O/16), K, 16) panels, zero-padded; or (K, O) without AVX-512F
  int64_t in = 0, out = 0;
  bool panels = false;

  // w (out, in) float32 on CPU, or its transpose when `transposed` (w_t (in, out)).
  static SkinnyWeight pack(const torch::Tensor& w, bool transposed = false);
};

// x (N, in) float32 contiguous, b (out) or undefined, acc (N, out) or undefined. Returns a
// new (N, out) tensor. Splits the panels over threads when the matrix is large enough.
torch::Tensor skinny_mm(const torch::Tensor& x, const SkinnyWeight& w, const torch::Tensor& b = {},
                        const torch::Tensor& acc = {});

// The packed matrix's rows for the given outputs, (n, in): w[outputs] of the w (out, in) that
// was packed. A tied LM head serves as the embedding table this way. c10::Error for an output
// outside 0..out-1.
torch::Tensor skinny_rows(const SkinnyWeight& w, const std::vector<int64_t>& outputs);

}  // namespace elarin::nn
