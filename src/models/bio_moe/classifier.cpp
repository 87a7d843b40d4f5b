// Bio-MoE classifier: projection, phasor map, attention gains, MoE core, classifier.
#include <torch/torch.h>

#include <cmath>

#include "elarin/core/errors.hpp"
#include "elarin/models/bio_moe/classifier.hpp"

namespace elarin::models {

void BioMoEModelConfig::validate() const {
  check_constraints(*this, "moe.model");
  if (image_side % 2 != 0)
    throw UsageError("moe.model.image_side: got " + std::to_string(image_side) +
                     ", expected an even side");
}

nn::MoEConfig derive_core_config(const BioMoEModelConfig& m, nn::MoEConfig c) {
  m.validate();
  if (m.stem == "conv") {
    const int64_t side = m.image_side / 2;  // after the stem's 2x2 pool
    c.expert_type = "conv2d";
    c.expert_channels = m.width;
    c.d_model = m.width * side * side;
    c.d_out = c.expert_hidden * (side / 2) * (side / 2);
  } else {
    c.d_model = m.width;
    c.d_out = m.width;
    c.expert_channels = 1;
  }
  const int64_t C = m.width;  // channels of the (C, L) feature view
  // Gate input: attended channel summary (C) + attention gains (C) + phasor features (2 O).
  c.gate_dim = C + (m.attention_keep < 1 ? C : 0) + 2 * m.oscillators;
  return c;
}

BioMoEClassifierImpl::BioMoEClassifierImpl(const BioMoEModelConfig& model,
                                           const nn::MoEConfig& core_config)
    : config_(model) {
  auto cc = derive_core_config(model, core_config);
  const int64_t side = model.image_side;
  if (model.stem == "conv") {
    conv = register_module(
        "conv",
        torch::nn::Conv2d(
            torch::nn::Conv2dOptions(1, model.width, 3).padding(1).stride(model.stem_stride)));
    if (model.stem_norm) stem_bn = register_module("stem_bn", torch::nn::BatchNorm2d(model.width));
    channels_ = model.width;
    length_ = (side / 2) * (side / 2);
  } else {
    proj = register_module("proj", torch::nn::Linear(side * side, model.width));
    channels_ = model.width;
    length_ = 1;
  }
  if (model.oscillators > 0) {
    phasor = register_module("phasor", nn::PhasorBank(channels_, model.oscillators));
    phasor_mod = register_module("phasor_mod", torch::nn::Linear(2 * model.oscillators, channels_));
    torch::NoGradGuard no_grad;
    phasor_mod->weight.zero_();  // starts as identity modulation (gain 1)
    phasor_mod->bias.zero_();
  }
  if (model.attention_keep < 1) {
    const auto winners = std::max<int64_t>(
        1,
        static_cast<int64_t>(std::llround(model.attention_keep * static_cast<double>(channels_))));
    attention = register_module("attention",
                                nn::SpikingAttention(channels_, winners, model.attention_floor));
  }
  core = register_module("core", nn::MoECore(cc));
  classifier = register_module("classifier", torch::nn::Linear(cc.d_out, model.classes));
}

torch::Tensor BioMoEClassifierImpl::head(const torch::Tensor& y) {
  auto h = torch::gelu(y);
  if (config_.dropout > 0) h = torch::dropout(h, config_.dropout, is_training());
  return classifier(h);
}

BioMoEOutput BioMoEClassifierImpl::forward(const torch::Tensor& images, nn::GateControl control,
                                           double t) {
  const int64_t N = images.size(0);
  torch::Tensor h;  // (N, C, L)
  if (conv) {
    // A one-channel conv at full resolution is slow on CPU (~12 ms per 128 images at 16
    // channels vs ~1.5 ms with stride 2, BENCHMARKS.md), so stride 2 is the fast option.
    h = conv(images);                                           // (N, C, side, side) or stride 2
    if (config_.stem_stride == 1) h = torch::max_pool2d(h, 2);  // (N, C, side/2, side/2)
    if (stem_bn) h = stem_bn(h);
    h = torch::gelu(h).flatten(2);  // (N, C, side/2 * side/2)
  } else {
    h = torch::gelu(proj(images.reshape({N, -1}))).unsqueeze(2);  // (N, C, 1)
  }
  auto summary = h.mean(2);  // (N, C)
  std::vector<torch::Tensor> gate_parts;
  if (phasor) {
    auto f = phasor(summary, t);                // (N, 2 O)
    auto mod = 1 + torch::tanh(phasor_mod(f));  // (N, C) resonance gain
    h = h * mod.unsqueeze(2);
    summary = summary * mod;
    gate_parts.push_back(f);
  }
  if (attention) {
    auto g = attention->gains(summary);  // (N, C) k-WTA gains
    h = h * g.unsqueeze(2);
    summary = summary * g;
    gate_parts.push_back(g);
  }
  gate_parts.insert(gate_parts.begin(), summary);
  BioMoEOutput out;
  out.features = h.flatten(1);  // (N, C L) = (N, d_model)
  out.gate_in = torch::cat(gate_parts, 1);
  out.moe = core->forward(out.features, out.gate_in, control);
  out.logits = head(out.moe.y);
  return out;
}

}  // namespace elarin::models
