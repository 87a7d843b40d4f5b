// Low-rank adapters (LoRA, Hu et al. 2021) on a pretrained module's linear projections: each
// adapted weight becomes W0 + (alpha / r) B A, with A (r, in) random and B (out, r) zero, so a
// fresh adapter changes nothing. Only A and B learn; the base weights W0 stay the module's own
// registered parameters, frozen and never written (the adapted weight is a separate tensor
// that the layer's forward reads). Saved with PEFT's tensor names
// (`base_model.model.<layer>.lora_A.weight`). Leaves out dropout on the adapter's input,
// merging into the base and rank per layer.
//
//   auto tower = elarin::load_clip_vision_tower("fixtures/clip-vision-tiny");
//   elarin::nn::LoraAdapters lora(*tower, {/*rank=*/4, /*alpha=*/8}, /*seed=*/1);
//   torch::optim::AdamW opt(lora.parameters(), torch::optim::AdamWOptions(1e-3));
//   auto x = torch::randn({2, 3, 32, 32});
//   lora.apply();                      // grad mode: the weights carry A and B's graph
//   auto loss = tower->forward(x).image_embeds.pow(2).mean();
//   loss.backward(); opt.step();
//   { torch::NoGradGuard g; lora.apply(); }  // plain adapted weights for inference
//   elarin::save_safetensors("retina.lora.safetensors", lora.state());
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace elarin::nn {

struct LoraOptions {
  int64_t rank = 4;    // r: at least 1
  double alpha = 8.0;  // the update is scaled by alpha / r
  // Regexes: a layer is adapted when the last part of its dotted name fully matches one.
  // Default: the attention and MLP projections of CLIP, Whisper, GPT-2 and Llama-style models.
  std::vector<std::string> targets = {
      "q_proj", "k_proj", "v_proj", "out_proj", "o_proj", "fc1",    "fc2",
      "c_attn", "c_proj", "c_fc",   "gate_proj", "up_proj", "down_proj"};
};

class LoraAdapters {
 public:
  // Adapts every torch::nn::Linear of `module` whose name matches a target and freezes all of
  // the module's parameters. No Linear matching: nothing adapted (add() may add others).
  LoraAdapters(torch::nn::Module& module, const LoraOptions& options, uint64_t seed);

  // Adapts another layer's weight: `weight` is the member its forward reads, `owner` keeps
  // it alive, `transposed` when it is stored (in, out) as GPT-2's Conv1D. Frozen like the rest.
  void add(const std::string& name, std::shared_ptr<torch::nn::Module> owner, torch::Tensor* weight,
           bool transposed);

  // A: Kaiming-uniform (as nn.Linear's default, a = sqrt(5)); B: zeros. Then apply().
  void reset(uint64_t seed);
  // Writes W0 + scale B A into every adapted layer's weight. In grad mode the new weights carry
  // A's and B's graph (call before each training forward); call again under NoGradGuard after
  // the optimiser's step so inference reads plain tensors.
  void apply();

  std::vector<torch::Tensor> parameters() const;  // every A and B (they require grad)
  std::vector<std::string> layers() const;        // adapted layer names, in order
  int64_t size() const { return static_cast<int64_t>(adapters_.size()); }
  int64_t parameter_count() const;
  const LoraOptions& options() const { return options_; }

  // PEFT's names: "base_model.model.<layer>.lora_A.weight" (r, in) and ".lora_B.weight" (out, r).
  std::map<std::string, torch::Tensor> state() const;  // detached copies
  // Validates every tensor (present, float32, shape) before copying any; FormatError naming
  // the first bad one. Then apply().
  void load_state(const std::map<std::string, torch::Tensor>& state);

 private:
  struct Adapter {
    std::string name;
    std::shared_ptr<torch::nn::Module> owner;
    torch::Tensor* weight;  // the member the layer's forward reads
    torch::Tensor base;     // W0: the registered parameter, frozen
    torch::Tensor a, b;     // (r, in), (out, r)
    bool transposed;
  };
  LoraOptions options_;
  std::vector<Adapter> adapters_;
};

}  // namespace elarin::nn
