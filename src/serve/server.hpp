// `elarin serve`: an OpenAI- and Ollama-compatible HTTP server for a model elarin runs (loaded
// by the CLI, with its weights). Listens, prints "listening on http://HOST:PORT" on stdout and serves until SIGINT
// or SIGTERM. UsageError for options that contradict (a non-loopback host without a key and
// without --no-auth). Internal to src/serve and the CLI.
#pragma once

#include "service.hpp"

namespace elarin::serve {

// UsageError for contradicting options (call before loading the model: fails fast).
void check_options(const ServeOptions& opts);
int run_server(const ServeOptions& opts, TextModel model);

}  // namespace elarin::serve
