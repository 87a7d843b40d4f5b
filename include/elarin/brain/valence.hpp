// The valence table: what people say to praise or scold, each phrase with its valence
// (+1 good, -1 bad). Read through wernicke, the phrases' meanings become the amygdala's
// table (`<state_dir>/valence.safetensors`); the amygdala then appraises any words it reads
// by their nearest phrases. A person rating the brain can type words instead of + or -.
// Leaves out the amygdala itself: regions/amygdala.cpp.
//
//   #include "elarin/regions/registry.hpp"
//   elarin::Config config;
//   elarin::brain::BrainSetup setup(elarin::regions::region_table());
//   setup.bind(config);
//   config.load_file("configs/default.yaml");  // wernicke and the amygdala among its regions
//   elarin::brain::Brain brain(setup);
//   std::vector<std::string> fresh = brain.load_or_initialise();  // the regions just grown
//   elarin::brain::develop_valence(brain, fresh, /*seed=*/1);      // after wernicke has developed
//   double v = elarin::brain::appraise(brain, "well done!");  // > 0 praise, < 0 scolding
#pragma once

#include <string>
#include <vector>

#include "elarin/brain/brain.hpp"

namespace elarin::brain {

struct ValencePhrase {
  std::string text;
  float valence = 0;  // +1 good, -1 bad
};
// The table's phrases in order (the amygdala's development rows follow it).
const std::vector<ValencePhrase>& valence_phrases();

// Builds the amygdala's valence table when the amygdala or wernicke is in `fresh`: each phrase
// as a text-port row through wernicke, the meanings to amygdala.develop. Returns true if it did.
// Needs both regions in the brain; without them it does nothing.
bool develop_valence(Brain& brain, const std::vector<std::string>& fresh, uint64_t seed);

// The amygdala's valence of `text` as read by wernicke (its `mood`, -1..1); 0 when the brain
// has no wernicke or amygdala. Ticks only those two regions: the brain's state is unchanged.
double appraise(Brain& brain, const std::string& text);

}  // namespace elarin::brain
