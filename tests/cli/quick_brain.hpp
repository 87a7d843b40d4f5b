// A quick `elarin brain` command line for the tests that run the binary: the retina keeps its
// Kaiming weights, the occipital develops briefly, the world shows MNIST digits only.
//
//   auto r = elarin::test::run_elarin(elarin::test::quick(dir + "/state", 300));
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "elarin/data/image_dataset.hpp"

namespace elarin::test {

inline bool have_mnist() {
  return std::filesystem::exists(std::string(elarin::kMnistNpmRoot) + "/src/digits/9.json");
}

// Tests run from the repository root, so configs/default.yaml is read; `digits_only` keeps
// its world to MNIST digits and its vocabulary to their ten names.
inline std::vector<std::string> quick(const std::string& state, int64_t steps,
                                      bool digits_only = true) {
  std::vector<std::string> args = {"brain",
                                   "--headless",
                                   "--json",
                                   "--steps",
                                   std::to_string(steps),
                                   "--set",
                                   "brain.state_dir=" + state,
                                   "--set",
                                   "data.mnist=" + std::string(elarin::kMnistNpmRoot),
                                   "--set",
                                   "task.dev_images=300",
                                   "--set",
                                   "region.retina.epochs=0",
                                   "--set",
                                   "region.occipital.epochs=2"};
  if (digits_only)
    for (const char* s : {"task.stimuli=[mnist]",
                          "brain.vocabulary=[zero, one, two, three, four, five, six, seven, "
                          "eight, nine]"}) {
      args.push_back("--set");
      args.push_back(s);
    }
  return args;
}

}  // namespace elarin::test
