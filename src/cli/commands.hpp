// Setup functions of the subcommands (one file each in src/cli/), for the table.
#pragma once

#include "elarin/cli/cli.hpp"

namespace elarin::cli {

CommandRun setup_config(CLI::App& app, const GlobalOptions& global);
CommandRun setup_encode(CLI::App& app, const GlobalOptions& global);
CommandRun setup_data(CLI::App& app, const GlobalOptions& global);
CommandRun setup_train(CLI::App& app, const GlobalOptions& global);
CommandRun setup_bench(CLI::App& app, const GlobalOptions& global);
CommandRun setup_sample(CLI::App& app, const GlobalOptions& global);
CommandRun setup_tokenize(CLI::App& app, const GlobalOptions& global);
CommandRun setup_chat(CLI::App& app, const GlobalOptions& global);
CommandRun setup_serve(CLI::App& app, const GlobalOptions& global);
CommandRun setup_verify(CLI::App& app, const GlobalOptions& global);
CommandRun setup_brain(CLI::App& app, const GlobalOptions& global);
CommandRun setup_wipe(CLI::App& app, const GlobalOptions& global);
CommandRun setup_region(CLI::App& app, const GlobalOptions& global);

// `train tokenizer` (src/cli/train_tokenizer.cpp): adds the subcommand under `train` and
// stores its run function in *run.
CLI::App* setup_train_tokenizer(CLI::App& train, const GlobalOptions& global, CommandRun* run);
// `train vision` (src/cli/train_vision.cpp): likewise.
CLI::App* setup_train_vision(CLI::App& train, const GlobalOptions& global, CommandRun* run);

}  // namespace elarin::cli
