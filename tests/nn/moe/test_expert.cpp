// The expert registry and the built-in expert types: names, shape checks, the row views of
// the conv experts, copy_expert, dropout and the optional normalisation layers.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elarin/core/errors.hpp"
#include "elarin/nn/moe/expert.hpp"
#include "nn/nn_test_util.hpp"
#include "test_util.hpp"

namespace {

using elarin::UsageError;
using elarin::nn::ExpertSpec;
using elarin::nn::make_expert;
using elarin::test::error_message;
using elarin::test::max_abs_diff;

ExpertSpec spec(int64_t d_in, int64_t d_out, int64_t hidden, int64_t channels = 1) {
  ExpertSpec s;
  s.d_in = d_in;
  s.d_out = d_out;
  s.hidden = hidden;
  s.channels = channels;
  return s;
}

TEST(MoEExpert, UnknownTypeListsTheValidNames) {
  auto msg = error_message<UsageError>([] { make_expert("transformer", spec(8, 8, 8)); });
  EXPECT_NE(msg.find("'transformer'"), std::string::npos) << msg;
  for (const auto& t : elarin::nn::expert_type_table())
    EXPECT_NE(msg.find(t.name), std::string::npos) << "missing " << t.name << ": " << msg;
  EXPECT_NE(msg.find("mlp"), std::string::npos) << msg;
}

TEST(MoEExpert, TableBuildsEveryTypeUnderItsName) {
  // One spec each type accepts: rows of 32 = (2, 16) for conv1d, (2, 4, 4) for conv2d.
  const std::map<std::string, ExpertSpec> specs = {{"mlp", spec(32, 12, 8)},
                                                   {"conv1d", spec(32, 16, 4, 2)},
                                                   {"conv2d", spec(32, 12, 3, 2)},
                                                   {"swiglu", spec(32, 32, 24)}};
  ASSERT_EQ(elarin::nn::expert_type_table().size(), specs.size());
  torch::manual_seed(0);
  for (const auto& t : elarin::nn::expert_type_table()) {
    const auto& s = specs.at(t.name);
    auto e = make_expert(t.name, s);
    EXPECT_EQ(e->type(), t.name);
    EXPECT_EQ(e->forward(torch::randn({5, s.d_in})).sizes(), (std::vector<int64_t>{5, s.d_out}))
        << t.name;
  }
}

TEST(MoEExpert, MlpRejectsNonPositiveWidths) {
  auto msg = error_message<UsageError>([] { make_expert("mlp", spec(8, 8, 0)); });
  EXPECT_NE(msg.find("mlp expert"), std::string::npos) << msg;
  EXPECT_THROW(make_expert("mlp", spec(0, 8, 8)), UsageError);
  EXPECT_THROW(make_expert("mlp", spec(8, -1, 8)), UsageError);
}

TEST(MoEExpert, Conv1dChecksShapes) {
  // d_in 12 = 3 channels x length 4; d_out must be a multiple of the length.
  auto e = make_expert("conv1d", spec(12, 8, 5, 3));
  EXPECT_EQ(e->forward(torch::randn({7, 12})).sizes(), (std::vector<int64_t>{7, 8}));
  auto msg = error_message<UsageError>([] { make_expert("conv1d", spec(10, 8, 5, 3)); });
  EXPECT_NE(msg.find("d_in 10"), std::string::npos) << msg;
  EXPECT_NE(msg.find("channels 3"), std::string::npos) << msg;
  msg = error_message<UsageError>([] { make_expert("conv1d", spec(12, 10, 5, 3)); });
  EXPECT_NE(msg.find("d_out 10"), std::string::npos) << msg;
  EXPECT_NE(msg.find("length 4"), std::string::npos) << msg;
  EXPECT_THROW(make_expert("conv1d", spec(12, 8, 5, 0)), UsageError);
}

TEST(MoEExpert, Conv1dSeesARowAsChannelsByLength) {
  // Two kernel-3 convs: output position l depends on input positions l-2 .. l+2 only. A row
  // of 16 is (2, 8); element 0 is (channel 0, position 0).
  torch::manual_seed(1);
  auto e = make_expert("conv1d", spec(16, 24, 4, 2));  // out (3, 8)
  auto x = torch::randn({4, 16});
  auto x2 = x.clone();
  x2.select(1, 0).add_(5.0);
  auto diff = (e->forward(x2) - e->forward(x)).abs().view({4, 3, 8});  // (N, C_out, L)
  EXPECT_GT(diff.narrow(2, 0, 3).max().item<double>(), 1e-4) << "perturbation lost";
  EXPECT_EQ(diff.narrow(2, 3, 5).max().item<double>(), 0.0)
      << "position 0 reached positions >= 3: the row is not viewed as (channels, length)";
}

TEST(MoEExpert, Conv2dChecksShapes) {
  // d_in 32 = 2 channels x 4 x 4; d_out = hidden * 2 * 2.
  auto e = make_expert("conv2d", spec(32, 12, 3, 2));
  EXPECT_EQ(e->forward(torch::randn({3, 32})).sizes(), (std::vector<int64_t>{3, 12}));
  // 2 x 3 x 3: H odd.
  auto msg = error_message<UsageError>([] { make_expert("conv2d", spec(18, 3, 3, 2)); });
  EXPECT_NE(msg.find("even H"), std::string::npos) << msg;
  // 2 x 12: not square.
  EXPECT_THROW(make_expert("conv2d", spec(24, 12, 3, 2)), UsageError);
  msg = error_message<UsageError>([] { make_expert("conv2d", spec(32, 16, 3, 2)); });
  EXPECT_NE(msg.find("hidden * (H/2)^2 = 12, got 16"), std::string::npos) << msg;
}

TEST(MoEExpert, Conv2dSeesARowAsChannelsBySquare) {
  // Element 0 is (channel 0, 0, 0): after conv, pool and conv it reaches only the top-left
  // 2 x 2 pooled cells of each output channel.
  torch::manual_seed(2);
  auto e = make_expert("conv2d", spec(2 * 8 * 8, 3 * 4 * 4, 3, 2));  // out (3, 4, 4)
  auto x = torch::randn({2, 128});
  auto x2 = x.clone();
  x2.select(1, 0).add_(5.0);
  auto diff = (e->forward(x2) - e->forward(x)).abs().view({2, 3, 4, 4});
  EXPECT_GT(diff.narrow(2, 0, 2).narrow(3, 0, 2).max().item<double>(), 1e-4);
  EXPECT_EQ(diff.narrow(2, 2, 2).max().item<double>(), 0.0);
  EXPECT_EQ(diff.narrow(3, 2, 2).max().item<double>(), 0.0);
}

TEST(MoEExpert, CopyExpertGivesIdenticalIndependentWeights) {
  torch::manual_seed(3);
  for (const std::string type : {"mlp", "conv1d"}) {
    auto s = type == "mlp" ? spec(16, 8, 12) : spec(16, 16, 4, 2);
    auto a = make_expert(type, s);
    auto b = make_expert(type, s);
    auto x = torch::randn({5, 16});
    ASSERT_FALSE(torch::equal(a->forward(x), b->forward(x)));
    elarin::nn::copy_expert(*a, *b);
    EXPECT_TRUE(torch::equal(a->forward(x), b->forward(x)))
        << type << " max diff " << max_abs_diff(a->forward(x), b->forward(x));
    // A copy, not shared storage.
    {
      torch::NoGradGuard no_grad;
      for (auto& p : a->parameters()) p.add_(1.0);
    }
    EXPECT_FALSE(torch::equal(a->forward(x), b->forward(x))) << type;
  }
}

TEST(MoEExpert, DropoutOnlyWhileTraining) {
  torch::manual_seed(4);
  auto s = spec(16, 8, 64);
  s.dropout = 0.5;
  auto e = make_expert("mlp", s);
  auto x = torch::randn({8, 16});
  e->eval();
  EXPECT_TRUE(torch::equal(e->forward(x), e->forward(x)));
  e->train();
  EXPECT_FALSE(torch::equal(e->forward(x), e->forward(x)));
}

// Norm on: a positive rescale of the first layer (weight and bias) cannot change the output,
// since BatchNorm (training: batch statistics) and LayerNorm remove it; with norm off it does.
TEST(MoEExpert, NormRemovesTheFirstLayersScale) {
  torch::manual_seed(5);
  struct Case {
    std::string type;
    ExpertSpec spec;
    const char* first;
  };
  const std::vector<Case> cases = {{"mlp", spec(16, 8, 12), "fc1."},
                                   {"conv1d", spec(16, 16, 4, 2), "conv1."},
                                   {"conv2d", spec(2 * 8 * 8, 3 * 4 * 4, 3, 2), "conv1."}};
  for (const auto& c : cases) {
    for (bool norm : {false, true}) {
      auto s = c.spec;
      s.norm = norm;
      auto e = make_expert(c.type, s);
      e->train();
      auto x = torch::randn({32, s.d_in});
      auto before = e->forward(x).detach();
      {
        torch::NoGradGuard no_grad;
        for (auto& [name, p] : e->named_parameters().pairs())
          if (name.rfind(c.first, 0) == 0) p.mul_(3.0);
      }
      const double diff = max_abs_diff(e->forward(x).detach(), before);
      if (norm)
        EXPECT_LT(diff, 1e-4) << c.type << " with norm changed by " << diff;
      else
        EXPECT_GT(diff, 1e-2) << c.type << " without norm did not change";
    }
  }
}

TEST(MoEExpert, BatchNormStatisticsMoveOnlyWhileTrainingAndAreCopied) {
  torch::manual_seed(6);
  auto s = spec(2 * 8 * 8, 3 * 4 * 4, 3, 2);
  s.norm = true;
  auto a = make_expert("conv2d", s);
  auto b = make_expert("conv2d", s);
  ASSERT_EQ(a->buffers().size(), 6u);  // two BatchNorms: running mean, var, batch count
  auto x = torch::randn({16, s.d_in}) * 3 + 1;
  auto stats = [](const elarin::nn::ExpertImpl& e) {
    std::vector<torch::Tensor> out;
    for (const auto& t : e.buffers()) out.push_back(t.clone());
    return out;
  };
  auto equal_stats = [](const std::vector<torch::Tensor>& u, const std::vector<torch::Tensor>& v) {
    for (size_t i = 0; i < u.size(); ++i)
      if (!torch::equal(u[i], v[i])) return false;
    return true;
  };
  a->eval();
  const auto s0 = stats(*a);
  a->forward(x);
  EXPECT_TRUE(equal_stats(stats(*a), s0)) << "eval forward moved the running statistics";
  a->train();
  a->forward(x);
  EXPECT_FALSE(equal_stats(stats(*a), s0)) << "training forward left the statistics";
  elarin::nn::copy_expert(*a, *b);
  a->eval();
  b->eval();
  EXPECT_TRUE(torch::equal(a->forward(x), b->forward(x)))
      << "copy_expert left the running statistics behind";
}

}  // namespace
