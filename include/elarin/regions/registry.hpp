// The table of region kinds: every region elarin can build, by registered name.
// A name is a config, state-file and bus contract: never rename one casually.
//
//   #include <iostream>
//   #include "elarin/brain/brain.hpp"
//   elarin::brain::BrainSetup setup(elarin::regions::region_table());  // binds region.<kind>.*
//   for (const auto& k : elarin::regions::region_table())
//     std::cout << k.name << ": " << k.summary << "\n";
#pragma once

#include "elarin/brain/region.hpp"

namespace elarin::regions {

const brain::RegionTable& region_table();

}  // namespace elarin::regions
