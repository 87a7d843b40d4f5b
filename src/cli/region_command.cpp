// `elarin region NAME --bus tcp://HOST:PORT`: one region of the brain as its own process on
// the ZeroMQ bus. `elarin brain` with brain.transport=zmq starts these itself (and restarts
// one that dies); with brain.spawn_regions=false a person starts them, on this host or another.
// Ctrl+C or SIGTERM ends it; the brain saves the region's file before it stops it.
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <iostream>

#include "brain/region_service.hpp"
#include "commands.hpp"
#include "elarin/cli/app_config.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/find_named.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/regions/registry.hpp"

namespace elarin::cli {
namespace {

std::atomic<bool> g_region_stop{false};
void on_region_signal(int) { g_region_stop.store(true); }

}  // namespace

CommandRun setup_region(CLI::App& app, const GlobalOptions& global) {
  struct Options {
    std::string name;
    std::string config_file;
    std::vector<std::string> overrides;
    std::string bus;
  };
  auto o = std::make_shared<Options>();
  app.add_option("name", o->name,
                 "the region to serve: " + join_names(names_of(regions::region_table())))
      ->required();
  app.add_option("--config", o->config_file,
                 "brain config (default: configs/default.yaml if present)");
  app.add_option("--set", o->overrides, "override a key: --set region.thalamus.min_gain=0.1");
  app.add_option("--bus", o->bus, "the corpus callosum's address, e.g. tcp://127.0.0.1:5555")
      ->required();
  return [o, &global]() {
    AppConfig cfg;
    cfg.load(default_brain_config(o->config_file), o->overrides, global);
    const auto& kind = brain::find_region_kind(cfg.brain.table(), o->name);
    auto region = kind.make(cfg.brain.settings(o->name), brain::brain_facts(cfg.brain.brain));
    g_region_stop.store(false);
    auto old_int = std::signal(SIGINT, on_region_signal);
    auto old_term = std::signal(SIGTERM, on_region_signal);
    log_info("region {}: serving on {}", o->name, o->bus);
    brain::BusStats stats;
    try {
      stats = brain::serve_region(*region, o->bus, &g_region_stop);
    } catch (const std::exception& e) {
      std::signal(SIGINT, old_int);
      std::signal(SIGTERM, old_term);
      throw Error("region " + o->name + " on " + o->bus + ": " + e.what());
    }
    std::signal(SIGINT, old_int);
    std::signal(SIGTERM, old_term);
    log_info("region {}: {} messages served, {} malformed dropped", o->name, stats.received,
             stats.rejected);
    return 0;
  };
}

}  // namespace elarin::cli
