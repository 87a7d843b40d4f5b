// The motor's scoring: value + bonus + recall (faded by the basal ganglia's uncertainty
// with recall_fade) - inhibition + correction - aversion, best of motor_candidates.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "regions/region_test_util.hpp"

namespace {

using elarin::test::Made;

int64_t said(Made& m, std::map<std::string, torch::Tensor> set) {
  elarin::brain::Ports in;
  for (const char* p :
       {"value", "bonus", "recall", "uncertainty", "inhibition", "correction", "aversion"})
    in[p] = set.count(p) ? set[p] : torch::zeros({10});
  elarin::brain::TickContext greedy;
  greedy.temperature = 0;  // the best candidate, no sampling
  return m.region->tick(greedy, in).at("emitted").argmax().item<int64_t>();
}

torch::Tensor at(int64_t i, float v) {
  auto x = torch::zeros({10});
  x[i] = v;
  return x;
}

// Values for names 1 and 2; the other names far below, so 1 and 2 are among the candidates.
torch::Tensor values(float one, float two) {
  auto x = torch::full({10}, -1.0f);
  x[1] = one;
  x[2] = two;
  return x;
}

TEST(Motor, RecallFadesWhereTheBasalGangliaAreSure) {
  auto value = values(0.5f, 0.0f);  // habit: name 1; memory: name 2 (recall x weight 2 = 0.6)
  auto recall = at(2, 0.3f);
  Made plain("motor", {"region.motor.recall_fade=0", "region.motor.recall_weight=2"});
  EXPECT_EQ(said(plain, {{"value", value}, {"recall", recall}}), 2);
  Made fade("motor", {"region.motor.recall_fade=0.5", "region.motor.recall_weight=2"});
  auto unsure = torch::ones({10});
  EXPECT_EQ(said(fade, {{"value", value}, {"recall", recall}, {"uncertainty", unsure}}), 2);
  auto sure = at(2, 0.2f);  // recall x min(1, 0.2 / 0.5) = 0.4 of it: 0.24 < 0.5
  EXPECT_EQ(said(fade, {{"value", value}, {"recall", recall}, {"uncertainty", sure}}), 1);
}

TEST(Motor, InhibitionCorrectionAndAversionMoveTheAnswer) {
  Made m("motor");
  auto value = values(0.5f, 0.4f);
  EXPECT_EQ(said(m, {{"value", value}}), 1);
  EXPECT_EQ(said(m, {{"value", value}, {"inhibition", at(1, 0.2f)}}), 2);
  EXPECT_EQ(said(m, {{"value", value}, {"correction", at(1, -0.2f)}}), 2);
  EXPECT_EQ(said(m, {{"value", value}, {"aversion", at(1, 0.2f)}}), 2);
  EXPECT_EQ(said(m, {{"value", value}, {"aversion", at(1, 0.05f)}}), 1);
}

}  // namespace
