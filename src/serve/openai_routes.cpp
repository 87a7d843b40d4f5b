// OpenAI's API on the engine: /v1/chat/completions, /v1/completions (one JSON object, or SSE
// chunks ending with `data: [DONE]`), /v1/embeddings, /v1/models. Fields follow OpenAI's
// reference; errors are {"error": {message, type, param, code}}. Leaves out n > 1, tools and
// response_format.
#include <random>
#include <set>

#include "elarin/core/base64.hpp"
#include "elarin/core/errors.hpp"
#include "http.hpp"

namespace elarin::serve {
namespace {

using json = nlohmann::json;

// The sampling and length fields chat and completions share.
struct Common {
  GenerationParams gen;
  bool stream = false;
  bool include_usage = false;
  bool logprobs = false;
};

Common read_common(const json& j, const Service& s, bool chat) {
  Common c;
  auto& g = c.gen;
  g.sampling.temperature = number_field(j, "temperature", 0, 2).value_or(1.0);
  g.sampling.top_p = number_field(j, "top_p", 0, 1).value_or(1.0);
  g.sampling.top_k = int_field(j, "top_k", 0, s.engine->vocab_size()).value_or(0);
  if (const auto seed = int_field(j, "seed", INT64_MIN, INT64_MAX))
    g.sampling.seed = static_cast<uint64_t>(*seed);
  else
    g.sampling.seed = std::random_device{}();
  const auto max_completion = int_field(j, "max_completion_tokens", 1, INT64_MAX);
  const auto max_tokens = int_field(j, "max_tokens", 1, INT64_MAX);
  g.max_tokens = max_completion.value_or(max_tokens.value_or(-1));
  if (g.max_tokens > s.engine->context())
    throw ApiError{400,
                   "'" + std::string(max_completion ? "max_completion_tokens" : "max_tokens") +
                       "' is " + std::to_string(g.max_tokens) + ", more than the context of " +
                       std::to_string(s.engine->context()) + " tokens",
                   "invalid_request_error",
                   max_completion ? "max_completion_tokens" : "max_tokens", ""};
  g.stop = stop_field(j, "stop");
  g.ignore_eos = bool_field(j, "ignore_eos").value_or(false);  // llama-server's extension
  if (const auto n = int_field(j, "n", 1, 128); n && *n != 1)
    throw field_error("n", "'n' is " + std::to_string(*n) + ": this server returns one choice (n = 1)");
  c.stream = bool_field(j, "stream").value_or(false);
  if (const auto it = j.find("stream_options"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) throw field_error("stream_options", "'stream_options' must be an object");
    c.include_usage = bool_field(*it, "include_usage").value_or(false);
  }
  if (chat) {
    c.logprobs = bool_field(j, "logprobs").value_or(false);
    const auto top = int_field(j, "top_logprobs", 0, 20);
    if (top && !c.logprobs)
      throw field_error("top_logprobs", "'top_logprobs' needs 'logprobs': true");
    g.sampling.top_logprobs = c.logprobs ? static_cast<int>(top.value_or(0)) : -1;
  } else {
    // Completions: "logprobs" is the number of alternatives (0..20; OpenAI allows 5).
    const auto n = int_field(j, "logprobs", 0, 20);
    c.logprobs = n.has_value();
    g.sampling.top_logprobs = n ? static_cast<int>(*n) : -1;
  }
  return c;
}

// A message's content as text: a string, or an array of {"type":"text","text":...} parts.
std::string content_text(const json& content, size_t i) {
  const std::string where = "messages[" + std::to_string(i) + "].content";
  if (content.is_null()) return "";
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array())
    throw field_error(where, "'" + where + "' must be a string or an array of text parts");
  std::string text;
  for (const auto& part : content) {
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
        !part["text"].is_string())
      throw field_error(where, "'" + where +
                                   "' holds a part this server cannot read (only {\"type\": "
                                   "\"text\", \"text\": ...} parts)");
    text += part["text"].get<std::string>();
  }
  return text;
}

// OpenAI messages -> the template's messages (role and text content), checked.
nlohmann::ordered_json chat_messages(const json& j) {
  const auto it = j.find("messages");
  if (it == j.end() || !it->is_array() || it->empty())
    throw field_error("messages", "'messages' must be a non-empty array of messages");
  static const std::set<std::string> roles = {"system", "developer", "user", "assistant", "tool"};
  auto out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& m = (*it)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw field_error(where, "'" + where + "' must be an object");
    const auto role = m.find("role");
    if (role == m.end() || !role->is_string())
      throw field_error(where + ".role", "'" + where + ".role' is missing");
    if (!roles.count(role->get<std::string>()))
      throw field_error(where + ".role", "'" + where + ".role' is '" + role->get<std::string>() +
                                             "', expected system, developer, user, assistant or tool");
    if (!m.contains("content") && role->get<std::string>() != "assistant")
      throw field_error(where + ".content", "'" + where + ".content' is missing");
    std::string r = role->get<std::string>();
    if (r == "developer") r = "system";  // what chat templates know
    out.push_back({{"role", r}, {"content", content_text(m.value("content", json()), i)}});
  }
  return out;
}

json usage_json(const Finish& f) {
  return {{"prompt_tokens", f.prompt_tokens},
          {"completion_tokens", f.completion_tokens},
          {"total_tokens", f.prompt_tokens + f.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", f.cached_tokens}}}};
}

// Chat's logprobs entries: {token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}.
json chat_logprobs(const Service& s, const std::vector<TokenOut>& tokens) {
  auto content = json::array();
  const auto entry = [&](int64_t id, float lp) {
    const std::string raw = s.model.tokenizer->decode({id});
    return json{{"token", valid_text(raw)}, {"logprob", lp}, {"bytes", bytes_array(raw)}};
  };
  for (const auto& t : tokens) {
    json e = entry(t.id, t.logprob);
    auto top = json::array();
    for (const auto& [id, lp] : t.top) top.push_back(entry(id, lp));
    e["top_logprobs"] = top;
    content.push_back(e);
  }
  return {{"content", content}, {"refusal", nullptr}};
}

// Completions' logprobs: parallel arrays, top_logprobs as {token: logprob} objects.
json completion_logprobs(const Service& s, const std::vector<TokenOut>& tokens, size_t offset) {
  json toks = json::array(), lps = json::array(), tops = json::array(), offs = json::array();
  for (const auto& t : tokens) {
    const std::string piece = valid_text(s.model.tokenizer->decode({t.id}));
    toks.push_back(piece);
    lps.push_back(t.logprob);
    json top = json::object();
    for (const auto& [id, lp] : t.top) top[valid_text(s.model.tokenizer->decode({id}))] = lp;
    tops.push_back(top);
    offs.push_back(offset);
    offset += piece.size();
  }
  return {{"tokens", toks}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offs}};
}

std::string sse(const json& j) { return "data: " + dump(j) + "\n\n"; }

// The end of an SSE stream: the chunk with finish_reason (`choice` holds the dialect's empty
// delta or text), the usage chunk when asked, then [DONE]; or one error frame.
std::string sse_end(const json& head, json choice, const Finish& f, bool include_usage) {
  if (f.reason != "stop" && f.reason != "length")
    return sse(error_json(Dialect::kOpenAI, job_error(f)));
  choice["index"] = 0;
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = f.reason;
  json chunk = head;
  chunk["choices"] = json::array({choice});
  std::string out = sse(chunk);
  if (include_usage) {
    json u = head;
    u["choices"] = json::array();
    u["usage"] = usage_json(f);
    out += sse(u);
  }
  return out + "data: [DONE]\n\n";
}

void chat_completions(Service& s, const httplib::Request& req, httplib::Response& res) {
  const json j = parse_body(req.body);
  s.check_model(string_field(j, "model").value_or(""));
  const Common c = read_common(j, s, true);
  const auto messages = chat_messages(j);
  const auto prompt = s.model.encode_chat(s.model.chat_template().render(messages, true));
  auto job = s.engine->submit(prompt, c.gen);
  const std::string id = "chatcmpl-" + random_id();
  const int64_t created = unix_now();
  const json head = {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created},
                     {"model", s.name}, {"system_fingerprint", "elarin-" ELARIN_VERSION}};
  if (!c.stream) {
    const Finish f = job->wait();
    if (f.reason != "stop" && f.reason != "length") throw job_error(f);
    json choice = {{"index", 0},
                   {"message", {{"role", "assistant"}, {"content", valid_text(job->text())}}},
                   {"logprobs", c.logprobs ? chat_logprobs(s, job->tokens()) : json()},
                   {"finish_reason", f.reason}};
    json out = head;
    out["object"] = "chat.completion";
    out["choices"] = json::array({choice});
    out["usage"] = usage_json(f);
    send_json(res, 200, out);
    return;
  }
  auto first = std::make_shared<bool>(true);
  stream_job(
      res, "text/event-stream", job,
      [&s, head, c, first](const Delta& d) {
        json delta = {{"content", valid_text(d.text)}};
        if (*first) delta["role"] = "assistant";
        *first = false;
        json chunk = head;
        chunk["choices"] = json::array({{{"index", 0}, {"delta", delta},
                                         {"logprobs", c.logprobs ? chat_logprobs(s, d.tokens) : json()},
                                         {"finish_reason", nullptr}}});
        return sse(chunk);
      },
      [head, c](const Finish& f) {
        return sse_end(head, {{"delta", json::object()}}, f, c.include_usage);
      },
      ": keep-alive\n\n");
}

void completions(Service& s, const httplib::Request& req, httplib::Response& res) {
  const json j = parse_body(req.body);
  s.check_model(string_field(j, "model").value_or(""));
  const Common c = read_common(j, s, false);
  const auto it = j.find("prompt");
  std::vector<int64_t> prompt;
  std::string prompt_text;
  if (it == j.end() || it->is_null()) throw field_error("prompt", "'prompt' is missing");
  if (it->is_string()) {
    prompt_text = it->get<std::string>();
    prompt = s.model.encode_prompt(prompt_text);
  } else if (it->is_array() && it->size() == 1 && (*it)[0].is_string()) {
    prompt_text = (*it)[0].get<std::string>();
    prompt = s.model.encode_prompt(prompt_text);
  } else if (it->is_array() && !it->empty() && (*it)[0].is_number_integer()) {
    for (const auto& t : *it) {
      if (!t.is_number_integer()) throw field_error("prompt", "'prompt' mixes token ids and other values");
      prompt.push_back(t.get<int64_t>());
    }
  } else {
    throw field_error("prompt", "'prompt' must be a string, an array of one string or an array of token ids");
  }
  const bool echo = bool_field(j, "echo").value_or(false);
  if (echo && prompt_text.empty()) prompt_text = s.model.tokenizer->decode(prompt);
  auto job = s.engine->submit(prompt, c.gen);
  const json head = {{"id", "cmpl-" + random_id()}, {"object", "text_completion"},
                     {"created", unix_now()}, {"model", s.name},
                     {"system_fingerprint", "elarin-" ELARIN_VERSION}};
  const std::string prefix = echo ? prompt_text : "";
  if (!c.stream) {
    const Finish f = job->wait();
    if (f.reason != "stop" && f.reason != "length") throw job_error(f);
    json out = head;
    out["choices"] = json::array(
        {{{"index", 0}, {"text", valid_text(prefix + job->text())},
          {"logprobs", c.logprobs ? completion_logprobs(s, job->tokens(), prefix.size()) : json()},
          {"finish_reason", f.reason}}});
    out["usage"] = usage_json(f);
    send_json(res, 200, out);
    return;
  }
  auto offset = std::make_shared<size_t>(0);
  auto pending_prefix = std::make_shared<std::string>(prefix);
  stream_job(
      res, "text/event-stream", job,
      [&s, head, c, offset, pending_prefix](const Delta& d) {
        const std::string text = *pending_prefix + d.text;
        pending_prefix->clear();
        json chunk = head;
        chunk["choices"] = json::array(
            {{{"index", 0}, {"text", valid_text(text)},
              {"logprobs", c.logprobs ? completion_logprobs(s, d.tokens, *offset) : json()},
              {"finish_reason", nullptr}}});
        *offset += text.size();
        return sse(chunk);
      },
      [head, c](const Finish& f) {
        return sse_end(head, {{"text", ""}}, f, c.include_usage);
      },
      ": keep-alive\n\n");
}

void embeddings(Service& s, const httplib::Request& req, httplib::Response& res) {
  const json j = parse_body(req.body);
  s.check_model(string_field(j, "model").value_or(""));
  const std::string format = string_field(j, "encoding_format").value_or("float");
  if (format != "float" && format != "base64")
    throw field_error("encoding_format", "'encoding_format' is '" + format + "', expected float or base64");
  const auto it = j.find("input");
  if (it == j.end() || it->is_null()) throw field_error("input", "'input' is missing");
  // input: a string, an array of strings, an array of ids, or an array of id arrays.
  std::vector<std::vector<int64_t>> inputs;
  const auto ids_of = [](const json& a) {
    std::vector<int64_t> ids;
    for (const auto& t : a) {
      if (!t.is_number_integer()) throw field_error("input", "'input' mixes token ids and other values");
      ids.push_back(t.get<int64_t>());
    }
    return ids;
  };
  if (it->is_string()) {
    inputs.push_back(s.model.encode_prompt(it->get<std::string>()));
  } else if (it->is_array() && !it->empty()) {
    if ((*it)[0].is_number_integer()) {
      inputs.push_back(ids_of(*it));
    } else {
      for (const auto& x : *it) {
        if (x.is_string())
          inputs.push_back(s.model.encode_prompt(x.get<std::string>()));
        else if (x.is_array())
          inputs.push_back(ids_of(x));
        else
          throw field_error("input", "'input' must hold strings or arrays of token ids");
      }
    }
  } else {
    throw field_error("input", "'input' must be a string or a non-empty array");
  }
  if (inputs.size() > 2048)
    throw field_error("input", "'input' holds " + std::to_string(inputs.size()) + " items, at most 2048");
  json data = json::array();
  int64_t tokens = 0;
  for (const Finish& f : embed_all(*s.engine, inputs)) {
    const size_t i = data.size();
    tokens += f.prompt_tokens;
    json e = {{"object", "embedding"}, {"index", i}};
    if (format == "base64")
      e["embedding"] = base64_encode(f.embedding.data(), f.embedding.size() * sizeof(float));
    else
      e["embedding"] = f.embedding;
    data.push_back(e);
  }
  send_json(res, 200, {{"object", "list"}, {"data", data}, {"model", s.name},
                       {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}});
}

}  // namespace

void add_openai_routes(httplib::Server& svr, Service& s) {
  const auto route = [&](Handler h) { return guarded(Dialect::kOpenAI, std::move(h)); };
  svr.Post("/v1/chat/completions", route([&s](const auto& req, auto& res) { chat_completions(s, req, res); }));
  svr.Post("/v1/completions", route([&s](const auto& req, auto& res) { completions(s, req, res); }));
  svr.Post("/v1/embeddings", route([&s](const auto& req, auto& res) { embeddings(s, req, res); }));
  svr.Get("/v1/models", route([&s](const httplib::Request&, httplib::Response& res) {
    const int64_t created =
        std::chrono::duration_cast<std::chrono::seconds>(s.started.time_since_epoch()).count();
    send_json(res, 200, {{"object", "list"},
                         {"data", json::array({{{"id", s.name}, {"object", "model"},
                                                {"created", created}, {"owned_by", "elarin"},
                                                {"meta", {{"n_ctx", s.engine->context()},
                                                          {"n_vocab", s.engine->vocab_size()},
                                                          {"n_params", s.parameters},
                                                          {"size", s.weight_bytes}}}}})}});
  }));
}

}  // namespace elarin::serve
