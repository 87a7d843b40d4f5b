// One region built from the region table with the config's defaults plus overrides, for
// tests of a region on its own (its facts from brain.*: vocabulary, seed, ifg buffer).
//
//   elarin::test::Made m("ifg", {"region.ifg.capacity=2"});
//   auto out = m.region->tick(ctx, {{"state", x}});
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "elarin/brain/brain.hpp"
#include "elarin/core/config.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/regions/registry.hpp"

namespace elarin::test {

struct Made {
  elarin::Config config;
  elarin::brain::BrainSetup setup{elarin::regions::region_table()};
  std::unique_ptr<elarin::brain::Region> region;
  Made(const std::string& kind, const std::vector<std::string>& sets = {}) {
    setup.bind(config);
    config.set_all(sets);
    region = elarin::brain::find_region_kind(setup.table(), kind)
                 .make(setup.settings(kind), elarin::brain::brain_facts(setup.brain));
  }
};

// An encoder's saved state, loaded into a twin initialised differently, gives identical
// outputs on `x` (at its input `port`); the outputs are unit vectors; an all-zero input gives
// zeros; a state of the wrong shape is refused and leaves the twin unchanged. `develop`
// (optional rows) is developed first, so learned statistics travel too.
inline void expect_encoder_round_trip(const std::string& kind, const std::vector<std::string>& sets,
                                      const std::string& port, const torch::Tensor& x,
                                      const torch::Tensor& develop = {}) {
  Made a(kind, sets), b(kind, sets);
  a.region->initialise(11);
  b.region->initialise(12);  // different weights until loaded
  if (develop.defined()) a.region->develop(develop, 1);
  b.region->load_state(a.region->state());
  elarin::brain::TickContext ctx;
  auto ya = a.region->tick(ctx, {{port, x}}), yb = b.region->tick(ctx, {{port, x}});
  for (const auto& [name, t] : ya) EXPECT_TRUE(torch::equal(t, yb.at(name))) << kind << "." << name;
  const auto& out = ya.begin()->second;
  EXPECT_NEAR(out.norm().item<float>(), 1.0f, 1e-5) << kind << " outputs unit vectors";
  auto quiet = a.region->tick(ctx, {{port, torch::zeros_like(x)}});
  EXPECT_EQ(quiet.begin()->second.abs().max().item<float>(), 0.0f) << kind << ": nothing shown";
  auto bad = a.region->state();
  auto& first = bad.begin()->second;
  first = torch::zeros({first.numel() + 1});
  EXPECT_THROW(b.region->load_state(bad), elarin::FormatError) << kind;
  auto again = b.region->tick(ctx, {{port, x}});
  EXPECT_TRUE(torch::equal(again.begin()->second, out))
      << kind << ": a refused state changes nothing";
}

}  // namespace elarin::test
