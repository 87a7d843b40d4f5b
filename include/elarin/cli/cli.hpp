// Command-line entry point and the subcommand table.
//
//   char program[] = "elarin", flag[] = "--version";
//   char* argv[] = {program, flag};
//   int code = elarin::run_cli(2, argv);  // 0 ok, 1 runtime error, 2 usage error
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace elarin {

// Options every subcommand sees (set before the subcommand runs).
struct GlobalOptions {
  int threads = -1;                    // --threads; -1 = not given: runtime.threads decides
  bool quiet = false;                  // no progress bars or info lines on stderr
  std::vector<std::string> overrides;  // --set before the subcommand: applied first
};

// A subcommand: `setup` adds its options to `app` and returns the function that runs it
// (called once parsing succeeded). The function returns the process exit code.
using CommandRun = std::function<int()>;
struct CommandSpec {
  const char* name;
  const char* summary;
  CommandRun (*setup)(CLI::App& app, const GlobalOptions& global);
};

// The table of subcommands, in `--help` order (src/cli/commands.cpp).
const std::vector<CommandSpec>& command_table();

// Parses argv, runs the chosen subcommand, and maps exceptions to exit codes with a
// one-line message on stderr: UsageError/parse errors -> 2, everything else -> 1.
int run_cli(int argc, char** argv);

}  // namespace elarin
