// The Bio-MoE image classifier of `elarin train moe`: input -> projection (linear or conv
// stem) -> phasor map -> spiking-attention gains -> MoE core (growth + routing) ->
// classifier. The phasor features, the attention gains and the attended channel summary
// form the gate's input ("bio-signal-driven gating"). Leaves out the training loop
// (trainer.hpp).
//
//   elarin::models::BioMoEModelConfig model_cfg;  // linear stem, 28x28 images, 10 classes
//   elarin::nn::MoEConfig moe_cfg;                 // the core; its widths follow model_cfg
//   elarin::models::BioMoEClassifier model(model_cfg, moe_cfg);
//   torch::Tensor images = torch::rand({8, 1, 28, 28}), labels = torch::randint(10, {8});
//   auto out = model->forward(images);  // (N, 1, 28, 28) -> out.logits (N, 10)
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
  std::string stem = "linear";
  int64_t stem_stride = 1;
  bool stem_norm = false;
  int64_t image_side = 28;
  int64_t width = 256;
  int64_t oscillators = 16;
  double attention_keep = 0.75;
  double attention_floor = 0.1;
  double dropout = 0.2;
  int64_t classes = 10;
  template <class V>
  void visit(V& v) {
    v("stem", stem, "input projection: linear (Linear + GELU) | conv (3x3 conv, halves the side)",
      one_of({"linear", "conv"}));
    v("stem_stride", stem_stride, "conv stem: 1 = conv + 2x2 max-pool, 2 = stride-2 conv",
      in_range(1, 2));
    v("stem_norm", stem_norm, "conv stem: BatchNorm before the GELU");
    v("image_side", image_side, "side of the square single-channel images (even)", at_least(2));
    v("width", width, "linear stem: features; conv stem: channels", at_least(1));
    v("oscillators", oscillators, "phasor bank oscillators; 0 = no phasor map", at_least(0));
    v("attention_keep", attention_keep, "share of channels k-WTA keeps; 1 = no attention gains",
      in_range(0, 1).open_low());
    v("attention_floor", attention_floor, "gain of the channels that lose");
    v("dropout", dropout, "dropout before the classifier", in_range(0, 1).open_high());
    v("classes", classes, "output classes", at_least(2));
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
