// The table of region kinds: every region elarin can build, by registered name.
// A name is a config, state-file and bus contract: never rename one casually.
//
//   elarin::brain::BrainSetup setup(elarin::regions::region_table());
//   for (const auto& k : elarin::regions::region_table()) std::cout << k.name << ": " << k.summary;
#pragma once

#include "elarin/brain/region.hpp"

namespace elarin::regions {

const brain::RegionTable& region_table();

}  // namespace elarin::regions
