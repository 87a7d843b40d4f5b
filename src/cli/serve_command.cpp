// `elarin serve --model PATH`: the HTTP API (src/serve/). This file reads the flags and the key.
#include <CLI/CLI.hpp>

#include <memory>

#include "commands.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"
#include "serve/server.hpp"
#include "text_model.hpp"

namespace elarin::cli {

CommandRun setup_serve(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<serve::ServeOptions>();
  auto key_file = std::make_shared<std::string>();
  app.add_option("--model", o->model,
                 "Hugging Face model directory (tokenizer.json, config.json, model.safetensors) "
                 "or the model.safetensors of an `elarin train lm` run")
      ->required();
  app.add_option("--host", o->http.host,
                 "address to listen on; one other machines can reach needs --api-key or --no-auth")
      ->capture_default_str();
  app.add_option("--port", o->http.port, "TCP port; 0 = any free port (printed)")
      ->capture_default_str();
  auto* key = app.add_option("--api-key", o->http.api_key,
                             "require 'Authorization: Bearer KEY' (or X-Api-Key) on every route "
                             "but /health, /v1/models, /api/tags and /");
  app.add_option("--api-key-file", *key_file, "read the API key from this file (first line)")
      ->check(CLI::ExistingFile)
      ->excludes(key);
  app.add_flag("--no-auth", o->http.no_auth, "serve a non-loopback --host without a key, on purpose");
  app.add_option("--parallel", o->engine.parallel,
                 "slots: requests decoded together in one batched forward")
      ->capture_default_str();
  app.add_option("--queue", o->engine.queue,
                 "requests that may wait for a slot; more get 503")
      ->capture_default_str();
  app.add_option("--ctx", o->engine.ctx,
                 "context per slot in tokens (prompt + answer); 0 = min(model context, 4096)")
      ->capture_default_str();
  app.add_option("--alias", o->alias,
                 "the model's name in the APIs (default: the directory's name)");
  app.add_option("--chat-template", o->chat_template, "a Jinja chat template file instead of the model's")
      ->check(CLI::ExistingFile);
  app.add_option("--max-body", o->http.max_body_bytes, "largest request body in bytes (413 above)")
      ->capture_default_str();
  return [o, key_file]() {
    if (!key_file->empty()) {
      std::string k = read_file(*key_file);
      k = k.substr(0, k.find('\n'));
      while (!k.empty() && (k.back() == '\r' || k.back() == ' ')) k.pop_back();
      if (k.empty()) throw UsageError("--api-key-file " + *key_file + ": the file holds no key");
      o->http.api_key = k;
    }
    serve::check_options(*o);  // before the minutes a large model may take to load
    return serve::run_server(*o, load_text_model(o->model, o->chat_template, /*with_weights=*/true));
  };
}

}  // namespace elarin::cli
