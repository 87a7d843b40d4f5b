// `elarin chat`: an interactive terminal chat with a model (a Hugging Face directory or an
// `elarin train lm` run). The conversation is rendered with the model's chat template each
// turn; the decoder's cache keeps the part the turns share. Answers stream as their tokens
// come; Ctrl+C stops the current answer (not the program); /reset, /save FILE, /exit. Reads
// lines from any stdin, so a pipe works too. Leaves out line editing (no readline).
#include <poll.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/data/token_stream.hpp"
#include "elarin/models/elara/decoder.hpp"
#include "elarin/models/elara/generate.hpp"
#include "text_model.hpp"

namespace elarin::cli {
namespace {

std::atomic<bool> g_interrupted{false};

void on_sigint(int) { g_interrupted = true; }

struct ChatOptions {
  std::string model;
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
                 "or the model.safetensors of an `elarin train lm` run")
      ->required();
  app.add_option("--system", o->system, "a system message opening the conversation");
  app.add_option("--chat-template", o->chat_template,
                 "a Jinja chat template file instead of the model's")
      ->check(CLI::ExistingFile);
  add_sampling_options(app, &o->gen);  // turn n samples with seed + n
  return [o]() {
    TextModel m = load_text_model(o->model, o->chat_template, /*with_weights=*/true);
    const ChatTemplate& tmpl = m.chat_template();
    models::ElaraDecoder decoder(m.lm);
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
    std::vector<int64_t> cached;
    std::cerr << "chat with " << o->model << " (template: " << tmpl.origin() << "). " << kHelp;
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
      std::vector<int64_t> prompt;
      try {
        prompt = m.encode_chat(tmpl.render(messages, /*add_generation_prompt=*/true));
      } catch (const UsageError& e) {
        messages.erase(messages.size() - 1);
        std::cout << "the chat template refused the conversation: " << e.what() << "\n";
        continue;
      }
      models::GenerateOptions gen = o->gen;
      gen.seed = o->gen.seed + turn++;
      TokenStream stream(m.tokenizer);
      std::vector<int64_t> shown;
      g_interrupted = false;
      std::vector<int64_t> answer;
      try {
        answer =
            models::generate_stream(decoder, &cached, prompt, gen, m.stop_ids, [&](int64_t id) {
              if (!m.is_special(id)) {
                std::cout << stream.push(id) << std::flush;
                shown.push_back(id);
              }
              return !g_interrupted.load();
            });
      } catch (const UsageError& e) {
        messages.erase(messages.size() - 1);
        std::cout << e.what() << "\n";
        continue;
      }
      std::cout << stream.finish();
      if (g_interrupted.exchange(false)) std::cout << " [stopped]";
      std::cout << "\n" << std::flush;
      messages.push_back({{"role", "assistant"}, {"content", m.show(shown)}});
    }
    if (tty) std::cout << "\n";
    sigaction(SIGINT, &old, nullptr);
    return 0;
  };
}

}  // namespace elarin::cli
