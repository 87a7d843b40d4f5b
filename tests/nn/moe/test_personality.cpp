// PersonalityEngine: curiosity bias, temperature on gate collapse, distillation weight and
// merit momentum on a rising loss.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "elarin/core/errors.hpp"
#include "elarin/nn/moe/personality.hpp"
#include "test_util.hpp"

namespace {

using elarin::nn::BatchSignals;
using elarin::nn::PersonalityConfig;
using elarin::nn::PersonalityEngine;

BatchSignals batch(double loss, double entropy, std::vector<double> utilization = {}) {
  BatchSignals s;
  s.loss = loss;
  s.gate_entropy = entropy;
  s.utilization = std::move(utilization);
  return s;
}

TEST(Personality, CuriosityFavoursUnusedAndPenalisesOverUsedExperts) {
  PersonalityConfig cfg;
  cfg.curiosity = 0.4;
  PersonalityEngine persona(cfg, 4);
  auto state = persona.step(batch(1.0, 0.5, {0.7, 0.3, 0.0, 0.0}));
  ASSERT_EQ(state.bias_logits.sizes(), (std::vector<int64_t>{4}));
  EXPECT_LT(state.bias_logits[0].item<float>(), 0.0f) << "over-used expert 0 not penalised";
  EXPECT_GT(state.bias_logits[2].item<float>(), 0.0f) << "unused expert 2 not favoured";
  EXPECT_GT(state.bias_logits[3].item<float>(), 0.0f);
  // Unused experts get the full curiosity, and the bias never exceeds it.
  EXPECT_FLOAT_EQ(state.bias_logits[2].item<float>(), 0.4f);
  EXPECT_LE(state.bias_logits.abs().max().item<float>(), 0.4f + 1e-6f);
  // Less used, more bias.
  EXPECT_GT(state.bias_logits[1].item<float>(), state.bias_logits[0].item<float>());
  // No curiosity, no bias.
  cfg.curiosity = 0.0;
  PersonalityEngine calm(cfg, 4);
  EXPECT_TRUE(torch::equal(calm.step(batch(1.0, 0.5, {0.7, 0.3, 0.0, 0.0})).bias_logits,
                           torch::zeros({4})));
}

// Regression: the curiosity bias uses the available expert count (E_avail), so the expert a
// collapsed gate over-uses gets a negative bias, not 0.
TEST(Personality, CollapsedGateGetsANegativeBiasOnTheOverUsedExpert) {
  PersonalityConfig cfg;
  cfg.curiosity = 0.4;
  PersonalityEngine persona(cfg, 4);
  auto state = persona.step(batch(1.0, 0.0, {1.0, 0.0, 0.0, 0.0}));
  EXPECT_LT(state.bias_logits[0].item<float>(), 0.0f)
      << "the one expert taking every row gets bias " << state.bias_logits[0].item<float>();
  state = persona.step(batch(1.0, 0.5, {0.5, 0.5, 0.0, 0.0}));
  EXPECT_LT(state.bias_logits[0].item<float>(), 0.0f)
      << "twice the uniform share gets bias " << state.bias_logits[0].item<float>();
}

TEST(Personality, TemperatureRisesWhenEntropyFalls) {
  PersonalityConfig cfg;
  cfg.curiosity = 0.5;
  cfg.base_temperature = 2.0;
  PersonalityEngine persona(cfg, 3);
  const double collapsed = persona.step(batch(1.0, 0.05)).temperature;
  const double spread = persona.step(batch(1.0, 0.9)).temperature;
  const double uniform = persona.step(batch(1.0, 1.0)).temperature;
  EXPECT_GT(collapsed, spread);
  EXPECT_GT(spread, uniform);
  EXPECT_DOUBLE_EQ(uniform, 2.0);
  // At most (1 + curiosity) x base, even for out-of-range entropy.
  EXPECT_DOUBLE_EQ(persona.step(batch(1.0, -3.0)).temperature, 2.0 * 1.5);
}

TEST(Personality, DistillAlphaRisesWithTheLoss) {
  PersonalityConfig cfg;
  cfg.stability = 0.8;
  cfg.base_distill_alpha = 0.4;
  PersonalityEngine persona(cfg, 2);
  elarin::nn::PersonalityState state;
  for (int i = 0; i < 20; ++i) state = persona.step(batch(1.0, 0.5));
  EXPECT_NEAR(state.frustration, 0.0, 1e-12);
  EXPECT_NEAR(state.distill_alpha, 0.4, 1e-12);
  const double calm_momentum = state.merit_momentum;
  EXPECT_NEAR(calm_momentum, 0.8 + 0.19 * 0.8, 1e-12);
  for (int i = 0; i < 5; ++i) state = persona.step(batch(2.0, 0.5));
  EXPECT_GT(state.frustration, 0.0);
  EXPECT_GT(state.distill_alpha, 0.4);
  EXPECT_LE(state.distill_alpha, 1.0);
  // Frustration shortens the merit memory.
  EXPECT_LT(state.merit_momentum, calm_momentum);
  // A falling loss is not frustrating.
  PersonalityEngine relaxed(cfg, 2);
  for (int i = 0; i < 20; ++i) state = relaxed.step(batch(2.0 - 0.05 * i, 0.5));
  EXPECT_NEAR(state.frustration, 0.0, 1e-12);
  EXPECT_NEAR(state.distill_alpha, 0.4, 1e-12);
}

TEST(Personality, DisabledEngineStaysNeutral) {
  PersonalityConfig cfg;
  cfg.enabled = false;
  cfg.base_temperature = 1.5;
  PersonalityEngine persona(cfg, 3);
  auto state = persona.step(batch(5.0, 0.0, {1.0, 0.0, 0.0}));
  EXPECT_TRUE(torch::equal(state.bias_logits, torch::zeros({3})));
  EXPECT_DOUBLE_EQ(state.temperature, 1.5);
  EXPECT_DOUBLE_EQ(state.distill_alpha, cfg.base_distill_alpha);
}

TEST(Personality, ValidateNamesTheKey) {
  PersonalityConfig cfg;
  cfg.curiosity = 1.5;
  auto msg = elarin::test::error_message<elarin::UsageError>([&] { PersonalityEngine p(cfg, 2); });
  EXPECT_NE(msg.find("personality.curiosity"), std::string::npos) << msg;
  cfg = PersonalityConfig{};
  cfg.base_temperature = 0;
  msg = elarin::test::error_message<elarin::UsageError>([&] { PersonalityEngine p(cfg, 2); });
  EXPECT_NE(msg.find("personality.base_temperature"), std::string::npos) << msg;
}

}  // namespace
