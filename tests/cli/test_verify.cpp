// `elarin verify` end to end: a dense and an MoE + recursion + diffusion-head config pass
// every check with the right counts and per-expert loads; a bad config is a usage error.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/run_binary.hpp"

namespace {

using elarin::test::run_elarin;

TEST(Verify, DenseAndMoeRecursionConfigsPassWithTheirCounts) {
  auto dense = run_elarin({"verify", "--json", "--set", "lm.model.n_embd=32", "--set",
                           "lm.model.n_layer=2", "--set", "lm.model.block_size=16"});
  ASSERT_EQ(dense.code, 0) << dense.out << dense.err_tail();
  auto jd = nlohmann::json::parse(dense.last_line());
  EXPECT_TRUE(jd["ok"].get<bool>());
  EXPECT_EQ(jd["params"], jd["params_active"]);
  for (const char* c : {"shapes", "recursion", "causality", "backward"})
    EXPECT_TRUE(jd["checks"][c].get<bool>()) << c;

  auto moe =
      run_elarin({"verify", "--json", "--set", "lm.model.n_embd=32", "--set", "lm.model.n_layer=2",
                  "--set", "lm.model.block_size=16", "--set", "lm.model.expert_count=4", "--set",
                  "lm.model.moe_top_k=2", "--set", "lm.model.recursion_depth=2", "--set",
                  "lm.model.use_diffusion_head=true", "--set", "lm.model.draft_len=3"});
  ASSERT_EQ(moe.code, 0) << moe.out << moe.err_tail();
  auto jm = nlohmann::json::parse(moe.last_line());
  EXPECT_TRUE(jm["ok"].get<bool>()) << jm.dump();
  EXPECT_TRUE(jm["checks"]["diffusion_head"].get<bool>());
  EXPECT_NE(moe.out.find("4 block applications"), std::string::npos) << moe.out;
  // 4 routed experts, top-2: two of four experts' parameters are inactive per token.
  EXPECT_GT(jm["params"].get<int64_t>(), jm["params_active"].get<int64_t>());
  // Layer 1 is the MoE layer (moe_every 2), applied twice; each load sums to 1.
  for (const char* key : {"layer1_app0", "layer1_app1"}) {
    auto load = jm["moe_load"][key].get<std::vector<double>>();
    ASSERT_EQ(load.size(), 4u) << key;
    double sum = 0;
    for (double l : load) sum += l;
    EXPECT_NEAR(sum, 1.0, 1e-9) << key;
  }
  auto bad =
      run_elarin({"verify", "--set", "lm.model.moe_top_k=9", "--set", "lm.model.expert_count=4"});
  EXPECT_EQ(bad.code, 2) << bad.err_tail();
  EXPECT_NE(bad.err.find("lm.model.moe_top_k"), std::string::npos) << bad.err_tail();
}

}  // namespace
