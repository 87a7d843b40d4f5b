// GPT-2 byte-level BPE: the pre-tokenizer split, merge order on a hand-made tokenizer.json, file
// errors, round trips, and exact ids against GPT-2's JS reference encoder on real text (needs
// node and data/gpt2-tokenizer from scripts/fetch-data.sh; skipped without them).
#include "elarin/models/hf/tokenizer.hpp"

#include <gtest/gtest.h>

#include "elarin/core/errors.hpp"
#include "models/hf/gpt2_bpe.hpp"

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
      // Bytes that are not UTF-8 are "other" characters, one byte each.
      {"a\xff\xfe b\xc3", {"a", "\xff\xfe", " b", "\xc3"}},
  };
  for (const auto& [text, want] : cases) {
    const std::vector<std::string_view> got = elarin::gpt2_pretokenize(text);
    EXPECT_EQ(std::vector<std::string>(got.begin(), got.end()), want) << "text: " << text;
  }
}

TEST(TokenizerByteMap, MatchesGpt2BytesToUnicode) {
  EXPECT_EQ(elarin::gpt2_byte_to_unicode('!'), uint32_t('!'));
  EXPECT_EQ(elarin::gpt2_byte_to_unicode(0xFF), 0xFFu);
  EXPECT_EQ(elarin::gpt2_byte_to_unicode(0x00), 0x100u);
  EXPECT_EQ(elarin::gpt2_byte_to_unicode(' '), 0x120u);   // 'Ġ'
  EXPECT_EQ(elarin::gpt2_byte_to_unicode('\n'), 0x10Au);  // 'Ċ'
  EXPECT_EQ(elarin::gpt2_byte_to_unicode(0xAD), 0x143u);  // the 68th and last remapped byte
  std::vector<uint32_t> all;
  for (int b = 0; b < 256; ++b) all.push_back(elarin::gpt2_byte_to_unicode(uint8_t(b)));
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
  EXPECT_NE(bad_byte.find("byte 0x7A"), std::string::npos) << bad_byte;
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
  json nfc = hand_made_tokenizer_json();
  nfc["normalizer"] = {{"type", "NFC"}};
  EXPECT_NE(message(nfc).find("NFC"), std::string::npos) << message(nfc);
  json metaspace = hand_made_tokenizer_json();
  metaspace["pre_tokenizer"] = {{"type", "Metaspace"}};
  EXPECT_NE(message(metaspace).find("Metaspace"), std::string::npos) << message(metaspace);
  json bad_merge = hand_made_tokenizer_json();
  bad_merge["model"]["merges"].push_back("w q");
  const std::string m = message(bad_merge);
  EXPECT_NE(m.find("model.merges[10]"), std::string::npos) << m;
  EXPECT_NE(m.find("'q' is not in the vocabulary"), std::string::npos) << m;
}

TEST(TokenizerFiles, MissingFilesAreAUsageError) {
  TempDir dir;
  EXPECT_EQ(error_of<elarin::UsageError>([&] { elarin::load_hf_tokenizer(dir.path); }),
            "model " + dir.path +
                " has no tokenizer files (vocab.json + merges.txt or tokenizer.json): pass token "
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
  dir.write("merges.txt", "#version: 0.2\na b\nab c\n");  // "abc" is not in the vocab
  const std::string unknown =
      error_of<elarin::FormatError>([&] { elarin::load_hf_tokenizer(dir.path); });
  EXPECT_NE(unknown.find(path + " line 3: merged token 'abc'"), std::string::npos) << unknown;
  dir.write("vocab.json", R"({"a": 0, "b": "one"})");
  const std::string bad_id =
      error_of<elarin::FormatError>([&] { elarin::load_hf_tokenizer(dir.path); });
  EXPECT_NE(bad_id.find("vocab.json: token 'b': id is string"), std::string::npos) << bad_id;
}

// vocab.json + merges.txt with every byte and a few merges: round trips need no downloaded data.
TEST(TokenizerRoundTrip, DecodeOfEncodeIsTheInputOnAnyBytes) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[elarin::gpt2_byte_to_unicode_utf8(uint8_t(b))] = b;
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
    EXPECT_EQ(tok->decode(tok->encode(text)), text);
  }
  EXPECT_EQ(tok->encode(std::string(9, ' ')), (Ids{260, 260, 260, 260, 32}));
}

struct TokenizerGpt2 : ::testing::Test {
  std::unique_ptr<elarin::Tokenizer> tok;
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
    EXPECT_EQ(tok->decode(tok->encode(text)), text);
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

}  // namespace
