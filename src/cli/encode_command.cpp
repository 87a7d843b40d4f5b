// `elarin encode`: placeholder until the HF loaders land in this session.
#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "elarin/core/errors.hpp"

namespace elarin::cli {

CommandRun setup_encode(CLI::App& app, const GlobalOptions& global) {
  return []() -> int { throw Error("encode: not built yet"); };
}

}  // namespace elarin::cli
