// `elarin brain`: builds the brain of configs/default.yaml (resuming its saved state, or
// growing and developing it), then runs the naming task: it shows digits, clothes, spoken
// and written words (task.stimuli), the brain answers with a name, and a critic
// (--headless) or a person (+/- on stdin) rewards it. --serve adds the dashboard (serve/brain_server).
// Ctrl+C finishes the episode, saves and exits. `elarin wipe` deletes the saved state.
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

#include "commands.hpp"
#include "elarin/brain/brain.hpp"
#include "elarin/brain/live_session.hpp"
#include "elarin/brain/naming_task.hpp"
#include "elarin/cli/app_config.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/regions/registry.hpp"
#include "serve/brain_server.hpp"

namespace elarin::cli {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }

}  // namespace

CommandRun setup_brain(CLI::App& app, const GlobalOptions& global) {
  struct Options {
    std::string config_file;
    std::vector<std::string> overrides;
    int64_t steps = -1;
    bool headless = false;
    bool json = false;
    bool print = false;
    bool serve = false;
    serve::BrainServeOptions http;
    std::string key_file;
    double speed = 0;
    bool paused = false;
  };
  auto o = std::make_shared<Options>();
  o->http.http.port = 8090;
  app.add_option("--config", o->config_file,
                 "brain config (default: configs/default.yaml if present)");
  app.add_option("--set", o->overrides, "override a key: --set region.basal_ganglia.bonus=0.3");
  app.add_option("--steps", o->steps, "episodes to run (default: task.steps)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 40));
  app.add_flag("--headless", o->headless,
               "a critic that knows the labels gives the reward (else: a person types +, -, enter, "
               "or words such as \"well done\" that the amygdala hears as praise or scolding)");
  app.add_flag("--print", o->print, "print every answer");
  app.add_flag("--json", o->json, "end stdout with one JSON object of the final metrics");
  app.add_flag("--serve", o->serve,
               "serve the dashboard and the Brain API while the brain runs (until Ctrl+C, or "
               "--steps); with --headless the critic rates and a person may add to it, without "
               "it a person alone teaches (docs/DASHBOARD.md)");
  app.add_option("--host", o->http.http.host,
                 "--serve: address to listen on; one other machines can reach needs --api-key "
                 "or --no-auth")
      ->capture_default_str();
  app.add_option("--port", o->http.http.port, "--serve: TCP port; 0 = any free port (printed)")
      ->capture_default_str();
  auto* key = app.add_option("--api-key", o->http.http.api_key,
                             "--serve: require 'Authorization: Bearer KEY' (or X-Api-Key) on "
                             "/brain/ (the page asks for it)");
  app.add_option("--api-key-file", o->key_file, "--serve: read the API key from this file")
      ->check(CLI::ExistingFile)
      ->excludes(key);
  app.add_flag("--no-auth", o->http.http.no_auth,
               "--serve: serve a non-loopback --host without a key, on purpose");
  app.add_option("--web", o->http.web_dir,
                 "--serve: the dashboard's files (default: the web/ elarin was built with)");
  app.add_option("--max-body", o->http.http.max_body_bytes,
                 "--serve: largest request body in bytes (413 above)")
      ->capture_default_str();
  app.add_option("--speed", o->speed,
                 "--serve: at most this many episodes per second (0 = as fast as it runs)")
      ->check(CLI::Range(0.0, 1e6));
  app.add_flag("--paused", o->paused, "--serve: start paused");
  return [o, &global]() {
    if (!o->key_file.empty()) {
      std::string k = read_file(o->key_file);
      k = k.substr(0, k.find('\n'));
      while (!k.empty() && (k.back() == '\r' || k.back() == ' ')) k.pop_back();
      if (k.empty()) throw UsageError("--api-key-file " + o->key_file + ": the file holds no key");
      o->http.http.api_key = k;
    }
    if (o->serve) {
      serve::check_brain_options(o->http);  // before the minutes a brain may take to grow
    }
    AppConfig cfg;
    cfg.load(default_brain_config(o->config_file), o->overrides, global);
    log_info("resolved config:\n{}", cfg.config.to_yaml());
    // Serving, the HTTP threads and a browser on this machine need a core: with the threads
    // left to elarin (runtime.threads 0, no --threads), the brain takes all but one. On 2 cores a
    // page open beside a 2-thread brain cost 30% of its ticks/s (docs/BENCHMARKS.md, session 19).
    if (o->serve && global.threads < 0 && cfg.runtime.threads == 0) {
      const int cores = static_cast<int>(std::thread::hardware_concurrency());
      if (cores > 1) {
        at::set_num_threads(cores - 1);
        log_info("--serve: the brain computes on {} threads, one core left for serving", cores - 1);
      }
    }
    const auto& task = cfg.task;
    brain::Brain brain(cfg.brain);
    const auto fresh = brain.load_or_initialise();
    if (!fresh.empty()) {
      std::string names;
      for (const auto& f : fresh) names += (names.empty() ? "" : ", ") + f;
      log_info("neurogenesis: {} (no saved state in {})", names, brain.config().state_dir);
    } else {
      log_info("resumed from {} at tick {}", brain.config().state_dir, brain.ticks());
    }
    const auto data = naming_task_data(cfg);
    if (!brain::develop_senses(brain, data, fresh, static_cast<uint64_t>(brain.config().seed))
             .empty())
      brain.save();
    brain::NamingResult r;
    if (o->serve) {
      brain::LiveOptions lo;
      lo.critic = o->headless;
      lo.episodes_per_s = o->speed;
      lo.paused = o->paused;
      lo.save_every_s = brain.config().save_every_s;
      brain::LiveSession session(brain, data, lo);
      r = serve::serve_brain(o->http, session, o->steps > 0 ? o->steps : 0);
    } else {
      brain::NamingOptions no;
      no.steps = o->steps > 0 ? o->steps : task.steps;
      no.headless = o->headless;
      no.save_every_s = brain.config().save_every_s;
      no.print_answers = o->print;
      no.stop = &g_stop;
      no.input = &std::cin;
      g_stop.store(false);
      auto old_int = std::signal(SIGINT, on_signal);
      auto old_term = std::signal(SIGTERM, on_signal);
      try {
        r = brain::run_naming(brain, data, no);
      } catch (...) {
        std::signal(SIGINT, old_int);
        std::signal(SIGTERM, old_term);
        throw;
      }
      std::signal(SIGINT, old_int);
      std::signal(SIGTERM, old_term);
    }
    brain.save();
    // How big each region is: the values its saved state holds (weights and memories). In one
    // process only: over ZeroMQ a large memory would not fit in one bus message.
    std::map<std::string, int64_t> sizes;
    std::string size_line;
    if (!brain.bus())
      for (const auto& name : brain.order()) {
        int64_t n = 0;
        for (const auto& [key, t] : brain.region(name).state()) n += t.numel();
        sizes[name] = n;
        size_line +=
            fmt::format("{}{} {:.3g}M", size_line.empty() ? "" : ", ", name, double(n) / 1e6);
      }
    if (!size_line.empty()) log_info("state values per region: {}", size_line);
    if (g_stop.load())
      log_info("stopped after {} episodes; state saved in {}", r.episodes,
               brain.config().state_dir);
    std::cout << "brain: " << r.episodes << " episodes, accuracy over the last 500 "
              << r.accuracy_last_500 << ", episodes to 80% " << r.episodes_to_80 << ", "
              << r.ticks_per_s << " ticks/s\n";
    for (const auto& [kind, acc] : r.accuracy_by_sense)
      std::cout << "  " << kind << ": accuracy over its last 500 " << acc << "\n";
    for (const auto& [cue, acc] : r.accuracy_by_cue)
      std::cout << "  cue " << cue << ": accuracy over its last 500 trials " << acc << "\n";
    if (o->json)
      std::cout << nlohmann::json{{"episodes", r.episodes},
                                  {"reward_rate_last_500", r.reward_rate_last_500},
                                  {"accuracy_last_500", r.accuracy_last_500},
                                  {"episodes_to_80", r.episodes_to_80},
                                  {"ticks_per_s", r.ticks_per_s},
                                  {"repetition_rate", r.repetition_rate},
                                  {"accuracy_by_sense", r.accuracy_by_sense},
                                  {"accuracy_by_cue", r.accuracy_by_cue},
                                  {"state_values_by_region", sizes},
                                  {"seconds", r.seconds},
                                  {"ticks", brain.ticks()},
                                  {"state_dir", brain.config().state_dir}}
                       .dump()
                << "\n";
    return 0;
  };
}

CommandRun setup_wipe(CLI::App& app, const GlobalOptions& global) {
  struct Options {
    std::string config_file;
    std::vector<std::string> overrides;
    bool yes = false;
  };
  auto o = std::make_shared<Options>();
  app.add_option("--config", o->config_file,
                 "brain config (default: configs/default.yaml if present)");
  app.add_option("--set", o->overrides, "override a key: --set brain.state_dir=state2");
  app.add_flag("-y,--yes", o->yes, "do not ask");
  return [o, &global]() {
    AppConfig cfg;
    cfg.load(default_brain_config(o->config_file), o->overrides, global);
    const fs::path dir = cfg.brain.brain.state_dir;
    if (!fs::exists(dir)) {
      std::cout << "wipe: " << dir.string() << " does not exist; nothing to delete\n";
      return 0;
    }
    if (!fs::is_directory(dir))
      throw UsageError("wipe: brain.state_dir '" + dir.string() + "' is not a directory");
    std::vector<fs::path> entries;
    for (const auto& e : fs::directory_iterator(dir)) entries.push_back(e.path());
    if (!o->yes) {
      std::cout << "delete " << entries.size() << " entries in " << dir.string() << "? [y/N] "
                << std::flush;
      std::string line;
      if (!std::getline(std::cin, line) || (line != "y" && line != "Y" && line != "yes")) {
        std::cout << "wipe: nothing deleted\n";
        return 1;
      }
    }
    for (const auto& p : entries) fs::remove_all(p);
    std::cout << "wipe: deleted " << entries.size() << " entries in " << dir.string() << "\n";
    return 0;
  };
}

}  // namespace elarin::cli
