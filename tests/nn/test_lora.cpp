// LoRA adapters: a fresh adapter changes nothing (bit for bit); the adapted weight is
// W0 + (alpha / r) B A, transposed for GPT-2's Conv1D; a training step moves only A and B,
// never the base weights; the state round-trips under PEFT's names and a wrong one is refused
// without changing anything.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "elarin/models/hf/clip_vision.hpp"
#include "elarin/models/hf/gpt2.hpp"
#include "elarin/nn/lora.hpp"

namespace {

using elarin::nn::LoraAdapters;
using elarin::nn::LoraOptions;

elarin::CLIPVisionConfig tiny_clip() {
  elarin::CLIPVisionConfig c;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.projection_dim = 16;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.image_size = 16;
  c.patch_size = 4;
  return c;
}

std::map<std::string, torch::Tensor> snapshot(torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value().detach().clone();
  return out;
}

TEST(Lora, FreshAdaptersChangeNothingAndTargetTheProjections) {
  torch::manual_seed(3);
  elarin::ClipVisionTower tower(tiny_clip());
  tower->eval();
  auto x = torch::randn({2, 3, 16, 16});
  torch::NoGradGuard no_grad;
  auto before = tower->forward(x).image_embeds;
  LoraAdapters lora(*tower, LoraOptions{}, 7);
  // 2 layers x (q, k, v, out, fc1, fc2); not the patch convolution or the visual projection.
  EXPECT_EQ(lora.size(), 12);
  for (const auto& name : lora.layers())
    EXPECT_EQ(name.find("visual_projection"), std::string::npos) << name;
  EXPECT_TRUE(torch::equal(tower->forward(x).image_embeds, before));
  EXPECT_EQ(lora.parameter_count(), 2 * (4 * 4 * (32 + 32) + 4 * (32 + 64) + 4 * (64 + 32)));
}

TEST(Lora, AdaptedWeightIsBasePlusScaledLowRankProduct) {
  torch::manual_seed(4);
  elarin::ClipVisionTower tower(tiny_clip());
  auto fc1 = tower->vision_model->encoder->layers->ptr<elarin::CLIPEncoderLayerImpl>(0)->mlp->fc1;
  auto base = fc1->weight.detach().clone();
  LoraOptions o;
  o.rank = 2;
  o.alpha = 6;  // scale 3
  LoraAdapters lora(*tower, o, 1);
  auto st = lora.state();
  const std::string a_key = "base_model.model.vision_model.encoder.layers.0.mlp.fc1.lora_A.weight";
  const std::string b_key = "base_model.model.vision_model.encoder.layers.0.mlp.fc1.lora_B.weight";
  ASSERT_TRUE(st.count(a_key) && st.count(b_key));
  EXPECT_EQ(st[a_key].sizes(), (std::vector<int64_t>{2, 32}));
  EXPECT_EQ(st[b_key].sizes(), (std::vector<int64_t>{64, 2}));
  EXPECT_EQ(st[b_key].abs().max().item<float>(), 0.0f) << "B starts at zero";
  st[b_key] = torch::randn({64, 2});
  lora.load_state(st);
  auto want = base + 3.0 * st[b_key].mm(st[a_key]);
  EXPECT_LT((fc1->weight - want).abs().max().item<float>(), 1e-6);
  // The registered parameter is still the base weight.
  EXPECT_TRUE(torch::equal(fc1->named_parameters()["weight"], base));
}

TEST(Lora, Conv1DIsAdaptedTransposed) {
  auto conv = std::make_shared<elarin::Conv1DImpl>(8, 12);  // weight (in 8, out 12)
  torch::nn::Sequential holder;                           // no Linear: nothing found
  LoraOptions o;
  o.rank = 3;
  o.alpha = 3;  // scale 1
  LoraAdapters lora(*holder, o, 1);
  EXPECT_EQ(lora.size(), 0);
  lora.add("c_attn", conv, &conv->weight, true);
  auto base = conv->weight.detach().clone();
  auto st = lora.state();
  EXPECT_EQ(st["base_model.model.c_attn.lora_A.weight"].sizes(), (std::vector<int64_t>{3, 8}));
  EXPECT_EQ(st["base_model.model.c_attn.lora_B.weight"].sizes(), (std::vector<int64_t>{12, 3}));
  st["base_model.model.c_attn.lora_B.weight"] = torch::randn({12, 3});
  lora.load_state(st);
  auto delta = st["base_model.model.c_attn.lora_B.weight"].mm(st["base_model.model.c_attn.lora_A.weight"]);
  auto x = torch::randn({5, 8});
  auto want = x.mm(base) + conv->bias + x.mm(delta.t());  // y = x W0 + b + x (B A)^T
  EXPECT_LT((conv->forward(x) - want).abs().max().item<float>(), 1e-5);
}

TEST(Lora, TrainingMovesOnlyTheAdapters) {
  torch::manual_seed(5);
  elarin::ClipVisionTower tower(tiny_clip());
  tower->eval();
  auto base = snapshot(*tower);
  LoraAdapters lora(*tower, LoraOptions{}, 2);
  torch::optim::AdamW opt(lora.parameters(), torch::optim::AdamWOptions(1e-2));
  auto x = torch::randn({4, 3, 16, 16});
  torch::Tensor first;
  for (int step = 0; step < 5; ++step) {
    lora.apply();
    auto loss = tower->forward(x).image_embeds.pow(2).mean();
    if (step == 0) first = loss.detach();
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  {
    torch::NoGradGuard g;
    lora.apply();
    EXPECT_LT(tower->forward(x).image_embeds.pow(2).mean().item<float>(), first.item<float>())
        << "the adapters learned";
  }
  for (const auto& p : tower->named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value(), base.at(p.key()))) << p.key() << " was written";
    EXPECT_FALSE(p.value().grad().defined()) << p.key() << " got a gradient";
  }
  EXPECT_GT(lora.state().begin()->second.abs().sum().item<float>(), 0.0f);
}

TEST(Lora, WrongStateIsRefusedAndChangesNothing) {
  torch::manual_seed(6);
  elarin::ClipVisionTower tower(tiny_clip());
  LoraAdapters lora(*tower, LoraOptions{}, 2);
  auto good = lora.state();
  auto bad = good;
  bad.begin()->second = torch::zeros({5, 5});
  EXPECT_THROW(lora.load_state(bad), elarin::FormatError);
  auto missing = good;
  missing.erase(missing.begin());
  EXPECT_THROW(lora.load_state(missing), elarin::FormatError);
  for (const auto& [k, v] : lora.state()) EXPECT_TRUE(torch::equal(v, good.at(k))) << k;
  LoraOptions zero;
  zero.rank = 0;
  EXPECT_THROW(LoraAdapters(*tower, zero, 1), elarin::UsageError);
}

}  // namespace
