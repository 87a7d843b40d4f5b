// A sense region whose encoder is a pretrained Hugging Face model, the seed's decapitated
// models: CLIP's vision tower as the retina, Whisper's encoder as the cochlea, the first N
// blocks of GPT-2 (or any causal LM elarin loads) as Wernicke's area. The region's port value
// is turned into the model's input as `elarin encode` does (CLIP's image processor, Whisper's
// log-mel, the model's tokenizer or bytes), so a region's output equals `elarin encode`'s
// pooled output on the same input (divided by its norm with `unit`). The base weights are
// read from the model directory and never written; what the region learns lives in LoRA
// adapters (nn/lora.hpp), trained online by the development objective (two-view InfoNCE on
// the stimuli it was recently shown) and saved as `<state_dir>/<region>.lora.safetensors`.
// Internal to regions/; retina.cpp, cochlea.cpp and wernicke.cpp choose it when their
// `pretrained` setting names a directory.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "elarin/brain/region.hpp"
#include "elarin/core/config.hpp"

namespace elarin::regions {

// The settings a sense region binds besides its own: region.<kind>.pretrained, .unit, .lora_*.
struct PretrainedSettings {
  std::string pretrained;  // a Hugging Face model directory; empty = the region's own encoder
  bool unit = true;
  int64_t lora_rank = 4;
  double lora_alpha = 8.0;
  double lora_lr = 1e-3;
  int64_t lora_every = 4;
  int64_t lora_batch = 16;
  double lora_tau = 0.2;
  template <class V>
  void visit(V& v) {
    v("pretrained", pretrained,
      "Hugging Face model directory to encode with (empty: the region's own encoder); its "
      "base weights are read, never written");
    v("unit", unit, "pretrained: divide the pooled output by its norm");
    v("lora_rank", lora_rank, "pretrained: rank of the LoRA adapters (0 = the frozen base)",
      at_least(0));
    v("lora_alpha", lora_alpha, "pretrained: LoRA scale numerator (update x alpha / rank)",
      greater_than(0));
    v("lora_lr", lora_lr, "pretrained: AdamW learning rate of the online LoRA steps",
      greater_than(0));
    v("lora_every", lora_every, "pretrained: one LoRA step per this many new stimuli",
      at_least(1));
    v("lora_batch", lora_batch, "pretrained: recent stimuli per contrastive LoRA step (2 views)",
      at_least(2));
    v("lora_tau", lora_tau, "pretrained: InfoNCE temperature of the LoRA steps", greater_than(0));
  }
};

struct PretrainedSenseSpec {
  std::string region;              // "retina": the name, config prefix and file name
  brain::PortSpec input;           // the world's port: {"image", 784}, {"audio", 19200}, ...
  std::string output;              // the output port's name: "embedding", "meaning"
  std::string takes;               // the model input it needs: pixel_values, input_features, input_ids
  std::optional<int64_t> layer;    // pooled hidden state after this many blocks; none = default
  PretrainedSettings settings;
};

// Loads the model (UsageError naming region.<kind>.pretrained when it is not a model of the
// kind the region needs) and builds the region.
std::unique_ptr<brain::Region> make_pretrained_sense(const PretrainedSenseSpec& spec);

}  // namespace elarin::regions
