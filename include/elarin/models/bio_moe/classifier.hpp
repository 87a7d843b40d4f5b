// The Bio-MoE image classifier of `elarin train moe`: input -> projection (linear or conv
// stem) -> phasor map -> spiking-attention gains -> MoE core (growth + routing) ->
// classifier. The phasor features, the attention gains and the attended channel summary
// form the gate's input ("bio-signal-driven gating"). Leaves out the training loop
// (trainer.hpp).
//
//   elarin::models::BioMoEClassifier model(model_cfg, moe_cfg);
//   auto out = model->forward(images);       // (N, 1, 28, 28) -> out.logits (N, 10)
//   auto loss = torch::cross_entropy_loss(out.logits, labels) + out.moe.aux_loss;
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <string>

#include "elarin/nn/moe/moe_core.hpp"
#include "elarin/nn/phasor_bank.hpp"
#include "elarin/nn/spiking_attention.hpp"

namespace elarin::models {

struct BioMoEModelConfig {
  std::string stem = "linear";   // linear (Linear + GELU) | conv (3x3 conv, halves the side)
  int64_t stem_stride = 1;       // conv stem: 1 = conv + 2x2 max-pool, 2 = stride-2 conv
  bool stem_norm = false;        // conv stem: BatchNorm before the GELU
  int64_t image_side = 28;       // square single-channel images
  int64_t width = 256;           // linear stem: features; conv stem: channels
  int64_t oscillators = 16;      // phasor bank size; 0 = no phasor map
  double attention_keep = 0.75;  // k-WTA keeps this share of channels; 1 = no attention gains
  double attention_floor = 0.1;  // gain of the channels that lose
  double dropout = 0.2;          // before the classifier
  int64_t classes = 10;
  template <class V>
  void visit(V& v) {
    v("stem", stem, "input projection: linear | conv");
    v("stem_stride", stem_stride, "conv stem: 1 = conv + 2x2 pool, 2 = stride-2 conv");
    v("stem_norm", stem_norm, "conv stem: BatchNorm before the activation");
    v("image_side", image_side, "square input side in pixels");
    v("width", width, "linear stem features / conv stem channels");
    v("oscillators", oscillators, "phasor bank oscillators (0 = off)");
    v("attention_keep", attention_keep, "share of channels k-WTA keeps (1 = off)");
    v("attention_floor", attention_floor, "gain of non-winning channels");
    v("dropout", dropout, "dropout before the classifier");
    v("classes", classes, "output classes");
  }
  void validate() const;
};

// Fills the core's derived widths (d_model, d_out, gate_dim, expert_channels) for `model`.
nn::MoEConfig derive_core_config(const BioMoEModelConfig& model, nn::MoEConfig core);

struct BioMoEOutput {
  torch::Tensor logits;    // (N, classes)
  torch::Tensor features;  // (N, d_model) the core's input
  torch::Tensor gate_in;   // (N, gate_dim)
  nn::MoEOutput moe;
};

class BioMoEClassifierImpl : public torch::nn::Module {
 public:
  BioMoEClassifierImpl(const BioMoEModelConfig& model, const nn::MoEConfig& core);
  // images (N, 1, side, side) in [0, 1]; t: the phasor time index.
  BioMoEOutput forward(const torch::Tensor& images, nn::GateControl control = {}, double t = 0);
  // Classifier on core outputs of any leading shape: (..., d_out) -> (..., classes).
  torch::Tensor head(const torch::Tensor& y);

  const BioMoEModelConfig& config() const { return config_; }
  int64_t channels() const { return channels_; }

  torch::nn::Linear proj{nullptr}, phasor_mod{nullptr}, classifier{nullptr};
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d stem_bn{nullptr};
  nn::PhasorBank phasor{nullptr};
  nn::SpikingAttention attention{nullptr};
  nn::MoECore core{nullptr};

 private:
  BioMoEModelConfig config_;
  int64_t channels_ = 0, length_ = 0;  // the (C, L) view of the features
};
TORCH_MODULE(BioMoEClassifier);

}  // namespace elarin::models
