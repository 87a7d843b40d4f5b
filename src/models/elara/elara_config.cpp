// ElaraConfig validation (see the header).
#include "elarin/models/elara/elara_config.hpp"

#include "elarin/core/errors.hpp"

namespace elarin::models {

void ElaraConfig::validate() const {
  check_constraints(*this, "lm.model");
  auto bad = [](const std::string& key, int64_t got, const std::string& want) {
    throw UsageError("lm.model." + key + ": got " + std::to_string(got) + ", expected " + want);
  };
  if (head_size == 0 && n_embd % n_head != 0)
    bad("n_embd", n_embd, "a multiple of n_head (" + std::to_string(n_head) + ") or head_size set");
  if (head_size > 0 && head_size % 2 != 0)
    bad("head_size", head_size, "an even width (RoPE rotates pairs)");
  if (head_dim() % 2 != 0) bad("n_embd", n_embd, "n_embd / n_head even (RoPE rotates pairs)");
  rope_scaling.validate("lm.model.rope_scaling");
  if (n_head % kv_heads() != 0)
    bad("n_kv_head", n_kv_head, "0 or a divisor of n_head (" + std::to_string(n_head) + ")");
  if (expert_count > 0 && moe_top_k > expert_count)
    bad("moe_top_k", moe_top_k, "<= " + std::to_string(expert_count) + " (lm.model.expert_count)");
  for (int64_t d : dense_layers)
    if (d >= n_layer)
      bad("dense_layers", d, "layer indices 0 .. n_layer - 1 (" + std::to_string(n_layer - 1) + ")");
  if (use_diffusion_head && draft_len + 2 > block_size)
    bad("draft_len", draft_len,
        "<= block_size - 2 with a diffusion head (block_size " + std::to_string(block_size) + ")");
}

}  // namespace elarin::models
