// `elarin chat`: an interactive terminal chat with a model (a Hugging Face directory or an
// `elarin train lm` run). The conversation is rendered with the model's chat template each
// turn; the decoder's cache keeps the part the turns share. Answers stream as their tokens
// come; Ctrl+C stops the current answer (not the program); /reset, /save FILE, /exit. Reads
// lines from any stdin, so a pipe works too. With --url it talks to a running `elarin serve`
// (or any OpenAI-compatible server) instead. Leaves out line editing (no readline).
#include <poll.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>

#include "commands.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/data/token_stream.hpp"
#include "elarin/models/elara/decoder.hpp"
#include "elarin/models/elara/generate.hpp"
#include "serve/openai_client.hpp"
#include "text_model.hpp"

namespace elarin::cli {
namespace {

std::atomic<bool> g_interrupted{false};

void on_sigint(int) { g_interrupted = true; }

struct ChatOptions {
  std::string model;
  std::string url;
  std::string api_key;
  std::string system;
  std::string chat_template;
  models::GenerateOptions gen;
};

const char* const kHelp =
    "commands: /reset (forget the conversation), /save FILE (write it as JSON), /exit; "
    "Ctrl+C stops an answer, Ctrl+D quits\n";

// One line of stdin without its newline; false at end of input. A Ctrl+C while waiting
// abandons the line (and says how to quit) instead of ending the program. stdin is polled in
// short slices so that a Ctrl+C landing just before a read is still seen.
bool read_line(std::string* line) {
  line->clear();
  for (;;) {
    if (g_interrupted.exchange(false)) {
      line->clear();
      std::cout << "\n(Ctrl+D or /exit quits)\n> " << std::flush;
    }
    pollfd p{STDIN_FILENO, POLLIN, 0};
    const int ready = ::poll(&p, 1, 100);
    if (ready == 0 || (ready < 0 && errno == EINTR)) continue;
    if (ready < 0) return false;
    char c;
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n == 1) {
      if (c == '\n') return true;
      line->push_back(c);
    } else if (n == 0) {
      return !line->empty();
    } else if (errno != EINTR) {
      return false;
    }
  }
}

}  // namespace

CommandRun setup_chat(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<ChatOptions>();
  o->gen.max_new_tokens = 512;
  o->gen.temperature = 0.7;
  app.add_option("--model", o->model,
                 "Hugging Face model directory (tokenizer.json, config.json, model.safetensors) "
                 "or the model.safetensors of an `elarin train lm` run; with --url, the "
                 "server's model name (default: the first it lists)");
  app.add_option("--url", o->url,
                 "talk to a running server instead: `elarin serve` or any OpenAI-compatible "
                 "API, http://HOST:PORT[/v1]");
  app.add_option("--api-key", o->api_key, "the server's API key (with --url)");
  app.add_option("--system", o->system, "a system message opening the conversation");
  app.add_option("--chat-template", o->chat_template,
                 "a Jinja chat template file instead of the model's")
      ->check(CLI::ExistingFile);
  add_sampling_options(app, &o->gen);  // turn n samples with seed + n
  return [o]() {
    if (o->model.empty() && o->url.empty())
      throw UsageError("chat: give --model DIR|RUN.safetensors, or --url http://HOST:PORT of a server");
    if (!o->url.empty() && !o->chat_template.empty())
      throw UsageError("chat: --chat-template applies to a local --model; a server renders its own");
    // answer(messages, gen, on_text): streams one answer; on_text returns false to stop it.
    using OnText = std::function<bool(const std::string&)>;
    std::function<void(const nlohmann::ordered_json&, const models::GenerateOptions&, const OnText&)>
        answer;
    std::string origin;
    std::unique_ptr<serve::OpenAIChatClient> remote;
    std::optional<TextModel> m;
    std::optional<models::ElaraDecoder> decoder;
    std::vector<int64_t> cached;
    if (!o->url.empty()) {
      remote = std::make_unique<serve::OpenAIChatClient>(o->url, o->api_key, o->model);
      origin = o->url + " (model: " + remote->model() + ")";
      answer = [&](const nlohmann::ordered_json& messages, const models::GenerateOptions& gen,
                   const OnText& on_text) { remote->stream(messages, gen, on_text); };
    } else {
      m = load_text_model(o->model, o->chat_template, /*with_weights=*/true);
      decoder.emplace(m->lm);
      origin = o->model + " (template: " + m->chat_template().origin() + ")";
      answer = [&](const nlohmann::ordered_json& messages, const models::GenerateOptions& gen,
                   const OnText& on_text) {
        const auto prompt = m->encode_chat(m->chat_template().render(messages, true));
        TokenStream stream(m->tokenizer);
        models::generate_stream(*decoder, &cached, prompt, gen, m->stop_ids, [&](int64_t id) {
          return on_text(m->is_special(id) ? std::string() : stream.push(id));
        });
        on_text(stream.finish());
      };
    }
    const bool tty = ::isatty(STDIN_FILENO);
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a Ctrl+C interrupts the read of a line
    struct sigaction old {};
    sigaction(SIGINT, &sa, &old);

    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    const auto reset = [&] {
      messages = nlohmann::ordered_json::array();
      if (!o->system.empty()) messages.push_back({{"role", "system"}, {"content", o->system}});
    };
    reset();
    std::cerr << "chat with " << origin << ". " << kHelp;
    uint64_t turn = 0;
    for (;;) {
      std::cout << "> " << std::flush;
      std::string line;
      if (!read_line(&line)) break;
      if (line.empty()) continue;
      if (line == "/exit" || line == "/quit") break;
      if (line == "/help") {
        std::cout << kHelp;
        continue;
      }
      if (line == "/reset") {
        reset();
        std::cout << "(conversation cleared)\n";
        continue;
      }
      if (line.rfind("/save", 0) == 0) {
        const std::string path = line.size() > 6 ? line.substr(6) : "";
        if (path.empty()) {
          std::cout << "usage: /save FILE\n";
          continue;
        }
        try {
          write_file_atomic(path, nlohmann::ordered_json{{"messages", messages}}.dump(2) + "\n");
          std::cout << "(saved " << messages.size() << " messages to " << path << ")\n";
        } catch (const Error& e) {
          std::cout << "cannot save: " << e.what() << "\n";
        }
        continue;
      }
      if (line[0] == '/' && line.find(' ') == std::string::npos) {
        std::cout << "unknown command " << line << "; " << kHelp;
        continue;
      }
      messages.push_back({{"role", "user"}, {"content", line}});
      models::GenerateOptions gen = o->gen;
      gen.seed = o->gen.seed + turn++;
      g_interrupted = false;
      std::string text;
      try {
        answer(messages, gen, [&](const std::string& piece) {
          std::cout << piece << std::flush;
          text += piece;
          return !g_interrupted.load();
        });
      } catch (const Error& e) {
        // The template refused the conversation, it no longer fits, or the server failed.
        messages.erase(messages.size() - 1);
        std::cout << e.what() << "\n";
        continue;
      }
      if (g_interrupted.exchange(false)) std::cout << " [stopped]";
      std::cout << "\n" << std::flush;
      messages.push_back({{"role", "assistant"}, {"content", text}});
    }
    if (tty) std::cout << "\n";
    sigaction(SIGINT, &old, nullptr);
    return 0;
  };
}

}  // namespace elarin::cli
