// Ollama's API on the engine: /api/generate and /api/chat (NDJSON streaming by default; the last
// object carries done_reason and the timings in nanoseconds), /api/embed (and the older
// /api/embeddings), /api/tags, /api/show, /api/ps, /api/version and GET /. Sampling defaults are
// Ollama's (temperature 0.8, top_k 40, top_p 0.9). Errors are {"error": "..."}. Leaves out
// images, tools, `format` (JSON mode) and model management (pull, create, delete).
#include <random>
#include <set>

#include "elarin/core/errors.hpp"
#include "http.hpp"

namespace elarin::serve {
namespace {

using json = nlohmann::json;

// Ollama calls a model "name:tag".
std::string tagged(const std::string& name) {
  return name.find(':') == std::string::npos ? name + ":latest" : name;
}

// The options object: temperature, top_k, top_p, seed, num_predict, stop, num_ctx.
GenerationParams read_options(const json& j, const Service& s) {
  GenerationParams g;
  g.sampling.temperature = 0.8;
  g.sampling.top_k = 40;
  g.sampling.top_p = 0.9;
  g.sampling.seed = std::random_device{}();
  const auto it = j.find("options");
  if (it == j.end() || it->is_null()) return g;
  if (!it->is_object()) throw field_error("options", "'options' must be an object");
  const json& o = *it;
  g.sampling.temperature = number_field(o, "temperature", 0, 100).value_or(0.8);
  g.sampling.top_k = int_field(o, "top_k", 0, INT64_MAX).value_or(40);
  g.sampling.top_p = number_field(o, "top_p", 0, 1).value_or(0.9);
  if (const auto seed = int_field(o, "seed", INT64_MIN, INT64_MAX))
    g.sampling.seed = static_cast<uint64_t>(*seed);
  // num_predict: -1 = no limit, -2 = fill the context (both: until the context is full).
  const auto n = int_field(o, "num_predict", -2, INT64_MAX).value_or(-1);
  if (n > s.engine->context())
    throw field_error("num_predict", "'num_predict' is " + std::to_string(n) +
                                         ", more than the context of " +
                                         std::to_string(s.engine->context()) + " tokens");
  g.max_tokens = n == 0 ? 1 : (n < 0 ? -1 : n);
  g.stop = stop_field(o, "stop");
  if (const auto ctx = int_field(o, "num_ctx", 1, INT64_MAX); ctx && *ctx > s.engine->context())
    throw field_error("num_ctx", "'num_ctx' is " + std::to_string(*ctx) + ", this server runs a context of " +
                                     std::to_string(s.engine->context()) + " (elarin serve --ctx)");
  return g;
}

int64_t ns(double seconds) { return static_cast<int64_t>(seconds * 1e9); }

// The last object's statistics.
void add_timings(json* out, const Finish& f) {
  (*out)["done_reason"] = f.reason;
  (*out)["total_duration"] = ns(f.total_s);
  (*out)["load_duration"] = ns(f.queue_s);  // the model is loaded at start: waiting for a slot
  (*out)["prompt_eval_count"] = f.prompt_tokens;
  (*out)["prompt_eval_duration"] = ns(f.prompt_s);
  (*out)["eval_count"] = f.completion_tokens;
  (*out)["eval_duration"] = ns(f.eval_s);
}

std::string ndjson(const json& j) { return dump(j) + "\n"; }

// Answers a generation in Ollama's way: one object, or NDJSON frames made by `frame`.
void answer(Service& s, httplib::Response& res, std::shared_ptr<Job> job, bool stream,
            std::function<json(const std::string& text, bool done)> frame,
            std::function<void(json*)> extra_final = {}) {
  const auto final_object = [frame, extra_final](const Finish& f, const std::string& text) {
    json out = frame(text, true);
    add_timings(&out, f);
    if (extra_final) extra_final(&out);
    return out;
  };
  if (!stream) {
    const Finish f = job->wait();
    if (f.reason != "stop" && f.reason != "length") throw job_error(f);
    send_json(res, 200, final_object(f, valid_text(job->text())));
    return;
  }
  stream_job(
      res, "application/x-ndjson", job,
      [frame](const Delta& d) { return ndjson(frame(valid_text(d.text), false)); },
      [final_object](const Finish& f) {
        if (f.reason != "stop" && f.reason != "length")
          return ndjson(error_json(Dialect::kOllama, job_error(f)));
        return ndjson(final_object(f, ""));
      },
      "");
}

void generate(Service& s, const httplib::Request& req, httplib::Response& res) {
  const json j = parse_body(req.body);
  const std::string model = string_field(j, "model").value_or("");
  if (model.empty()) throw field_error("model", "'model' is required");
  s.check_model(model);
  const bool stream = bool_field(j, "stream").value_or(true);  // Ollama streams unless told not to
  const std::string prompt = string_field(j, "prompt").value_or("");
  const auto system = string_field(j, "system");
  const bool raw = bool_field(j, "raw").value_or(false);
  if (const auto images = j.find("images"); images != j.end() && !images->is_null() && !images->empty())
    throw field_error("images", "this model reads text only: 'images' cannot be used");
  GenerationParams g = read_options(j, s);
  const std::string name = tagged(s.name);
  if (prompt.empty() && !j.contains("context")) {
    // Ollama's way to load a model: an empty prompt answers at once.
    send_json(res, 200, {{"model", name}, {"created_at", rfc3339_now()}, {"response", ""},
                         {"done", true}, {"done_reason", "load"}});
    return;
  }
  std::vector<int64_t> ids;
  if (const auto ctx = j.find("context"); ctx != j.end() && !ctx->is_null()) {
    if (!ctx->is_array()) throw field_error("context", "'context' must be an array of token ids");
    for (const auto& t : *ctx) {
      if (!t.is_number_integer()) throw field_error("context", "'context' must be an array of token ids");
      ids.push_back(t.get<int64_t>());
    }
  }
  if (raw || !s.model.chat) {
    const auto p = ids.empty() ? s.model.encode_prompt(prompt) : s.model.tokenizer->encode(prompt);
    ids.insert(ids.end(), p.begin(), p.end());
  } else {
    auto messages = nlohmann::ordered_json::array();
    if (system) messages.push_back({{"role", "system"}, {"content", *system}});
    messages.push_back({{"role", "user"}, {"content", prompt}});
    const auto p = s.model.encode_chat(s.model.chat_template().render(messages, true));
    ids.insert(ids.end(), p.begin(), p.end());
  }
  auto job = s.engine->submit(ids, g);
  answer(s, res, job, stream,
         [name](const std::string& text, bool done) {
           return json{{"model", name}, {"created_at", rfc3339_now()}, {"response", text}, {"done", done}};
         },
         [ids, job](json* out) {
           // context: the conversation's ids so far, for the next /api/generate.
           std::vector<int64_t> ctx = ids;
           for (const auto& t : job->tokens()) ctx.push_back(t.id);
           (*out)["context"] = ctx;
         });
}

void chat(Service& s, const httplib::Request& req, httplib::Response& res) {
  const json j = parse_body(req.body);
  const std::string model = string_field(j, "model").value_or("");
  if (model.empty()) throw field_error("model", "'model' is required");
  s.check_model(model);
  const bool stream = bool_field(j, "stream").value_or(true);
  const auto it = j.find("messages");
  if (it == j.end() || !it->is_array())
    throw field_error("messages", "'messages' must be an array of messages");
  static const std::set<std::string> roles = {"system", "user", "assistant", "tool"};
  auto messages = nlohmann::ordered_json::array();
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& m = (*it)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw field_error(where, "'" + where + "' must be an object");
    const auto role = string_field(m, "role");
    if (!role) throw field_error(where + ".role", "'" + where + ".role' is missing");
    if (!roles.count(*role))
      throw field_error(where + ".role", "'" + where + ".role' is '" + *role +
                                             "', expected system, user, assistant or tool");
    const auto content = string_field(m, "content").value_or("");
    if (const auto images = m.find("images"); images != m.end() && !images->is_null() && !images->empty())
      throw field_error(where + ".images", "this model reads text only: 'images' cannot be used");
    messages.push_back({{"role", *role}, {"content", content}});
  }
  GenerationParams g = read_options(j, s);
  const std::string name = tagged(s.name);
  if (messages.empty()) {
    send_json(res, 200, {{"model", name}, {"created_at", rfc3339_now()},
                         {"message", {{"role", "assistant"}, {"content", ""}}}, {"done", true},
                         {"done_reason", "load"}});
    return;
  }
  const auto ids = s.model.encode_chat(s.model.chat_template().render(messages, true));
  auto job = s.engine->submit(ids, g);
  answer(s, res, job, stream, [name](const std::string& text, bool done) {
    return json{{"model", name}, {"created_at", rfc3339_now()},
                {"message", {{"role", "assistant"}, {"content", text}}}, {"done", done}};
  });
}

// The inputs of /api/embed: a string or an array of strings, cut to the context when truncate.
std::vector<std::vector<int64_t>> embed_inputs(const Service& s, const json& input, bool truncate) {
  std::vector<std::string> texts;
  if (input.is_string()) {
    texts.push_back(input.get<std::string>());
  } else if (input.is_array()) {
    for (const auto& x : input) {
      if (!x.is_string()) throw field_error("input", "'input' must be a string or an array of strings");
      texts.push_back(x.get<std::string>());
    }
  } else {
    throw field_error("input", "'input' must be a string or an array of strings");
  }
  std::vector<std::vector<int64_t>> out;
  for (const auto& t : texts) {
    auto ids = s.model.encode_prompt(t);
    if (ids.empty()) throw field_error("input", "'input' holds an empty text");
    if (truncate && static_cast<int64_t>(ids.size()) > s.engine->context())
      ids.resize(static_cast<size_t>(s.engine->context()));
    out.push_back(std::move(ids));
  }
  return out;
}

json details(const Service& s) {
  char size[32];
  const double p = static_cast<double>(s.parameters);
  if (p >= 1e9)
    std::snprintf(size, sizeof size, "%.1fB", p / 1e9);
  else
    std::snprintf(size, sizeof size, "%.0fM", p / 1e6);
  const std::string family = s.model.hf ? s.model.hf->info().tokenizer_class : "elara";
  return {{"parent_model", ""}, {"format", "safetensors"}, {"family", family},
          {"families", json::array({family})}, {"parameter_size", size},
          {"quantization_level", "F32"}};
}

std::string modified_at(const Service& s) { return rfc3339(s.modified); }

}  // namespace

void add_ollama_routes(httplib::Server& svr, Service& s) {
  const auto route = [&](Handler h) { return guarded(Dialect::kOllama, std::move(h)); };
  svr.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("Ollama is running", "text/plain; charset=utf-8");
  });
  svr.Post("/api/generate", route([&s](const auto& req, auto& res) { generate(s, req, res); }));
  svr.Post("/api/chat", route([&s](const auto& req, auto& res) { chat(s, req, res); }));
  svr.Post("/api/embed", route([&s](const httplib::Request& req, httplib::Response& res) {
    const json j = parse_body(req.body);
    const std::string model = string_field(j, "model").value_or("");
    if (model.empty()) throw field_error("model", "'model' is required");
    s.check_model(model);
    const auto it = j.find("input");
    if (it == j.end() || it->is_null()) throw field_error("input", "'input' is missing");
    const auto t0 = std::chrono::steady_clock::now();
    json embeddings = json::array();
    int64_t tokens = 0;
    for (const Finish& f : embed_all(*s.engine, embed_inputs(s, *it, bool_field(j, "truncate").value_or(true)))) {
      tokens += f.prompt_tokens;
      embeddings.push_back(f.embedding);
    }
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    send_json(res, 200, {{"model", tagged(s.name)}, {"embeddings", embeddings},
                         {"total_duration", static_cast<int64_t>(total * 1e9)},
                         {"load_duration", 0}, {"prompt_eval_count", tokens}});
  }));
  // The older single-text form.
  svr.Post("/api/embeddings", route([&s](const httplib::Request& req, httplib::Response& res) {
    const json j = parse_body(req.body);
    s.check_model(string_field(j, "model").value_or(""));
    const auto prompt = string_field(j, "prompt");
    if (!prompt) throw field_error("prompt", "'prompt' is missing");
    const auto f = embed_all(*s.engine, embed_inputs(s, json(*prompt), true));
    send_json(res, 200, {{"embedding", f.at(0).embedding}});
  }));
  svr.Get("/api/tags", route([&s](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"models", json::array({{{"name", tagged(s.name)}, {"model", tagged(s.name)},
                                                 {"modified_at", modified_at(s)},
                                                 {"size", s.weight_bytes},
                                                 {"digest", ""}, {"details", details(s)}}})}});
  }));
  svr.Get("/api/ps", route([&s](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"models", json::array({{{"name", tagged(s.name)}, {"model", tagged(s.name)},
                                                 {"size", s.weight_bytes + s.engine->cache_bytes()},
                                                 {"digest", ""}, {"details", details(s)},
                                                 {"expires_at", "2318-01-01T00:00:00Z"},
                                                 {"size_vram", 0},
                                                 {"context_length", s.engine->context()}}})}});
  }));
  svr.Post("/api/show", route([&s](const httplib::Request& req, httplib::Response& res) {
    const json j = parse_body(req.body);
    std::string model = string_field(j, "model").value_or("");
    if (model.empty()) model = string_field(j, "name").value_or("");
    if (model.empty()) throw field_error("model", "'model' is required");
    s.check_model(model);
    const auto& c = s.model.lm->config();
    const std::string arch = "elara";
    json info = {{"general.architecture", arch},
                 {"general.parameter_count", s.parameters},
                 {arch + ".context_length", c.block_size},
                 {arch + ".embedding_length", c.n_embd},
                 {arch + ".block_count", c.n_layer},
                 {arch + ".attention.head_count", c.n_head},
                 {arch + ".attention.head_count_kv", c.kv_heads()},
                 {arch + ".vocab_size", c.vocab_size}};
    const std::string tmpl = s.model.hf && s.model.hf->info().chat_template
                                 ? *s.model.hf->info().chat_template
                                 : "";
    send_json(res, 200, {{"modelfile", "# served by elarin from " + s.model.path + "\nFROM " + s.model.path + "\n"},
                         {"parameters", "temperature 0.8\ntop_k 40\ntop_p 0.9"},
                         {"template", tmpl},
                         {"details", details(s)},
                         {"model_info", info},
                         {"capabilities", json::array({"completion", "embedding"})},
                         {"modified_at", modified_at(s)}});
  }));
  svr.Get("/api/version", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"version", ELARIN_VERSION}});
  });
}

}  // namespace elarin::serve
