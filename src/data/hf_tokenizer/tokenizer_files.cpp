// Reads a Hugging Face model directory's tokenizer files into HfTokenizer's parts (see
// include/elarin/data/hf_tokenizer.hpp). Leaves out the pipeline (hf_tokenizer.cpp).
#include <sys/stat.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <set>
#include <sstream>

#include "core/utf8.hpp"
#include "data/hf_tokenizer/impl.hpp"
#include "data/hf_tokenizer/json_util.hpp"
#include "elarin/core/atomic_file.hpp"

namespace elarin {
namespace {

using nlohmann::json;
using namespace hf_tokenizer;

// Far above any real vocabulary (Gemma 3: 262,145); bounds the decode table.
constexpr int64_t kMaxTokenId = (int64_t{1} << 24) - 1;

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

json read_json(const std::string& path) {
  try {
    return json::parse(read_file(path));
  } catch (const json::parse_error& e) {
    throw FormatError(path + ": not valid JSON: " + e.what());
  }
}

std::string quoted(const std::string& text) {
  return "'" + (text.size() > 60 ? text.substr(0, 57) + "..." : text) + "'";
}

int32_t parse_id(const json& value, const std::string& where) {
  if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > kMaxTokenId)
    throw FormatError(where + ": id is " + shown(value) + ", expected an integer in 0.." +
                      std::to_string(kMaxTokenId));
  return static_cast<int32_t>(value.get<int64_t>());
}

std::unordered_map<std::string, int32_t> parse_vocab(const json& vocab, const std::string& where) {
  if (!vocab.is_object())
    throw FormatError(where + ": expected an object of token -> id, got " + shown(vocab));
  std::unordered_map<std::string, int32_t> out;
  out.reserve(vocab.size());
  for (const auto& item : vocab.items())
    out[item.key()] = parse_id(item.value(), where + ": token " + quoted(item.key()));
  return out;
}

// A token named in tokenizer_config.json: a string, or {"content": ...} (an AddedToken).
std::optional<std::string> token_name(const json& config, const char* key,
                                      const std::string& where) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  throw FormatError(where + "." + key + " is " + shown(*it) +
                    ", expected a string or {\"content\": ...}");
}

// GPT-2's vocab.json + merges.txt as the tokenizer.json they stand for.
json gpt2_files_as_tokenizer_json(const std::string& dir) {
  const std::string merges_path = dir + "/merges.txt";
  std::vector<std::string> lines;
  std::istringstream text(read_file(merges_path));
  for (std::string line; std::getline(text, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  json merges = json::array();
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (i == 0 && line.rfind("#version", 0) == 0) continue;
    const size_t space = line.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string::npos)
      throw FormatError(merges_path + " line " + std::to_string(i + 1) + ": " + quoted(line) +
                        " is not a merge: expected two tokens separated by one space");
    merges.push_back({line.substr(0, space), line.substr(space + 1)});
  }
  json root;
  root["model"] = {{"type", "BPE"}, {"vocab", read_json(dir + "/vocab.json")}, {"merges", merges}};
  root["normalizer"] = nullptr;
  root["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  root["decoder"] = {{"type", "ByteLevel"}};
  root["post_processor"] = nullptr;
  json added = json::array();
  // GPT2Tokenizer's bos/eos/unk token and added_tokens.json: never split.
  const json& vocab = root["model"]["vocab"];
  if (vocab.is_object() && vocab.contains("<|endoftext|>"))
    added.push_back(
        {{"id", vocab["<|endoftext|>"]}, {"content", "<|endoftext|>"}, {"special", true}});
  if (is_file(dir + "/added_tokens.json")) {
    const json extra = read_json(dir + "/added_tokens.json");
    if (!extra.is_object())
      throw FormatError(dir + "/added_tokens.json: expected an object of token -> id, got " +
                        shown(extra));
    for (const auto& item : extra.items())
      added.push_back({{"id", item.value()}, {"content", item.key()}, {"special", false}});
  }
  root["added_tokens"] = added;
  return root;
}

std::vector<std::pair<std::string, std::string>> parse_merges(const json& merges,
                                                              const std::string& where) {
  if (!merges.is_array()) throw FormatError(where + " is " + shown(merges) + ", expected a list");
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& m = merges[i];
    std::string left, right;
    if (m.is_string()) {
      // transformers.js: x.split(" ", 2), the first two space-separated parts.
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      if (space != std::string::npos) {
        left = s.substr(0, space);
        right = s.substr(space + 1, s.find(' ', space + 1) - space - 1);
      }
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    }
    if (left.empty() || right.empty())
      throw FormatError(where + "[" + std::to_string(i) + "] is " + shown(m) +
                        ", expected \"left right\" or [\"left\", \"right\"]");
    out.emplace_back(std::move(left), std::move(right));
  }
  return out;
}

// The post-processor's single-sequence template as ids (TemplateProcessing, Roberta/Bert,
// ByteLevel, Sequence).
std::vector<PostItem> parse_post_processor(const json& config, const std::string& where,
                                           const BpeModel& model) {
  std::vector<PostItem> items;
  if (config.is_null()) return items;
  if (!config.is_object())
    throw FormatError(where + " is " + shown(config) + ", expected an object");
  const std::string type = type_of(config);
  const auto id_of = [&](const std::string& token, const std::string& at) -> int64_t {
    const auto id = model.id_of(token);
    if (!id) throw FormatError(at + ": token " + quoted(token) + " is not in the vocabulary");
    return *id;
  };
  if (type == "ByteLevel") return {{true, {}}};
  if (type == "TemplateProcessing") {
    const json& single = config.contains("single") ? config["single"] : json();
    if (!single.is_array())
      throw FormatError(where + ".single is " + shown(single) + ", expected a list");
    for (size_t i = 0; i < single.size(); ++i) {
      const std::string at = where + ".single[" + std::to_string(i) + "]";
      const json& item = single[i];
      if (item.contains("Sequence")) {
        items.push_back({true, {}});
      } else if (item.contains("SpecialToken") && item["SpecialToken"].contains("id") &&
                 item["SpecialToken"]["id"].is_string()) {
        items.push_back({false, {id_of(item["SpecialToken"]["id"].get<std::string>(), at)}});
      } else {
        throw FormatError(at + " is " + shown(item) +
                          ", expected {\"Sequence\": ...} or {\"SpecialToken\": {\"id\": ...}}");
      }
    }
    return items;
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    const auto special = [&](const char* key) -> int64_t {
      const json& v = config.contains(key) ? config[key] : json();
      if (!v.is_array() || v.size() != 2 || !v[1].is_number_integer())
        throw FormatError(where + "." + key + " is " + shown(v) + ", expected [\"token\", id]");
      return v[1].get<int64_t>();
    };
    return {{false, {special("cls")}}, {true, {}}, {false, {special("sep")}}};
  }
  if (type == "Sequence") {
    const json& list = config.contains("processors") ? config["processors"] : json();
    if (!list.is_array())
      throw FormatError(where + ".processors is " + shown(list) + ", expected a list");
    // Each processor rewrites the previous one's sequence; ByteLevel keeps it as it is.
    items = {{true, {}}};
    for (size_t i = 0; i < list.size(); ++i) {
      const auto inner =
          parse_post_processor(list[i], where + ".processors[" + std::to_string(i) + "]", model);
      std::vector<PostItem> next;
      for (const PostItem& outer : inner) {
        if (!outer.is_sequence)
          next.push_back(outer);
        else
          next.insert(next.end(), items.begin(), items.end());
      }
      items = std::move(next);
    }
    return items;
  }
  unsupported(where, config,
              "TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence");
}

void read_tokenizer_config(const std::string& dir, HfTokenizer::Impl* m,
                           std::optional<bool>* add_bos, std::optional<bool>* add_eos) {
  HfTokenizerInfo& info = m->info;
  json config = json::object();
  const std::string path = dir + "/tokenizer_config.json";
  if (is_file(path)) config = read_json(path);
  if (!config.is_object()) throw FormatError(path + ": expected an object, got " + shown(config));
  // special_tokens_map.json names the same tokens; tokenizer_config.json wins.
  const std::string map_path = dir + "/special_tokens_map.json";
  json map = is_file(map_path) ? read_json(map_path) : json::object();
  if (!map.is_object()) throw FormatError(map_path + ": expected an object, got " + shown(map));
  const auto name = [&](const char* key) {
    auto v = token_name(config, key, path);
    return v ? v : token_name(map, key, map_path);
  };
  info.bos_token = name("bos_token");
  info.eos_token = name("eos_token");
  info.pad_token = name("pad_token");
  info.unk_token = name("unk_token");
  info.tokenizer_class = get_string(config, "tokenizer_class", "", path);
  if (config.contains("add_bos_token") && config["add_bos_token"].is_boolean())
    *add_bos = config["add_bos_token"].get<bool>();
  if (config.contains("add_eos_token") && config["add_eos_token"].is_boolean())
    *add_eos = config["add_eos_token"].get<bool>();
  if (is_file(dir + "/chat_template.jinja")) {
    info.chat_template = read_file(dir + "/chat_template.jinja");
    info.chat_template_origin = dir + "/chat_template.jinja";
  } else if (config.contains("chat_template") && !config["chat_template"].is_null()) {
    const json& t = config["chat_template"];
    info.chat_template_origin = path + " chat_template";
    if (t.is_string()) {
      info.chat_template = t.get<std::string>();
    } else if (t.is_array()) {
      // A list of named templates: the one named "default".
      for (const json& entry : t)
        if (entry.is_object() && entry.value("name", "") == "default" &&
            entry.contains("template") && entry["template"].is_string())
          info.chat_template = entry["template"].get<std::string>();
      if (!info.chat_template)
        throw FormatError(path + ": chat_template is a list without a template named \"default\"");
    } else {
      throw FormatError(path + ": chat_template is " + shown(t) + ", expected a string");
    }
  }
  const auto id = [&](const std::optional<std::string>& token) -> std::optional<int64_t> {
    if (!token) return std::nullopt;
    const auto v = m->model->id_of(*token);
    if (!v) return std::nullopt;
    return *v;
  };
  info.bos_id = id(info.bos_token);
  if (const auto eos = id(info.eos_token)) info.eos_ids.push_back(*eos);
  const std::string gen_path = dir + "/generation_config.json";
  if (is_file(gen_path)) {
    const json gen = read_json(gen_path);
    const json eos = gen.is_object() && gen.contains("eos_token_id") ? gen["eos_token_id"] : json();
    const json list = eos.is_array() ? eos : eos.is_null() ? json::array() : json::array({eos});
    for (const json& e : list) {
      if (!e.is_number_integer())
        throw FormatError(gen_path + ": eos_token_id holds " + shown(e) + ", expected integers");
      if (std::find(info.eos_ids.begin(), info.eos_ids.end(), e.get<int64_t>()) ==
          info.eos_ids.end())
        info.eos_ids.push_back(e.get<int64_t>());
    }
  }
}

std::shared_ptr<const HfTokenizer> build(const json& root, const std::string& source,
                                         const std::string& dir) {
  auto m = std::make_unique<HfTokenizer::Impl>();
  m->source = source;
  m->info.dir = dir;
  if (!root.is_object() || !root.contains("model") || !root["model"].is_object())
    throw FormatError(source + ": expected an object with a \"model\" object (a tokenizers file)");
  const json& model = root["model"];
  const std::string where = source + ": model";
  if (model.contains("type") && type_of(model) != "BPE")
    throw FormatError(where + ".type is '" + type_of(model) +
                      "': not supported (supported: BPE, as in GPT-2, Llama, Qwen, Gemma)");
  const std::string prefix = get_string(model, "continuing_subword_prefix", "", where);
  if (!prefix.empty())
    throw FormatError(where + ".continuing_subword_prefix is " + quoted(prefix) +
                      ": not supported (byte-level and SentencePiece-style BPE use none)");
  if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"] != 0 &&
      model["dropout"] != 0.0)
    throw FormatError(where + ".dropout is " + shown(model["dropout"]) +
                      ": BPE dropout is for training; expected null");
  auto vocab = parse_vocab(model.contains("vocab") ? model["vocab"] : json(), where + ".vocab");

  const json& added = root.contains("added_tokens") ? root["added_tokens"] : json();
  if (!added.is_null() && !added.is_array())
    throw FormatError(source + ": added_tokens is " + shown(added) + ", expected a list");
  for (size_t i = 0; i < added.size(); ++i) {
    const std::string at = source + ": added_tokens[" + std::to_string(i) + "]";
    const json& t = added[i];
    if (!t.is_object() || !t.contains("content") || !t["content"].is_string() ||
        t["content"].get<std::string>().empty() || !t.contains("id"))
      throw FormatError(at + " is " + shown(t) + ", expected {\"id\": N, \"content\": \"...\"}");
    AddedToken token{t["content"].get<std::string>(), parse_id(t["id"], at),
                     get_bool(t, "lstrip", false, at), get_bool(t, "rstrip", false, at),
                     get_bool(t, "special", false, at)};
    vocab[token.content] = token.id;
    m->added.push_back(std::move(token));
  }

  BpeOptions options;
  if (model.contains("unk_token") && model["unk_token"].is_string())
    options.unk_token = model["unk_token"].get<std::string>();
  options.end_of_word_suffix = get_string(model, "end_of_word_suffix", "", where);
  options.byte_fallback = get_bool(model, "byte_fallback", false, where);
  options.fuse_unk = get_bool(model, "fuse_unk", false, where);
  options.ignore_merges = get_bool(model, "ignore_merges", false, where);

  int64_t size = 0;
  for (const auto& [token, id] : vocab) size = std::max<int64_t>(size, id + 1);
  m->tokens.assign(size, "");
  m->known.assign(size, false);
  m->special.assign(size, false);
  for (const auto& [token, id] : vocab) m->tokens[id] = token, m->known[id] = true;
  std::unordered_set<std::string> added_contents;
  for (const AddedToken& t : m->added) {
    m->tokens[t.id] = t.content;  // an added token overrides the vocab's entry for its id
    m->special[t.id] = t.special;
    added_contents.insert(t.content);
  }

  m->model = std::make_unique<BpeModel>(
      std::move(vocab),
      parse_merges(model.contains("merges") ? model["merges"] : json(), where + ".merges"), options,
      where);
  m->splitter = std::make_unique<AddedTokenSplitter>(m->added);
  m->normalizer = make_normalizer(root.value("normalizer", json()), source + ": normalizer");
  m->pre_tokenizer =
      make_pre_tokenizer(root.value("pre_tokenizer", json()), source + ": pre_tokenizer");
  m->decoder = make_decoder(root.value("decoder", json()), source + ": decoder", added_contents);
  m->post = parse_post_processor(root.value("post_processor", json()), source + ": post_processor",
                                 *m->model);

  std::optional<bool> add_bos, add_eos;
  read_tokenizer_config(dir, m.get(), &add_bos, &add_eos);
  // transformers' Llama and Gemma fast tokenizers rebuild the post-processor from
  // add_bos_token / add_eos_token (update_post_processor).
  const std::string& cls = m->info.tokenizer_class;
  const bool rebuilds =
      cls.rfind("Llama", 0) == 0 || cls.rfind("CodeLlama", 0) == 0 || cls.rfind("Gemma", 0) == 0;
  if (rebuilds && (add_bos || add_eos)) {
    std::vector<PostItem> items;
    if (add_bos.value_or(false) && m->info.bos_id) items.push_back({false, {*m->info.bos_id}});
    items.push_back({true, {}});
    if (add_eos.value_or(false) && !m->info.eos_ids.empty())
      items.push_back({false, {m->info.eos_ids.front()}});
    m->post = std::move(items);
  }
  return std::make_shared<const HfTokenizer>(std::move(m));
}

}  // namespace

bool has_hf_tokenizer(const std::string& dir) {
  return is_file(dir + "/tokenizer.json") ||
         (is_file(dir + "/vocab.json") && is_file(dir + "/merges.txt"));
}

namespace {
// The parsed JSON of a 150k-token tokenizer is ~80 MB of small blocks, freed once the tokenizer
// is built; glibc keeps freed heap for reuse, so a server would carry them for its whole life.
std::shared_ptr<const HfTokenizer> returning_heap(std::shared_ptr<const HfTokenizer> tok) {
#ifdef __GLIBC__
  ::malloc_trim(0);
#endif
  return tok;
}
}  // namespace

std::shared_ptr<const HfTokenizer> load_hf_tokenizer(const std::string& dir) {
  if (!is_directory(dir)) throw UsageError("model " + dir + " is not a directory");
  // tokenizer.json first, like AutoTokenizer: it is the complete description.
  if (is_file(dir + "/tokenizer.json"))
    return returning_heap(build(read_json(dir + "/tokenizer.json"), dir + "/tokenizer.json", dir));
  const bool has_vocab = is_file(dir + "/vocab.json");
  const bool has_merges = is_file(dir + "/merges.txt");
  if (has_vocab && has_merges)
    return returning_heap(build(gpt2_files_as_tokenizer_json(dir), dir + "/vocab.json", dir));
  if (has_vocab != has_merges)
    throw UsageError("model " + dir + " has " +
                     (has_vocab ? "vocab.json but no merges.txt" : "merges.txt but no vocab.json") +
                     ": a GPT-2 style tokenizer needs both (or a tokenizer.json)");
  throw UsageError("model " + dir +
                   " has no tokenizer files (tokenizer.json, or vocab.json + merges.txt): pass "
                   "token ids with --ids");
}

}  // namespace elarin
