// ElaraConfig validation (see the header).
#include "elarin/models/elara/elara_config.hpp"

#include "elarin/core/errors.hpp"

namespace elarin::models {

void ElaraConfig::validate() const {
  auto bad = [](const std::string& key, int64_t got, const std::string& want) {
    throw UsageError("lm.model." + key + ": got " + std::to_string(got) + ", expected " + want);
  };
  if (block_size < 1) bad("block_size", block_size, ">= 1");
  if (vocab_size < 2) bad("vocab_size", vocab_size, ">= 2");
  if (n_layer < 1) bad("n_layer", n_layer, ">= 1");
  if (n_head < 1) bad("n_head", n_head, ">= 1");
  if (n_embd < 1 || n_embd % n_head != 0)
    bad("n_embd", n_embd, "a positive multiple of n_head (" + std::to_string(n_head) + ")");
  if (head_dim() % 2 != 0) bad("n_embd", n_embd, "n_embd / n_head even (RoPE rotates pairs)");
  if (n_kv_head < 0 || n_head % kv_heads() != 0)
    bad("n_kv_head", n_kv_head, "0 or a divisor of n_head (" + std::to_string(n_head) + ")");
  if (ffn_hidden < 0) bad("ffn_hidden", ffn_hidden, ">= 0");
  if (!(dropout >= 0 && dropout < 1))
    throw UsageError("lm.model.dropout: got " + std::to_string(dropout) + ", expected 0 <= p < 1");
  if (!(rope_theta > 0))
    throw UsageError("lm.model.rope_theta: got " + std::to_string(rope_theta) + ", expected > 0");
  if (!(norm_eps > 0))
    throw UsageError("lm.model.norm_eps: got " + std::to_string(norm_eps) + ", expected > 0");
  if (num_experts < 0) bad("num_experts", num_experts, ">= 0 (0 = dense)");
  if (num_experts > 0) {
    if (moe_top_k < 1 || moe_top_k > num_experts)
      bad("moe_top_k", moe_top_k, "1 .. num_experts (" + std::to_string(num_experts) + ")");
    if (num_shared_experts < 0) bad("num_shared_experts", num_shared_experts, ">= 0");
    if (moe_every < 1) bad("moe_every", moe_every, ">= 1");
    if (expert_hidden < 0) bad("expert_hidden", expert_hidden, ">= 0");
    if (shared_expert_hidden < 0) bad("shared_expert_hidden", shared_expert_hidden, ">= 0");
  }
  for (int64_t d : dense_layers)
    if (d < 0 || d >= n_layer)
      bad("dense_layers", d, "layer indices 0 .. n_layer - 1 (" + std::to_string(n_layer - 1) + ")");
  if (recursion_depth < 1) bad("recursion_depth", recursion_depth, ">= 1");
  if (use_diffusion_head && (draft_len < 1 || draft_len + 2 > block_size))
    bad("draft_len", draft_len,
        "1 .. block_size - 2 with a diffusion head (block_size " + std::to_string(block_size) + ")");
}

}  // namespace elarin::models
