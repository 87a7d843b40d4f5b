// PlasticLinear and the learning-rule table: dormant (sentinel) connections contribute
// nothing until a rule reinforces them, then they do; the three-factor rule moves weights
// only when dopamine and eligibility are both nonzero; Hebb matches its outer product;
// Oja's rule finds the principal direction of its input.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elarin/brain/learning_rules.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/nn/plastic_linear.hpp"
#include "nn/nn_test_util.hpp"

namespace {

using elarin::brain::apply_learning_rule;
using elarin::brain::RuleInput;
using elarin::nn::PlasticLinear;
using elarin::nn::PlasticLinearOptions;
using elarin::test::max_abs_diff;

TEST(PlasticLinear, SentinelConnectionsContributeNothingUntilReinforcedThenDo) {
  torch::manual_seed(0);
  PlasticLinear layer(PlasticLinearOptions(6, 4));
  EXPECT_EQ(layer->live_count(), 0);
  auto x = torch::randn({3, 6}) * 100;
  EXPECT_EQ(layer(x).abs().max().item<float>(), 0.0f);  // -1e9 never leaks into the output

  // Eligibility on one connection only: output 2 fired together with input 5.
  auto pre = torch::zeros({6}), post = torch::zeros({4});
  pre[5] = 1.0;
  post[2] = 1.0;
  layer->update_trace(pre, post);
  EXPECT_EQ(apply_learning_rule("three_factor", *layer, {pre, post, 0.0, 0.5}), 0);   // no dopamine
  EXPECT_EQ(apply_learning_rule("three_factor", *layer, {pre, post, -1.0, 0.5}), 0);  // punished
  EXPECT_EQ(layer->live_count(), 0);
  EXPECT_EQ(layer(x).abs().max().item<float>(), 0.0f);

  EXPECT_EQ(apply_learning_rule("three_factor", *layer, {pre, post, 1.0, 0.5}), 1);
  EXPECT_EQ(layer->live_count(), 1);
  EXPECT_FLOAT_EQ(layer->weight[2][5].item<float>(), 0.5f);  // lr * dopamine * trace
  auto y = layer(x);  // (3, 4): only output 2 moves, by 0.5 * x[:, 5]
  EXPECT_LT(max_abs_diff(y.select(1, 2), 0.5 * x.select(1, 5)), 1e-5);
  EXPECT_EQ(y.index_select(1, torch::tensor({0, 1, 3})).abs().max().item<float>(), 0.0f);
}

TEST(PlasticLinear, ThreeFactorChangesWeightsOnlyWithDopamineAndEligibility) {
  torch::manual_seed(1);
  PlasticLinearOptions o(5, 3);
  o.init = "kaiming";
  o.trace_decay = 0.5;
  PlasticLinear layer(o);
  const auto w0 = layer->weight.clone();
  auto pre = torch::randn({5}), post = torch::randn({3});
  apply_learning_rule("three_factor", *layer, {pre, post, 1.0, 0.1});  // no trace yet
  EXPECT_TRUE(torch::equal(layer->weight, w0));
  layer->update_trace(pre, post);
  layer->update_trace(pre, post);  // e = 0.5 * p(x)q + p(x)q = 1.5 p(x)q
  apply_learning_rule("three_factor", *layer, {pre, post, 0.0, 0.1});  // no dopamine
  EXPECT_TRUE(torch::equal(layer->weight, w0));
  apply_learning_rule("three_factor", *layer, {pre, post, -2.0, 0.1});
  auto want = w0 + 0.1 * -2.0 * 1.5 * torch::outer(post, pre);
  EXPECT_LT(max_abs_diff(layer->weight, want), 1e-6);
}

TEST(PlasticLinear, HebbMatchesTheBatchMeanOuterProduct) {
  torch::manual_seed(2);
  PlasticLinearOptions o(4, 2);
  o.init = "kaiming";
  PlasticLinear layer(o);
  const auto w0 = layer->weight.clone();
  auto pre = torch::randn({8, 4}), post = torch::randn({8, 2});
  apply_learning_rule("hebbian", *layer, {pre, post, 0.0, 0.2});
  auto want = w0 + 0.2 * torch::matmul(post.t(), pre) / 8.0;
  EXPECT_LT(max_abs_diff(layer->weight, want), 1e-6);
}

TEST(PlasticLinear, OjaFindsThePrincipalDirection) {
  torch::manual_seed(4);
  PlasticLinearOptions o(3, 1);
  o.init = "kaiming";
  PlasticLinear layer(o);
  auto dir = torch::tensor({0.6f, 0.0f, 0.8f});  // unit: the data's main axis
  for (int i = 0; i < 3000; ++i) {
    auto x = torch::randn({4, 1}) * 2.0 * dir + torch::randn({4, 3}) * 0.3;  // (4, 3)
    apply_learning_rule("oja", *layer, {x, layer(x), 0.0, 0.01});
  }
  auto w = layer->weight[0];
  EXPECT_NEAR(w.norm().item<float>(), 1.0f, 0.05f);  // Oja keeps the norm at 1
  EXPECT_GT(std::abs(torch::dot(w, dir).item<float>()) / w.norm().item<float>(), 0.99f);
}

TEST(PlasticLinear, BadNamesAndSizesAreUsageErrors) {
  PlasticLinear layer(PlasticLinearOptions(2, 2));
  try {
    apply_learning_rule("stdp", *layer, {torch::ones({2}), torch::ones({2}), 1.0, 0.1});
    FAIL();
  } catch (const elarin::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("three_factor"), std::string::npos) << e.what();
  }
  EXPECT_THROW(layer->reset("xavier"), elarin::UsageError);
  EXPECT_THROW(PlasticLinear(PlasticLinearOptions(0, 3)), elarin::UsageError);
}

}  // namespace
