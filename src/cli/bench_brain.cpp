// `elarin bench naming` (see bench_brain.hpp).
#include "bench_brain.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <sstream>

#include "elarin/brain/baselines.hpp"
#include "elarin/brain/brain.hpp"
#include "elarin/brain/naming_stimuli.hpp"
#include "elarin/brain/naming_task.hpp"
#include "elarin/cli/app_config.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/core/safetensors.hpp"
#include "elarin/regions/registry.hpp"

namespace elarin::cli {
namespace {

namespace fs = std::filesystem;

// The app's whole config (brain.*, region.*, task.* included) from `file` and overrides.
std::unique_ptr<AppConfig> load(const std::string& file,
                                const std::vector<std::string>& overrides) {
  auto app = std::make_unique<AppConfig>();
  app->load(file, overrides);
  return app;
}

std::string flow_list(const std::vector<std::string>& items) {
  std::string s = "[";
  for (size_t i = 0; i < items.size(); ++i) s += (i ? ", \"" : "\"") + items[i] + "\"";
  return s + "]";
}

struct Variant {
  std::string name;
  std::vector<std::string> overrides;
};

nlohmann::json summary(const std::vector<int64_t>& to80, const std::vector<double>& acc) {
  double m80 = 0, macc = 0;
  bool never = false;
  for (auto v : to80) {
    never = never || v < 0;
    m80 += double(v);
  }
  for (auto v : acc) macc += v;
  return {{"episodes_to_80", to80},
          {"accuracy_last_500", acc},
          {"mean_episodes_to_80",
           never ? nlohmann::json(nullptr) : nlohmann::json(m80 / double(to80.size()))},
          {"mean_accuracy_last_500", macc / double(acc.size())}};
}

bool is_sense_file(const fs::path& p) {
  for (const auto& pathway : brain::kSensoryPathways)
    for (const char* r : {pathway.encoder, pathway.cortex})
      if (r && p.filename() == std::string(r) + ".safetensors") return true;
  return false;
}

// Development once: the senses' weights (in <dir>/senses) are shared by every run. Only they
// are kept there: the other regions' files, grown anew by every run, may be left from a
// brain configured differently and would not load.
fs::path develop_once(const std::string& file, const std::vector<std::string>& overrides,
                      const fs::path& dir, const brain::NamingData& data) {
  const fs::path senses = dir / "senses";
  if (fs::is_directory(senses))
    for (const auto& e : fs::directory_iterator(senses))
      if (e.is_regular_file() && !is_sense_file(e.path())) fs::remove(e.path());
  auto ov = overrides;
  ov.push_back("brain.state_dir=" + senses.string());
  ov.push_back("brain.transport=inproc");
  const auto l = load(file, ov);
  brain::Brain b(l->brain);
  auto fresh = b.load_or_initialise();
  if (!brain::develop_senses(b, data, fresh, static_cast<uint64_t>(l->brain.brain.seed)).empty())
    b.save();
  return senses;
}

// An empty state directory holding only the developed senses.
void fresh_state(const fs::path& state, const fs::path& senses) {
  fs::remove_all(state);
  fs::create_directories(state);
  for (const auto& e : fs::directory_iterator(senses))
    if (is_sense_file(e.path())) fs::copy_file(e.path(), state / e.path().filename());
}

// bench naming measures MNIST-digit naming (the target): digits only, and a brain
// that can say only the ten digit names, like the bandits' ten arms. Later overrides win.
std::vector<std::string> mnist_only(const std::vector<std::string>& overrides) {
  std::vector<std::string> ov = {"task.stimuli=[mnist]",
                                 "brain.vocabulary=" + flow_list(brain::digit_names())};
  ov.insert(ov.end(), overrides.begin(), overrides.end());
  return ov;
}

// One run of `variant` from the developed senses, in its own state directory.
brain::NamingResult run_variant(const std::string& file, const std::vector<std::string>& overrides,
                                const Variant& v, const fs::path& state, const fs::path& senses,
                                const brain::NamingData& data, int64_t episodes, bool record) {
  fresh_state(state, senses);
  auto ov = overrides;
  ov.insert(ov.end(), v.overrides.begin(), v.overrides.end());
  ov.push_back("brain.state_dir=" + state.string());
  const auto l = load(file, ov);
  brain::Brain b(l->brain);
  b.load_or_initialise();
  brain::NamingOptions no;
  no.steps = episodes;
  no.save_every_s = 0;
  no.record_features = record;
  auto r = brain::run_naming(b, data, no);
  b.save();
  return r;
}

// The brain's regions and connections without `region`, as overrides.
std::vector<std::string> without(const brain::BrainConfig& bc, const std::string& region) {
  std::vector<std::string> regions, conns;
  for (const auto& r : bc.regions)
    if (r != region) regions.push_back(r);
  for (const auto& c : bc.connections)
    if (c.find(region + ".") == std::string::npos) conns.push_back(c);
  return {"brain.regions=" + flow_list(regions), "brain.connections=" + flow_list(conns)};
}

}  // namespace

nlohmann::json bench_bus(const BenchBrainOptions& o) {
  const std::string file = default_brain_config(o.config_file);
  const auto base = load(file, o.overrides);
  const fs::path dir =
      o.dir.empty() ? fs::path(base->log.runs_dir) / "bench-brain" : fs::path(o.dir);
  const auto data = naming_task_data(*base);  // what `elarin brain` shows
  const fs::path senses = develop_once(file, o.overrides, dir, data);
  std::map<std::string, brain::NamingResult> runs;
  std::map<std::string, std::map<std::string, std::string>> files;  // transport -> region -> path
  int64_t restarts = 0;
  for (const std::string transport : {"inproc", "zmq"}) {
    const fs::path state = dir / ("bus-" + transport);
    fresh_state(state, senses);
    auto ov = o.overrides;
    ov.push_back("brain.transport=" + transport);
    ov.push_back("brain.state_dir=" + state.string());
    const auto l = load(file, ov);
    brain::Brain b(l->brain);
    b.load_or_initialise();
    brain::NamingOptions no;
    no.steps = o.episodes;
    no.save_every_s = 0;
    runs[transport] = brain::run_naming(b, data, no);
    b.save();
    for (const auto& r : b.order()) {
      if (fs::exists(b.state_path(r))) files[transport][r] = b.state_path(r);
      if (b.bus()) restarts += b.bus()->restarts(r);
    }
    log_info("bench bus: {}: {:.1f} ticks/s, accuracy over the last 500 {:.3f}", transport,
             runs[transport].ticks_per_s, runs[transport].accuracy_last_500);
  }
  const auto &a = runs["inproc"], &z = runs["zmq"];
  const bool same_answers = a.answers == z.answers;
  bool same_files = files["inproc"].size() == files["zmq"].size();
  for (const auto& [region, path] : files["inproc"])
    same_files = same_files && files["zmq"].count(region) &&
                 brain::same_saved_state(path, files["zmq"][region]);
  std::cout << "bench bus: " << o.episodes << " episodes of the naming task\n"
            << "  in one process  " << std::fixed << std::setprecision(1) << a.ticks_per_s
            << " ticks/s\n"
            << "  one process per region over ZeroMQ (" << base->brain.brain.bus << ")  "
            << z.ticks_per_s << " ticks/s (" << std::setprecision(2)
            << z.ticks_per_s / a.ticks_per_s << "x)\n"
            << "  answers identical: " << (same_answers ? "yes" : "NO")
            << ", saved state identical: " << (same_files ? "yes" : "NO") << "\n";
  return {{"episodes", o.episodes},
          {"inproc_ticks_per_s", a.ticks_per_s},
          {"zmq_ticks_per_s", z.ticks_per_s},
          {"zmq_over_inproc", z.ticks_per_s / a.ticks_per_s},
          {"identical_answers", same_answers},
          {"identical_state", same_files},
          {"accuracy_last_500", z.accuracy_last_500},
          {"restarts", restarts},
          {"regions", base->brain.brain.regions.size()}};
}

nlohmann::json bench_brain(const BenchBrainOptions& o) {
  const std::string file = default_brain_config(o.config_file);
  const auto overrides = mnist_only(o.overrides);
  const auto base = load(file, overrides);
  const fs::path dir =
      o.dir.empty() ? fs::path(base->log.runs_dir) / "bench-brain" : fs::path(o.dir);
  // The ablations, as config changes of the full brain.
  const std::vector<Variant> variants = {
      {"full", {}},
      {"no_hippocampus", without(base->brain.brain, "hippocampus")},
      {"no_dopamine", {"region.hypothalamus.dopamine=none"}},
      {"no_rpe", {"region.hypothalamus.dopamine=reward"}},
      {"no_sentinels", {"region.basal_ganglia.init=kaiming"}},
  };
  auto data0 = brain::mnist_naming_data(base->data.mnist, base->task.dev_images,
                                        static_cast<uint64_t>(base->task.seed));
  const fs::path senses = develop_once(file, overrides, dir, data0);
  std::map<std::string, std::vector<int64_t>> to80;
  std::map<std::string, std::vector<double>> acc;
  std::vector<double> ticks_per_s, repetition;
  const std::vector<double> alphas = {0.25, 0.5, 1.0, 2.0};
  for (int64_t seed = 1; seed <= o.seeds; ++seed) {
    const auto data = brain::reorder_stream(data0, static_cast<uint64_t>(seed));
    torch::Tensor features, labels;
    for (const auto& v : variants) {
      const fs::path state = dir / (v.name + "-" + std::to_string(seed));
      const auto r =
          run_variant(file, overrides, v, state, senses, data, o.episodes, v.name == "full");
      to80[v.name].push_back(r.episodes_to_80);
      acc[v.name].push_back(r.accuracy_last_500);
      if (v.name == "full") {
        features = r.features;
        labels = r.labels;
        ticks_per_s.push_back(r.ticks_per_s);
        repetition.push_back(r.repetition_rate);
      }
      log_info("bench naming: seed {} {}: episodes to 80% {}, accuracy over the last 500 {:.3f}",
               seed, v.name, r.episodes_to_80, r.accuracy_last_500);
    }
    const int64_t arms = static_cast<int64_t>(data.names.size());
    for (double a : alphas) {
      auto r = brain::run_linucb(features, labels, arms, a);
      std::ostringstream name;
      name << "linucb_alpha_" << a;
      to80[name.str()].push_back(r.episodes_to_80);
      acc[name.str()].push_back(r.accuracy_last_500);
    }
    for (double e : {0.05, 0.1}) {
      auto r = brain::run_epsilon_greedy(features, labels, arms, e, static_cast<uint64_t>(seed));
      std::ostringstream name;
      name << "epsilon_greedy_" << e;
      to80[name.str()].push_back(r.episodes_to_80);
      acc[name.str()].push_back(r.accuracy_last_500);
    }
    auto sup = brain::run_supervised_readout(features, labels, arms);
    to80["supervised_readout"].push_back(sup.episodes_to_80);
    acc["supervised_readout"].push_back(sup.accuracy_last_500);
  }
  nlohmann::json j;
  j["episodes"] = o.episodes;
  j["seeds"] = o.seeds;
  std::cout << std::left << std::setw(24) << "learner" << std::setw(28)
            << "episodes to 80% (per seed)"
            << "accuracy last 500 (mean)\n";
  for (const auto& [name, v] : to80) {
    j["learners"][name] = summary(v, acc[name]);
    std::ostringstream seeds;
    for (auto x : v) seeds << x << " ";
    std::cout << std::left << std::setw(24) << name << std::setw(28) << seeds.str() << std::fixed
              << std::setprecision(3) << j["learners"][name]["mean_accuracy_last_500"].get<double>()
              << "\n";
  }
  double tps = 0, rep = 0;
  for (auto t : ticks_per_s) tps += t / double(ticks_per_s.size());
  for (auto t : repetition) rep += t / double(repetition.size());
  j["ticks_per_s"] = tps;
  j["repetition_rate"] = rep;
  j["dir"] = dir.string();
  return j;
}

}  // namespace elarin::cli

namespace elarin::cli {

nlohmann::json bench_rule(const BenchBrainOptions& o) {
  const std::string file = o.config_file.empty() ? "configs/rule.yaml" : o.config_file;
  const auto base = load(file, o.overrides);
  if (base->task.rule == "none")
    throw UsageError("bench rule: " + file + " sets no task.rule (expected task.rule: parity)");
  const auto& bc = base->brain.brain;
  if (std::find(bc.regions.begin(), bc.regions.end(), "pfc") == bc.regions.end())
    throw UsageError("bench rule: " + file + " has no pfc region to compare");
  const fs::path dir =
      o.dir.empty() ? fs::path(base->log.runs_dir) / "bench-rule" : fs::path(o.dir);
  const auto data0 = naming_task_data(*base);
  const fs::path senses = develop_once(file, o.overrides, dir, data0);
  const std::vector<Variant> variants = {{"learned_gating", {"region.pfc.gating=learned"}},
                                         {"recency", {"region.pfc.gating=none"}},
                                         {"no_pfc", without(bc, "pfc")}};
  std::map<std::string, std::vector<int64_t>> to80;
  std::map<std::string, std::vector<double>> acc;
  std::map<std::string, std::map<std::string, double>> by_cue;  // variant -> cue -> mean
  std::vector<double> ticks_per_s;
  for (int64_t seed = 1; seed <= o.seeds; ++seed) {
    const auto data = brain::reorder_stream(data0, static_cast<uint64_t>(seed));
    for (const auto& v : variants) {
      const fs::path state = dir / (v.name + "-" + std::to_string(seed));
      const auto r = run_variant(file, o.overrides, v, state, senses, data, o.episodes, false);
      to80[v.name].push_back(r.episodes_to_80);
      acc[v.name].push_back(r.accuracy_last_500);
      for (const auto& [cue, a] : r.accuracy_by_cue) by_cue[v.name][cue] += a / double(o.seeds);
      if (v.name == "learned_gating") ticks_per_s.push_back(r.ticks_per_s);
      log_info("bench rule: seed {} {}: trials to 80% {}, accuracy over the last 500 {:.3f}", seed,
               v.name, r.episodes_to_80, r.accuracy_last_500);
    }
  }
  nlohmann::json j;
  j["episodes"] = o.episodes;
  j["seeds"] = o.seeds;
  j["rule"] = base->task.rule;
  j["rule_gap_max"] = base->task.rule_gap_max;
  std::cout << "bench rule: " << o.episodes << " trials of the " << base->task.rule
            << " rule (cue, 0.." << base->task.rule_gap_max << " distractors, digit)\n"
            << std::left << std::setw(18) << "pfc" << std::setw(28) << "trials to 80% (per seed)"
            << "accuracy last 500 (mean; per cue)\n";
  for (const auto& v : variants) {
    j["learners"][v.name] = summary(to80[v.name], acc[v.name]);
    j["learners"][v.name]["accuracy_by_cue"] = by_cue[v.name];
    std::ostringstream seeds, cues;
    for (auto x : to80[v.name]) seeds << x << " ";
    for (const auto& [cue, a] : by_cue[v.name])
      cues << " " << cue << " " << std::fixed << std::setprecision(3) << a;
    std::cout << std::left << std::setw(18) << v.name << std::setw(28) << seeds.str() << std::fixed
              << std::setprecision(3)
              << j["learners"][v.name]["mean_accuracy_last_500"].get<double>() << ";" << cues.str()
              << "\n";
  }
  double tps = 0;
  for (auto t : ticks_per_s) tps += t / double(ticks_per_s.size());
  j["ticks_per_s"] = tps;
  j["dir"] = dir.string();
  return j;
}

nlohmann::json bench_lora(const BenchBrainOptions& o) {
  const std::string file = default_brain_config(o.config_file);
  const auto overrides = mnist_only(o.overrides);
  const auto base = load(file, overrides);
  const auto settings = base->config.to_json()["region"]["retina"];
  const std::string pretrained = settings["pretrained"];
  if (pretrained.empty())
    throw UsageError("bench lora: set region.retina.pretrained=DIR (a CLIP vision model, e.g. "
                     "from `elarin train vision`)");
  const int64_t rank = settings["lora_rank"];
  const int64_t lora_rank = rank > 0 ? rank : 4;
  const fs::path dir =
      o.dir.empty() ? fs::path(base->log.runs_dir) / "bench-lora" : fs::path(o.dir);
  auto data0 = brain::mnist_naming_data(base->data.mnist, base->task.dev_images,
                                        static_cast<uint64_t>(base->task.seed));
  // The senses develop once, on the frozen base: both runs start from the same occipital.
  auto frozen_ov = overrides;
  frozen_ov.push_back("region.retina.lora_rank=0");
  const fs::path senses = develop_once(file, frozen_ov, dir, data0);
  const std::vector<Variant> variants = {
      {"frozen", {"region.retina.lora_rank=0"}},
      {"lora", {"region.retina.lora_rank=" + std::to_string(lora_rank)}}};
  nlohmann::json j = {{"episodes", o.episodes}, {"seeds", o.seeds}, {"pretrained", pretrained},
                      {"lora_rank", lora_rank}};
  double gain = 0;
  for (int64_t seed = 1; seed <= o.seeds; ++seed) {
    const auto data = brain::reorder_stream(data0, static_cast<uint64_t>(seed));
    std::map<std::string, brain::NamingResult> runs;
    for (const auto& v : variants) {
      const fs::path state = dir / (v.name + "-" + std::to_string(seed));
      runs[v.name] = run_variant(file, overrides, v, state, senses, data, o.episodes, false);
      const auto& r = runs[v.name];
      log_info("bench lora: seed {} {}: accuracy over the last 500 {:.3f}, {:.1f} ticks/s", seed,
               v.name, r.accuracy_last_500, r.ticks_per_s);
      j[v.name]["accuracy_last_500"].push_back(r.accuracy_last_500);
      j[v.name]["episodes_to_80"].push_back(r.episodes_to_80);
      j[v.name]["ticks_per_s"].push_back(r.ticks_per_s);
    }
    const double points = 100.0 * (runs["lora"].accuracy_last_500 - runs["frozen"].accuracy_last_500);
    j["lora_minus_frozen_points"].push_back(points);
    gain += points / double(o.seeds);
    const fs::path adapters = dir / ("lora-" + std::to_string(seed)) / "retina.lora.safetensors";
    if (fs::exists(adapters))
      j["lora_steps"].push_back(
          SafeTensors::open(adapters.string()).tensor("lora_steps")[0].item<int64_t>());
    std::cout << "bench lora: seed " << seed << ": frozen " << std::fixed << std::setprecision(3)
              << runs["frozen"].accuracy_last_500 << ", LoRA " << runs["lora"].accuracy_last_500
              << " (" << std::showpos << std::setprecision(1) << points << std::noshowpos
              << " points); ticks/s " << runs["frozen"].ticks_per_s << " and "
              << runs["lora"].ticks_per_s << "\n";
  }
  j["mean_lora_minus_frozen_points"] = gain;
  return j;
}

}  // namespace elarin::cli
