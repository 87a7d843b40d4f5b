// `elarin config`: prints the resolved config, or the list of keys with their constraints and
// doc strings.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

#include "commands.hpp"
#include "elarin/cli/app_config.hpp"

namespace elarin::cli {

CommandRun setup_config(CLI::App& app, const GlobalOptions& global) {
  struct Options {
    std::string file;
    std::vector<std::string> overrides;
    bool keys = false;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  app.add_option("--config", o->file, "YAML config file")->check(CLI::ExistingFile);
  app.add_option("--set", o->overrides, "override a key: --set runtime.threads=2 (repeatable)");
  app.add_flag("--keys", o->keys,
               "list every key with its default, its constraint and its doc string");
  app.add_flag("--json", o->json, "print the resolved config as one JSON line");
  return [o, &global]() {
    AppConfig app;
    if (o->keys) {
      nlohmann::json flat = app.config.to_json().flatten();
      for (const auto& key : app.config.keys()) {
        std::string ptr = "/" + key;
        for (auto& c : ptr) c = c == '.' ? '/' : c;
        const std::string constraint = app.config.constraint(key);
        std::cout << key << " = " << flat[ptr].dump()
                  << (constraint.empty() ? "" : "  (" + constraint + ")") << "  # "
                  << app.config.help(key) << "\n";
      }
      return 0;
    }
    app.load(o->file, o->overrides, global);
    if (o->json) {
      std::cout << app.config.to_json().dump() << "\n";
    } else {
      std::cout << app.config.to_yaml();
    }
    return 0;
  };
}

}  // namespace elarin::cli
