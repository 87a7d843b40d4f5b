// Reads Hugging Face tokenizer files into the byte-level BPE of gpt2_bpe.hpp. Leaves out other
// tokenizer.json models and normalizers (refused by name), post-processors (BOS/EOS templates:
// encode is add_special_tokens=False) and the single_word flag of added tokens (ignored).
#include "elarin/models/hf/tokenizer.hpp"

#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"
#include "models/hf/gpt2_bpe.hpp"

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <sstream>

namespace elarin {
namespace {

using nlohmann::json;

// Far above any real vocabulary (GPT-2 50257, Llama 3 128256); bounds the decode table.
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

// A value as it appears in messages: type and a short dump.
std::string shown(const json& value) {
  std::string text = value.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return std::string(value.type_name()) + " " + text;
}

// A token or merges line as it appears in messages: quoted, cut when long.
std::string quoted(const std::string& text) {
  return "'" + (text.size() > 60 ? text.substr(0, 57) + "..." : text) + "'";
}

int32_t parse_id(const json& value, const std::string& where) {
  if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
      value.get<int64_t>() > kMaxTokenId) {
    throw FormatError(where + ": id is " + shown(value) + ", expected an integer in 0.." +
                      std::to_string(kMaxTokenId));
  }
  return static_cast<int32_t>(value.get<int64_t>());
}

// obj[key] when present and not null, else `fallback`; another type is a FormatError.
bool get_bool(const json& obj, const char* key, bool fallback, const std::string& where) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) {
    throw FormatError(where + "." + key + " is " + shown(*it) + ", expected true or false");
  }
  return it->get<bool>();
}

// obj[key], or null when absent, without copying (a vocab holds 50k entries).
const json& member(const json& obj, const char* key) {
  static const json kNull;
  const auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string get_type(const json& obj) {
  const auto it = obj.find("type");
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "(no type)";
}

std::unordered_map<std::string, int32_t> parse_vocab(const json& vocab, const std::string& where) {
  if (!vocab.is_object()) {
    throw FormatError(where + ": expected an object of token -> id, got " + shown(vocab));
  }
  std::unordered_map<std::string, int32_t> out;
  out.reserve(vocab.size());
  for (const auto& item : vocab.items()) {
    out[item.key()] = parse_id(item.value(), where + ": token " + quoted(item.key()));
  }
  return out;
}

BpeMerge resolve_merge(const std::unordered_map<std::string, int32_t>& vocab,
                       const std::string& left, const std::string& right,
                       const std::string& where) {
  const auto find = [&](const std::string& token, const char* role) {
    const auto it = vocab.find(token);
    if (it == vocab.end()) {
      throw FormatError(where + ": " + role + quoted(token) + " is not in the vocabulary");
    }
    return it->second;
  };
  return {find(left, "token "), find(right, "token "), find(left + right, "merged token ")};
}

// One merge per line, "left right", after an optional "#version" line; trailing blank lines are
// fine. Like HF tokenizers (Rust), unlike the Python GPT2Tokenizer, which drops the first and
// the last line whatever they hold.
std::vector<BpeMerge> read_merges_txt(const std::string& path,
                                      const std::unordered_map<std::string, int32_t>& vocab) {
  std::vector<std::string> lines;
  std::istringstream text(read_file(path));
  for (std::string line; std::getline(text, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::vector<BpeMerge> merges;
  merges.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (i == 0 && line.rfind("#version", 0) == 0) continue;
    const std::string where = path + " line " + std::to_string(i + 1);
    const size_t space = line.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string::npos) {
      throw FormatError(where + ": " + quoted(line) +
                        " is not a merge: expected two tokens separated by one space");
    }
    merges.push_back(resolve_merge(vocab, line.substr(0, space), line.substr(space + 1), where));
  }
  return merges;
}

// The ByteLevel pre-tokenizer's options; anything else (Whitespace, Metaspace, a Sequence with a
// different Split regex as in Llama 3 or Qwen2) would tokenise differently, so it is refused.
void read_pre_tokenizer(const json& pre, const std::string& where, ByteLevelBpeSpec* spec) {
  if (pre.is_object() && get_type(pre) == "Sequence" && pre.contains("pretokenizers") &&
      pre["pretokenizers"].is_array() && pre["pretokenizers"].size() == 1) {
    return read_pre_tokenizer(pre["pretokenizers"][0], where + ".pretokenizers[0]", spec);
  }
  if (!pre.is_object() || get_type(pre) != "ByteLevel") {
    const std::string what = pre.is_object() ? "'" + get_type(pre) + "'"
                             : pre.is_null() ? "missing"
                                             : shown(pre);
    throw FormatError(where + " is " + what +
                      ": this build reads byte-level BPE only (a ByteLevel pre-tokenizer, as in "
                      "GPT-2's tokenizer.json)");
  }
  // tokenizers' own defaults for a ByteLevel written without these keys.
  spec->add_prefix_space = get_bool(pre, "add_prefix_space", true, where);
  spec->use_regex = get_bool(pre, "use_regex", true, where);
}

ByteLevelBpeSpec read_tokenizer_json(const std::string& path) {
  const json root = read_json(path);
  if (!root.is_object() || !root.contains("model") || !root["model"].is_object()) {
    throw FormatError(path + ": expected an object with a \"model\" object (a tokenizers file)");
  }
  const json& model = root["model"];
  const std::string where = path + ": model";
  if (model.contains("type") && get_type(model) != "BPE") {
    throw FormatError(where + ".type is " + shown(model["type"]) +
                      ": this build reads byte-level \"BPE\" only (GPT-2 style)");
  }
  if (root.contains("normalizer") && !root["normalizer"].is_null()) {
    throw FormatError(path + ": normalizer '" + get_type(root["normalizer"]) +
                      "' is not supported: this build reads byte-level BPE without a normalizer");
  }
  ByteLevelBpeSpec spec;
  spec.source = path;
  read_pre_tokenizer(member(root, "pre_tokenizer"), path + ": pre_tokenizer", &spec);
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(key) && !model[key].is_null() && model[key] != "") {
      throw FormatError(where + "." + key + " is " + shown(model[key]) +
                        ": not supported (byte-level BPE uses none)");
    }
  }
  if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"] != 0) {
    throw FormatError(where + ".dropout is " + shown(model["dropout"]) +
                      ": BPE dropout is for training; expected null");
  }
  spec.ignore_merges = get_bool(model, "ignore_merges", false, where);
  spec.vocab = parse_vocab(member(model, "vocab"), where + ".vocab");

  const json& merges = member(model, "merges");
  if (!merges.is_array()) {
    throw FormatError(where + ".merges is " + shown(merges) + ", expected a list");
  }
  spec.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    // Older files write "left right", newer ones ["left", "right"].
    const json& m = merges[i];
    const std::string at = where + ".merges[" + std::to_string(i) + "]";
    std::string left, right;
    const size_t space = m.is_string() ? m.get<std::string>().find(' ') : std::string::npos;
    if (m.is_string() && space != std::string::npos &&
        m.get<std::string>().find(' ', space + 1) == std::string::npos) {
      left = m.get<std::string>().substr(0, space);
      right = m.get<std::string>().substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    }
    if (left.empty() || right.empty()) {
      throw FormatError(at + " is " + shown(m) +
                        ", expected \"left right\" or [\"left\", \"right\"]");
    }
    spec.merges.push_back(resolve_merge(spec.vocab, left, right, at));
  }

  const json& added = member(root, "added_tokens");
  if (!added.is_null() && !added.is_array()) {
    throw FormatError(path + ": added_tokens is " + shown(added) + ", expected a list");
  }
  for (size_t i = 0; i < added.size(); ++i) {
    const std::string at = path + ": added_tokens[" + std::to_string(i) + "]";
    const json& t = added[i];
    if (!t.is_object() || !t.contains("content") || !t["content"].is_string() ||
        t["content"].get<std::string>().empty() || !t.contains("id")) {
      throw FormatError(at + " is " + shown(t) + ", expected {\"id\": N, \"content\": \"...\"}");
    }
    spec.added.push_back({t["content"].get<std::string>(), parse_id(t["id"], at),
                          get_bool(t, "lstrip", false, at), get_bool(t, "rstrip", false, at)});
  }
  return spec;
}

ByteLevelBpeSpec read_vocab_and_merges(const std::string& dir) {
  ByteLevelBpeSpec spec;
  spec.source = dir + "/vocab.json";
  spec.vocab = parse_vocab(read_json(spec.source), spec.source);
  spec.merges = read_merges_txt(dir + "/merges.txt", spec.vocab);
  // GPT2Tokenizer's bos/eos/unk token: HF never splits it, so neither do we.
  const auto eot = spec.vocab.find("<|endoftext|>");
  if (eot != spec.vocab.end()) spec.added.push_back({eot->first, eot->second});
  const std::string added_path = dir + "/added_tokens.json";
  if (is_file(added_path)) {
    const json added = read_json(added_path);
    if (!added.is_object()) {
      throw FormatError(added_path + ": expected an object of token -> id, got " + shown(added));
    }
    for (const auto& item : added.items()) {
      if (item.key().empty()) throw FormatError(added_path + ": an added token is empty");
      spec.added.push_back(
          {item.key(), parse_id(item.value(), added_path + ": token " + quoted(item.key()))});
    }
  }
  return spec;
}

}  // namespace

std::unique_ptr<Tokenizer> load_hf_tokenizer(const std::string& dir) {
  if (!is_directory(dir)) throw UsageError("model " + dir + " is not a directory");
  // tokenizer.json first, like AutoTokenizer: it is the complete description, so an unsupported
  // normalizer or pre-tokenizer is refused instead of being silently replaced by GPT-2's.
  if (is_file(dir + "/tokenizer.json")) {
    return std::make_unique<ByteLevelBpe>(read_tokenizer_json(dir + "/tokenizer.json"));
  }
  const bool has_vocab = is_file(dir + "/vocab.json");
  const bool has_merges = is_file(dir + "/merges.txt");
  if (has_vocab && has_merges) return std::make_unique<ByteLevelBpe>(read_vocab_and_merges(dir));
  if (has_vocab != has_merges) {
    throw UsageError("model " + dir + " has " +
                     (has_vocab ? "vocab.json but no merges.txt" : "merges.txt but no vocab.json") +
                     ": a GPT-2 style tokenizer needs both (or a tokenizer.json)");
  }
  throw UsageError("model " + dir +
                   " has no tokenizer files (vocab.json + merges.txt or tokenizer.json): pass "
                   "token ids with --ids");
}

}  // namespace elarin
