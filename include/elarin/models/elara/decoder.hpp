// Batch-1 inference path of the Elara LM, for decoding. The weights are copied once into the
// layout few-row matmuls want (nn::SkinnyWeight panels, q|k|v and gate|up fused), so a pass
// of a few positions streams each weight once, about the cost of one token; the KV cache
// grows by doubling up to block_size plus one pass of masks; and each block's attention (RoPE,
// cache append, causal or mask-block visibility, grouped-query heads, softmax) is one loop
// kernel (AVX-512 when the CPU has it) instead of a dozen tensor ops. It computes what
// ElaraModel::forward computes (tests compare them at 1e-5). Leaves out batches > 1, autograd
// and non-float32 or non-CPU models.
//
//   elarin::models::ElaraConfig cfg;  // defaults: a tiny char model
//   cfg.use_diffusion_head = true;    // for the mask blocks below
//   elarin::models::ElaraModel lm(cfg);
//   elarin::models::ElaraDecoder dec(lm);  // copies the weights: rebuild after training
//   auto out = dec.forward({5, 17, 3});    // out.logits (3, V); 3 positions cached
//   elarin::models::MaskBlocks b;
//   b.len = 3;  b.prefix = {1, 2};
//   auto pass = dec.forward({9, 4}, &b);  // + pass.draft_logits (6, V)
//   dec.truncate(4);                      // keep 4 cached positions
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "elarin/models/elara/elara_model.hpp"
#include "elarin/nn/rotary.hpp"
#include "elarin/nn/skinny_matmul.hpp"

namespace elarin::models {

class ElaraDecoder {
 public:
  explicit ElaraDecoder(ElaraModel model);  // UsageError unless float32 on CPU

  struct Output {
    torch::Tensor logits;        // (T, V) the AR head at the tokens
    torch::Tensor draft_logits;  // (blocks.count(), V) the diffusion head at the masks
  };
  // Feeds `ids` after length() cached positions, then the mask blocks (as in
  // ElaraModel::forward). Everything fed is cached; truncate() drops what is not wanted.
  Output forward(const std::vector<int64_t>& ids, const MaskBlocks* blocks = nullptr);

  ElaraModel& model() { return model_; }
  int64_t length() const { return length_; }
  void truncate(int64_t n) { length_ = std::min(length_, n); }
  void clear() { length_ = 0; }

 private:
  struct Layer {
    nn::SkinnyWeight qkv;  // C -> (H + 2 H_kv) D
    nn::SkinnyWeight o;    // C -> C
    nn::SkinnyWeight gate_up, down;  // dense layers
    torch::Tensor qkv_b, o_b, gate_up_b, down_b;  // biases or undefined
  };
  // One block application's attention for the n inputs in qkv (n, (H + 2 H_kv) D).
  torch::Tensor attend(size_t app, const torch::Tensor& qkv, const MaskVisibility& vis,
                       const torch::Tensor& cos, const torch::Tensor& sin);

  // Grows the cache to at least `needed` slots (at most max_slots_), keeping what it holds.
  void reserve(int64_t needed);

  ElaraModel model_;
  ElaraConfig c_;
  std::vector<Layer> layers_;
  nn::SkinnyWeight head_;            // C -> V the LM head
  nn::SkinnyWeight draft_head_;      // C -> V draft projection then LM head, one matrix
  int64_t slots_ = 0;                // cache capacity now
  int64_t max_slots_ = 0;            // block_size + one pass of masks
  torch::Tensor key_;                // (apps, H_kv, D, slots_) transposed
  torch::Tensor value_;              // (apps, H_kv, slots_, D)
  nn::Rotary rope_;                  // its (L, D) tables grow to the positions asked
  int64_t length_ = 0;
};

}  // namespace elarin::models
