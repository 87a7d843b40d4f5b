// The pre-tokenizers of tokenizer.json with transformers.js' behaviour (see pre_tokenizer.hpp).
// Leaves out BertPreTokenizer and offsets.
#include "data/hf_tokenizer/pre_tokenizer.hpp"

#include "core/utf8.hpp"
#include "data/hf_tokenizer/js_regex.hpp"
#include "data/hf_tokenizer/json_util.hpp"

namespace elarin::hf_tokenizer {
namespace {

using nlohmann::json;

// A pre-tokenizer of one piece; make_pre_tokenizer lifts it to a list of pieces.
using PieceSplitter = std::function<void(const std::string& piece, size_t section_index,
                                         std::vector<std::string>* out)>;

// The matches of `re` in `text` (JavaScript's text.match(re) with the g flag).
void push_matches(const JsRegex& re, const std::string& text, std::vector<std::string>* out) {
  for (const auto& [begin, end] : re.find_all(text))
    out->push_back(text.substr(begin, end - begin));
}

// The matches and the gaps between them, empty matches dropped (transformers.js' regexSplit).
void push_split(const JsRegex& re, const std::string& text, std::vector<std::string>* out) {
  size_t prev = 0;
  for (const auto& [begin, end] : re.find_all(text)) {
    if (prev < begin) out->push_back(text.substr(prev, begin - prev));
    if (end > begin) out->push_back(text.substr(begin, end - begin));
    prev = end;
  }
  if (prev < text.size()) out->push_back(text.substr(prev));
}

PieceSplitter byte_level(const json& config, const std::string& where) {
  const bool add_prefix_space = get_bool(config, "add_prefix_space", false, where);
  const bool use_regex = get_bool(config, "use_regex", true, where);
  auto re = std::make_shared<JsRegex>(kGpt2Pattern, where);
  return [=](const std::string& piece, size_t, std::vector<std::string>* out) {
    std::string text = piece;
    if (add_prefix_space && text.rfind(' ', 0) != 0) text = " " + text;
    std::vector<std::string> words;
    if (use_regex) {
      push_matches(*re, text, &words);
    } else {
      words.push_back(std::move(text));
    }
    const auto& alphabet = byte_level_alphabet();
    for (const std::string& word : words) {
      std::string mapped;
      mapped.reserve(word.size() * 2);
      for (const char c : word) mapped += alphabet[static_cast<uint8_t>(c)];
      out->push_back(std::move(mapped));
    }
  };
}

// The pattern of Split and Replace: {"String": s} or {"Regex": r}; `is_string` tells which.
std::shared_ptr<JsRegex> pattern_of(const json& config, const std::string& where, bool* is_string) {
  const json& pattern = config.contains("pattern") ? config["pattern"] : json();
  if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string()) {
    *is_string = true;
    return std::make_shared<JsRegex>(
        JsRegex::literal(pattern["String"].get<std::string>(), where + ".pattern.String"));
  }
  if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string()) {
    *is_string = false;
    return std::make_shared<JsRegex>(pattern["Regex"].get<std::string>(), where + ".pattern.Regex");
  }
  throw FormatError(where + ".pattern is " + shown(pattern) +
                    ", expected {\"String\": ...} or {\"Regex\": ...}");
}

PieceSplitter split(const json& config, const std::string& where) {
  bool is_string = false;
  auto re = pattern_of(config, where, &is_string);
  const bool invert = get_bool(config, "invert", false, where);
  std::string behavior = get_string(config, "behavior", "Isolated", where);
  for (char& c : behavior) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const bool removed = behavior == "removed";
  // transformers.js implements only two behaviours: "removed" (JavaScript's split, which keeps
  // the delimiter of a String pattern because it wraps it in a capture group) and, for every
  // other one, isolating the matches. The oracle is followed here, MergedWithPrevious included.
  return [=](const std::string& piece, size_t, std::vector<std::string>* out) {
    if (invert) return push_matches(*re, piece, out);
    if (!removed || is_string) {
      std::vector<std::string> parts;
      push_split(*re, piece, &parts);
      for (auto& p : parts)
        if (!p.empty()) out->push_back(std::move(p));
      return;
    }
    size_t prev = 0;
    for (const auto& [begin, end] : re->find_all(piece)) {
      if (begin > prev) out->push_back(piece.substr(prev, begin - prev));
      prev = end;
    }
    if (prev < piece.size()) out->push_back(piece.substr(prev));
  };
}

PieceSplitter metaspace(const json& config, const std::string& where) {
  const std::string replacement = get_string(config, "replacement", "\xE2\x96\x81", where);
  const std::string str_rep = get_string(config, "str_rep", replacement, where);
  const bool add_prefix_space = get_bool(config, "add_prefix_space", false, where);
  const std::string scheme = get_string(config, "prepend_scheme", "always", where);
  if (scheme != "always" && scheme != "first" && scheme != "never")
    throw FormatError(where + ".prepend_scheme is '" + scheme +
                      "', expected \"always\", \"first\" or \"never\"");
  return [=](const std::string& piece, size_t section, std::vector<std::string>* out) {
    std::string normalized = replace_all(piece, " ", str_rep);
    if (add_prefix_space && normalized.rfind(replacement, 0) != 0 &&
        (scheme == "always" || (scheme == "first" && section == 0)))
      normalized = str_rep + normalized;
    out->push_back(std::move(normalized));
  };
}

PieceSplitter matcher(const std::string& pattern, const std::string& where) {
  auto re = std::make_shared<JsRegex>(pattern, where);
  return [re](const std::string& piece, size_t, std::vector<std::string>* out) {
    push_matches(*re, piece, out);
  };
}

PieceSplitter piece_splitter(const json& config, const std::string& where) {
  if (!config.is_object())
    throw FormatError(where + " is " + shown(config) + ", expected an object");
  const std::string type = type_of(config);
  if (type == "ByteLevel") return byte_level(config, where);
  if (type == "Split") return split(config, where);
  if (type == "Metaspace") return metaspace(config, where);
  if (type == "Digits") {
    const bool individual = get_bool(config, "individual_digits", false, where);
    return matcher(individual ? "[^\\d]+|\\d" : "[^\\d]+|\\d+", where);
  }
  if (type == "Whitespace") return matcher("\\w+|[^\\w\\s]+", where);
  if (type == "WhitespaceSplit") return matcher("\\S+", where);
  if (type == "Punctuation") {
    const std::string punct = "\\p{P}\\x{21}-\\x{2F}\\x{3A}-\\x{40}\\x{5B}-\\x{60}\\x{7B}-\\x{7E}";
    return matcher("[^" + punct + "]+|[" + punct + "]+", where);
  }
  if (type == "Sequence") {
    const json& list = config.contains("pretokenizers") ? config["pretokenizers"] : json();
    if (!list.is_array())
      throw FormatError(where + ".pretokenizers is " + shown(list) + ", expected a list");
    std::vector<PieceSplitter> stages;
    for (size_t i = 0; i < list.size(); ++i)
      stages.push_back(
          piece_splitter(list[i], where + ".pretokenizers[" + std::to_string(i) + "]"));
    return [stages](const std::string& piece, size_t section, std::vector<std::string>* out) {
      std::vector<std::string> pieces{piece};
      for (const auto& stage : stages) {
        std::vector<std::string> next;
        for (const auto& p : pieces) stage(p, section, &next);
        pieces = std::move(next);
      }
      for (auto& p : pieces) out->push_back(std::move(p));
    };
  }
  unsupported(where, config,
              "ByteLevel, Split, Sequence, Metaspace, Digits, Whitespace, WhitespaceSplit, "
              "Punctuation");
}

}  // namespace

const char* const kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

const std::array<std::string, 256>& byte_level_alphabet() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      t[b] = encode_utf8(printable ? static_cast<uint32_t>(b) : 256 + next++);
    }
    return t;
  }();
  return table;
}

PreTokenizer make_pre_tokenizer(const json& config, const std::string& where) {
  if (config.is_null()) return {};
  PieceSplitter splitter = piece_splitter(config, where);
  return [splitter](std::vector<std::string> pieces, size_t section) {
    std::vector<std::string> out;
    for (const auto& p : pieces) splitter(p, section, &out);
    return out;
  };
}

}  // namespace elarin::hf_tokenizer
