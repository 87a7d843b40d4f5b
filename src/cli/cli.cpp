// `elarin` argument parsing, global options and the mapping of errors to exit codes.
#include "elarin/cli/cli.hpp"

#include <c10/util/Exception.h>
#include <CLI/CLI.hpp>

#include <iostream>

#include "elarin/cli/app_config.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/core/logging.hpp"
#include "elarin/core/runtime.hpp"

namespace elarin {
namespace {

// First line of a message: user-facing errors stay one line (LibTorch adds backtraces).
std::string first_line(const std::string& s) {
  size_t nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"elarin: modular, brain-inspired neural networks on LibTorch", "elarin"};
  app.option_defaults()->always_capture_default();
  app.get_formatter()->column_width(34);
  app.fallthrough();  // global options may follow the subcommand
  GlobalOptions global;
  bool show_version = false;
  app.add_flag("--version", show_version, "print version, LibTorch, BLAS, threads, CUDA and exit");
  app.add_option("--threads", global.threads,
                 "worker threads (0 = all cores); overrides runtime.threads")
      ->check(CLI::Range(0, 4096))
      ->default_str("runtime.threads");
  app.add_option("--set", global.overrides,
                 "override a config key for any command: --set runtime.threads=2 (repeatable)");
  app.add_flag("-q,--quiet", global.quiet, "no progress bars or info lines on stderr");

  std::vector<std::pair<CLI::App*, CommandRun>> commands;
  for (const auto& spec : command_table()) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.summary);
    commands.emplace_back(sub, spec.setup(*sub, global));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::cerr << "elarin: " << e.what() << " (see `elarin --help`)\n";
    return 2;
  }

  try {
    set_quiet(global.quiet);
    {
      // runtime.* as --set and --threads say; a command that reads a --config applies its
      // runtime.* again once that is loaded (AppConfig::load).
      AppConfig base;
      base.load("", {}, global);
    }
    if (show_version) {
      std::cout << version_text();
      return 0;
    }
    for (auto& [sub, run] : commands) {
      if (sub->parsed()) return run();
    }
    std::cerr << app.help();
    return 2;
  } catch (const UsageError& e) {
    std::cerr << "elarin: " << first_line(e.what()) << "\n";
    return 2;
  } catch (const Error& e) {
    std::cerr << "elarin: " << first_line(e.what()) << "\n";
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "elarin: " << first_line(e.what_without_backtrace()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "elarin: " << first_line(e.what()) << "\n";
    return 1;
  }
}

}  // namespace elarin
