// One region built from the region table with the config's defaults plus overrides, for
// tests of a region on its own (its facts from brain.*: vocabulary, seed, ifg buffer).
//
//   elarin::test::Made m("ifg", {"region.ifg.capacity=2"});
//   auto out = m.region->tick(ctx, {{"state", x}});
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "elarin/brain/brain.hpp"
#include "elarin/core/config.hpp"
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

}  // namespace elarin::test
