// `elarin serve`: an OpenAI- and Ollama-compatible HTTP server for a model elarin runs. Loads
// the model, listens, prints "listening on http://HOST:PORT" on stdout and serves until SIGINT
// or SIGTERM. UsageError for options that contradict (a non-loopback host without a key and
// without --no-auth). Internal to src/serve and the CLI.
#pragma once

#include "service.hpp"

namespace elarin::serve {

int run_server(const ServeOptions& opts);

}  // namespace elarin::serve
