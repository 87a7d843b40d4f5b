// Hugging Face Llama (1-3.x, SmolLM, TinyLlama), Qwen2, Qwen2-MoE, Qwen3 and Qwen3-MoE
// checkpoints as Elara models: Elara's block is a superset of them (RoPE with linear or
// llama3 scaling, RMSNorm, SwiGLU, grouped-query attention; Qwen2's q/k/v biases; Llama's and
// Qwen3's attention_bias on q/k/v/o; Qwen3's head_dim apart from hidden_size / heads and
// per-head q/k RMSNorm before RoPE; Qwen2-MoE's routed experts with a shared expert behind a
// sigmoid gate and Qwen3-MoE's without, some layers kept dense). config.json maps onto
// ElaraConfig and the weights load by name ("model.layers.N.mlp.experts.E.gate_proj.weight" ->
// "layers.N.moe.routed.E..."); a tied checkpoint needs no lm_head.weight. Leaves out the RoPE
// scaling types yarn, dynamic and longrope, partial rotary, sliding-window attention and
// sharded checkpoints (each a clear error).
//
//   auto cfg = elarin::hf_elara_config(elarin::HfConfig::load("fixtures/llama-tiny"));
//   elarin::models::ElaraModel lm = elarin::load_hf_elara("fixtures/llama-tiny");  // or qwen2moe
//   torch::Tensor ids = torch::randint(cfg.vocab_size, {1, 8});  // (B, T)
//   auto logits = lm->forward(ids).logits;                        // (B, T, vocab)
//   // Decoding: models/elara/generate.hpp; a whole program: examples/hf_llama_generate.cpp
#pragma once

#include <memory>
#include <string>

#include "elarin/models/elara/elara_model.hpp"
#include "elarin/models/hf/hf_config.hpp"

namespace elarin {

class HfModel;
struct HfArchitecture;  // loader.hpp

// model_type "llama", "qwen2", "qwen2_moe", "qwen3" or "qwen3_moe" -> ElaraConfig; UsageError
// for another model_type, FormatError naming the key and value for anything Elara cannot
// reproduce.
models::ElaraConfig hf_elara_config(const HfConfig& cfg);

// The file tensor that holds Elara parameter `name` ("" when the file has none for it: MoE
// bookkeeping buffers, and the router bias, which Hugging Face's routers do not have).
std::string hf_elara_tensor_name(const std::string& name);

// Reads <dir>/config.json and <dir>/model.safetensors into an Elara model in eval mode.
// Missing, unexpected or mis-shaped tensors are a FormatError listing them.
models::ElaraModel load_hf_elara(const std::string& dir);

// `elarin encode`'s Elara view of these checkpoints (a row of hf_architectures()): hidden and
// logits.
std::unique_ptr<HfModel> load_elara_handle(const HfArchitecture& row, const std::string& dir);

}  // namespace elarin
