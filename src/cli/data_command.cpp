// `elarin data`: placeholder until the dataset loaders land in this session.
#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "elarin/core/errors.hpp"

namespace elarin::cli {

CommandRun setup_data(CLI::App& app, const GlobalOptions& global) {
  return []() -> int { throw Error("data: not built yet"); };
}

}  // namespace elarin::cli
