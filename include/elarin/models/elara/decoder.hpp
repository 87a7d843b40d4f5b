// Inference path of the Elara LM, for decoding. The weights are copied once into the layout
// few-row matmuls want (nn::SkinnyWeight panels, q|k|v and gate|up fused), so a pass of a few
// positions streams each weight once, about the cost of one token; a KV cache grows by
// doubling up to block_size (plus one pass of masks for the decoder's own); and each block's
// attention (RoPE, cache append, causal or mask-block visibility, grouped-query heads,
// softmax) is one loop kernel (AVX-512 when the CPU has it) instead of a dozen tensor ops.
// forward() decodes one sequence in the decoder's own cache; forward_batch() decodes several
// at once for continuous batching: each keeps its own DecoderCache and position, all their
// rows go through each matmul together (one weight stream for the batch) and attention runs
// per sequence on its cache. Both compute what ElaraModel::forward computes (tests compare
// them at 1e-5). Leaves out autograd, non-float32 or non-CPU models, and mask blocks in a
// batch.
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
//   elarin::models::DecoderCache s1, s2;  // one per sequence of a batch
//   std::vector<elarin::models::DecodeRequest> batch(2);
//   batch[0].cache = &s1;  batch[0].ids = {5, 17, 3};  // a prompt ...
//   batch[1].cache = &s2;  batch[1].ids = {8};         // ... and a step, in one pass
//   auto res = dec.forward_batch(batch);  // res[0].logits (1, V) of id 3; s1.length() == 3
#pragma once

#include <torch/types.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "elarin/models/elara/elara_model.hpp"
#include "elarin/nn/rotary.hpp"
#include "elarin/nn/skinny_matmul.hpp"

namespace elarin::models {

// One sequence's KV cache (continuous batching: every sequence of a batch keeps its own).
// Grows by doubling on demand, like the decoder's own cache; truncate() and clear() only move
// the length, the memory stays for what comes next.
class DecoderCache {
 public:
  int64_t length() const { return length_; }
  void truncate(int64_t n) { length_ = std::min(length_, n); }
  void clear() { length_ = 0; }
  int64_t bytes() const;  // memory the cache tensors hold now

 private:
  friend class ElaraDecoder;
  torch::Tensor key_, value_;  // (apps, H_kv, D, slots) transposed and (apps, H_kv, slots, D)
  int64_t slots_ = 0, length_ = 0;
};

// One sequence's part of ElaraDecoder::forward_batch.
struct DecodeRequest {
  DecoderCache* cache = nullptr;  // the sequence's cache
  std::vector<int64_t> ids;       // fed after cache->length(); at least one
  bool all_logits = false;        // logits of every fed id (T, V); else of the last only (1, V)
  bool hidden = false;            // also the final-norm hidden states of the fed ids (T, C)
};
struct DecodeResult {
  torch::Tensor logits;  // (T, V) or (1, V)
  torch::Tensor hidden;  // (T, C) when asked, else undefined
};

class ElaraDecoder {
 public:
  // UsageError unless float32 on CPU. take_weights: free the model's own copy of each weight
  // once it is packed (the projections of its dense layers and its LM head; a tied embedding
  // too, whose rows are then read from the packed head), for a process that decodes only
  // through this decoder, as `elarin serve` does: the weights take half the memory, and at no
  // moment more than one copy plus the largest matrix. The model's forward() fails afterwards
  // (its freed weights are empty); this decoder computes the same numbers.
  explicit ElaraDecoder(ElaraModel model, bool take_weights = false);

  struct Output {
    torch::Tensor logits;        // (T, V) the AR head at the tokens
    torch::Tensor draft_logits;  // (blocks.count(), V) the diffusion head at the masks
  };
  // Feeds `ids` after length() cached positions, then the mask blocks (as in
  // ElaraModel::forward). Everything fed is cached; truncate() drops what is not wanted.
  Output forward(const std::vector<int64_t>& ids, const MaskBlocks* blocks = nullptr);

  // One forward for several sequences: each request's ids are appended to its own cache
  // (distinct caches). Plain causal attention (no mask blocks). Same numbers as forward() on
  // each sequence alone (within float rounding). c10::Error, with every cache unchanged, for a
  // bad id, a position past block_size, a missing or repeated cache. Results follow `batch`.
  std::vector<DecodeResult> forward_batch(const std::vector<DecodeRequest>& batch);
  int64_t context() const { return c_.block_size; }  // the most positions a sequence may hold

  ElaraModel& model() { return model_; }
  // The decoder's own cache, which forward() uses.
  int64_t length() const { return cache_.length(); }
  void truncate(int64_t n) { cache_.truncate(n); }
  void clear() { cache_.clear(); }

 private:
  struct Layer {
    nn::SkinnyWeight qkv;                         // C -> (H + 2 H_kv) D
    nn::SkinnyWeight o;                           // C -> C
    nn::SkinnyWeight gate_up, down;               // dense layers
    torch::Tensor qkv_b, o_b, gate_up_b, down_b;  // biases or undefined
  };
  // One sequence's inputs in a pass: rows row .. row + vis.pos.size() - 1 of the pass, fed
  // after cache->length() cached ones (vis says where they sit and what they see).
  struct Span {
    DecoderCache* cache;
    int64_t row;
    MaskVisibility vis;
  };
  // x (n, C) the embedded inputs of all spans -> (n, C) their final-norm hidden states. Each
  // layer's matmuls run once over all rows, attention per span on its own cache; the caches
  // then hold their spans' inputs. The caller checked the spans and reserved their slots.
  torch::Tensor run(torch::Tensor x, const std::vector<Span>& spans);
  // One block application's attention for one span: its n inputs' qkv (n, (H + 2 H_kv) D)
  // and RoPE rows cos, sin (n, D), appended to `cache` after its length; into out (n, H D).
  void attend(DecoderCache& cache, size_t app, const torch::Tensor& qkv, const MaskVisibility& vis,
              const torch::Tensor& cos, const torch::Tensor& sin, const torch::Tensor& out) const;

  // Grows `cache` to at least `needed` slots (at most max_slots_), keeping what it holds.
  void reserve(DecoderCache& cache, int64_t needed) const;

  ElaraModel model_;
  ElaraConfig c_;
  std::vector<Layer> layers_;
  nn::SkinnyWeight head_;        // C -> V the LM head
  bool embed_from_head_ = false;  // token rows from head_ (a tied embedding, released)
  // The embedding rows of ids (n, C).
  torch::Tensor embed(const std::vector<int64_t>& ids) const;
  nn::SkinnyWeight draft_head_;  // C -> V draft projection then LM head, one matrix
  int64_t max_slots_ = 0;        // block_size + one pass of masks
  nn::Rotary rope_;              // its (L, D) tables grow to the positions asked
  DecoderCache cache_;           // forward()'s
};

}  // namespace elarin::models
