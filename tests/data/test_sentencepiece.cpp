// SentencePieceTokenizer against the real programs: models trained by spm_train (through
// elarin's pipe) on tinyshakespeare and on the fortunes, then every line of both corpora (and
// a probe of awkward lines) encoded by `spm_encode --output_format=id` and by the reader, which
// must agree id for id; decoding must equal spm_decode's. Plus hand-built models for the merge
// and Viterbi rules, and malformed files that must be FormatErrors, never crashes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "cli/run_binary.hpp"
#include "elarin/core/atomic_file.hpp"
#include "elarin/core/errors.hpp"
#include "elarin/data/sentencepiece.hpp"
#include "elarin/data/sentencepiece_trainer.hpp"
#include "elarin/data/text_corpus.hpp"
#include "test_util.hpp"

namespace {

namespace fs = std::filesystem;
using elarin::SentencePieceTokenizer;

const std::string kShakespeare =
    std::string(ELARIN_SOURCE_DIR) + "/../shared/data/tinyshakespeare.txt";
const std::vector<std::string> kUserSymbols = {"<INST>", "<INP>", "<RESP>", "<SEP>"};

// Lines that exercise normalisation and the unknown / byte / user-symbol paths.
const std::string kProbe =
    "<INST>Hello<SEP>world<RESP> ok <INP>\n"
    "<INST><INST><SEP>x<INST>y <INS <INST\n"
    "  leading and trailing   \n"
    "\ttab\tseparated\t and  double  spaces\n"
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae text\n"  // 日本語の
    "\xc3\x9cn\xc3\xaf"
    "c\xc3\xb6"
    "d\xc3\xa9 fa\xc3\xa7"
    "ade\n"  // Ünïcödé façade
    "\xef\xbd\x86\xef\xbd\x95\xef\xbd\x8c\xef\xbd\x8c "
    "\xe3\x80\x80\xef\xbc\x91\xef\xbc\x92\n"     // ｆｕｌｌ　１２
    "\xef\xac\x81ne \xef\xac\x82ow ligatures\n"  // ﬁne ﬂow
    "emoji \xf0\x9f\x98\x80\xf0\x9f\x91\x8d here\n"
    "\x01"
    "ctrl\x7f"
    "chars\x1b[0m\n"
    "carriage\rreturn\r\n"
    "\n"
    "   \n"
    "\xc2\xa0nbsp\xc2\xa0x \xe2\x80\x8bzero width\n"
    "<unk> <s> </s> \xe2\x96\x81 lower block \xe2\x96\x81\xe2\x96\x81\n"
    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a\n"
    "e\xcc\x81 combining, \xce\xa9\xe2\x89\x88\xc3\xa7\xe2\x88\x9a\n"
    "Mr. O'Neil's 3.14159 $100 #hash @at "
    "\xe2\x80\xa6\xe2\x80\x9cq\xe2\x80\x9d\xe2\x80\x94\n"
    "bad bytes \x80\xff\xc3 end\n";

std::string slurp(const std::string& path) { return elarin::read_file(path); }

// Lines as std::getline (and so spm_encode) sees them: split at '\n', no empty last line.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool have_spm() {
  return std::system(
             "command -v spm_train >/dev/null && command -v spm_encode >/dev/null && "
             "command -v spm_decode >/dev/null") == 0;
}

std::string ids_text(const std::vector<int64_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
  return s;
}

std::string pieces_text(const SentencePieceTokenizer& tok, const std::vector<int64_t>& ids) {
  std::string s;
  for (auto id : ids) s += (s.empty() ? "" : " ") + tok.piece(id);
  return s;
}

std::vector<int64_t> parse_ids(const std::string& line) {
  std::vector<int64_t> ids;
  std::istringstream in(line);
  for (int64_t v; in >> v;) ids.push_back(v);
  return ids;
}

// Models trained once per test process, in one scratch directory.
class Models {
 public:
  static Models& get() {
    static Models m;
    return m;
  }
  const std::string& dir() const { return dir_.path; }

  // The fortunes corpus as a file (records joined by blank lines), for spm_encode.
  const std::string& fortunes_file() {
    if (fortunes_.empty()) {
      fortunes_records_ = elarin::load_fortunes().records;
      fortunes_ = dir_.path + "/fortunes.txt";
      std::string text;
      for (const auto& r : fortunes_records_) text += r + "\n\n";
      std::ofstream(fortunes_, std::ios::binary) << text;
    }
    return fortunes_;
  }
  const std::string& probe_file() {
    if (probe_.empty()) {
      probe_ = dir_.path + "/probe.txt";
      std::ofstream(probe_, std::ios::binary) << kProbe << std::string("tab\0nul\n", 8);
    }
    return probe_;
  }

  // `corpus` is "shakespeare" or "fortunes".
  const std::string& model(const std::string& corpus, const std::string& type, int64_t vocab,
                           bool bytes_and_user = false) {
    const std::string key =
        corpus + "-" + type + "-" + std::to_string(vocab) + (bytes_and_user ? "-bytes-user" : "");
    auto it = models_.find(key);
    if (it != models_.end()) return it->second;
    elarin::SpmTrainOptions o;
    o.output_prefix = dir_.path + "/" + key;
    o.vocab_size = vocab;
    o.model_type = type;
    o.num_threads = 2;
    if (bytes_and_user) {
      o.byte_fallback = true;
      o.user_symbols = kUserSymbols;
    }
    std::vector<std::string> records;
    if (corpus == "shakespeare") {
      records = {slurp(kShakespeare)};
    } else {
      fortunes_file();
      records = fortunes_records_;
      o.input_sentence_size = 20000;  // of ~60k lines: keeps unigram training to seconds
    }
    auto r = elarin::train_sentencepiece(records, o);
    EXPECT_EQ(r.pieces, vocab);
    return models_[key] = r.model_path;
  }

 private:
  elarin::test::TempDir dir_;
  std::string fortunes_, probe_;
  std::vector<std::string> fortunes_records_;
  std::map<std::string, std::string> models_;
};

struct Comparison {
  size_t lines = 0, ids = 0;
  size_t round_trips = 0;          // lines spm decodes back to themselves ...
  size_t round_trip_failures = 0;  // ... that the reader's decode(encode()) does not
  std::string first_mismatch;      // empty when every line agrees
};

// Runs spm_encode and spm_decode over `text_file` and compares with the reader line by line.
Comparison compare_with_spm(const std::string& model, const std::string& text_file) {
  Comparison c;
  const std::string base = Models::get().dir() + "/cmp";
  const std::string q = elarin::test::shell_quote(model);
  const std::string cmd = "spm_encode --model=" + q + " --output_format=id < " +
                          elarin::test::shell_quote(text_file) + " > " + base + ".ids && " +
                          "spm_decode --model=" + q + " --input_format=id < " + base + ".ids > " +
                          base + ".dec";
  if (std::system(cmd.c_str()) != 0) {
    c.first_mismatch = "spm_encode / spm_decode failed: " + cmd;
    return c;
  }
  const auto tok = SentencePieceTokenizer::load(model);
  const auto text = lines_of(slurp(text_file));
  const auto want = lines_of(slurp(base + ".ids"));
  const auto want_decoded = lines_of(slurp(base + ".dec"));
  if (want.size() != text.size() || want_decoded.size() != text.size()) {
    c.first_mismatch = "spm_encode wrote " + std::to_string(want.size()) + " lines for " +
                       std::to_string(text.size()) + " input lines";
    return c;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    const auto ids = tok.encode(text[i]);
    ++c.lines;
    c.ids += ids.size();
    const auto spm_ids = parse_ids(want[i]);
    if (c.first_mismatch.empty() && ids != spm_ids) {
      c.first_mismatch = "line " + std::to_string(i + 1) + " '" + text[i] + "': spm_encode " +
                         want[i] + " [" + pieces_text(tok, spm_ids) + "], elarin " + ids_text(ids) +
                         " [" + pieces_text(tok, ids) + "]";
    }
    const std::string decoded = tok.decode(spm_ids);
    if (c.first_mismatch.empty() && decoded != want_decoded[i]) {
      c.first_mismatch = "line " + std::to_string(i + 1) + ": spm_decode '" + want_decoded[i] +
                         "', elarin '" + decoded + "'";
    }
    if (want_decoded[i] == text[i]) {
      ++c.round_trips;
      if (tok.decode(ids) != text[i]) ++c.round_trip_failures;
    }
  }
  return c;
}

// Both corpora and the probe, through one model.
void expect_matches_spm(const std::string& model, const std::string& corpus_file,
                        size_t min_lines) {
  for (const std::string& file : {corpus_file, Models::get().probe_file()}) {
    const Comparison c = compare_with_spm(model, file);
    EXPECT_EQ(c.first_mismatch, "") << fs::path(model).filename() << " on " << file;
    EXPECT_EQ(c.round_trip_failures, 0u) << fs::path(model).filename() << " on " << file;
    if (file == corpus_file) {
      EXPECT_GE(c.lines, min_lines);
      EXPECT_GT(c.ids, c.lines) << "suspiciously few ids";
      // spm round-trips most lines (not indented ones: leading spaces are dropped).
      EXPECT_GT(c.round_trips, c.lines / 2) << fs::path(model).filename();
    }
  }
}

#define REQUIRE_SPM()                                             \
  if (!have_spm())                                                \
    GTEST_SKIP() << "spm_train / spm_encode / spm_decode absent " \
                    "(apt-get install sentencepiece)";            \
  if (!fs::exists(kShakespeare)) GTEST_SKIP() << kShakespeare << " absent"

#define REQUIRE_FORTUNES()                     \
  if (!fs::is_directory(elarin::kFortunesDir)) \
  GTEST_SKIP() << "fortunes absent (apt-get install fortunes)"

TEST(SentencePiece, UnigramMatchesSpmEncodeOnTinyShakespeare) {
  REQUIRE_SPM();
  expect_matches_spm(Models::get().model("shakespeare", "unigram", 2000), kShakespeare, 40000);
}

TEST(SentencePiece, BpeMatchesSpmEncodeOnTinyShakespeare) {
  REQUIRE_SPM();
  expect_matches_spm(Models::get().model("shakespeare", "bpe", 2000), kShakespeare, 40000);
}

TEST(SentencePiece, UnigramMatchesSpmEncodeOnFortunes) {
  REQUIRE_SPM();
  REQUIRE_FORTUNES();
  auto& m = Models::get();
  expect_matches_spm(m.model("fortunes", "unigram", 2000), m.fortunes_file(), 60000);
}

TEST(SentencePiece, BpeMatchesSpmEncodeOnFortunes) {
  REQUIRE_SPM();
  REQUIRE_FORTUNES();
  auto& m = Models::get();
  expect_matches_spm(m.model("fortunes", "bpe", 2000), m.fortunes_file(), 60000);
}

TEST(SentencePiece, ByteFallbackAndUserSymbolsMatchSpmEncode) {
  REQUIRE_SPM();
  REQUIRE_FORTUNES();
  auto& m = Models::get();
  const std::string bpe = m.model("shakespeare", "bpe", 1000, true);
  const std::string unigram = m.model("fortunes", "unigram", 1000, true);
  expect_matches_spm(bpe, m.fortunes_file(), 60000);
  expect_matches_spm(unigram, kShakespeare, 40000);
  for (const auto& path : {bpe, unigram}) {
    const auto tok = SentencePieceTokenizer::load(path);
    EXPECT_TRUE(tok.byte_fallback());
    // User symbols are single pieces wherever they stand.
    const auto ids = tok.encode("x<INST>y<SEP>");
    const int64_t inst = tok.piece_to_id("<INST>"), sep = tok.piece_to_id("<SEP>");
    EXPECT_NE(inst, tok.unk_id());
    EXPECT_EQ(std::count(ids.begin(), ids.end(), inst), 1) << pieces_text(tok, ids);
    EXPECT_EQ(ids.back(), sep) << pieces_text(tok, ids);
    // Characters outside the vocabulary come back through their bytes.
    const std::string text = "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 ok";  // 日本 😀 ok
    const auto tids = tok.encode(text);
    EXPECT_EQ(std::count(tids.begin(), tids.end(), tok.unk_id()), 0);
    EXPECT_EQ(tok.decode(tids), text);
  }
}

TEST(SentencePiece, IdentityNormalizerModelMatchesSpmEncode) {
  REQUIRE_SPM();
  // spm_train directly, for the flags elarin's trainer does not expose: no NFKC table, no
  // dummy prefix, whitespace kept as it is.
  auto& m = Models::get();
  const std::string prefix = m.dir() + "/identity";
  const std::string cmd = "spm_train --input=" + elarin::test::shell_quote(kShakespeare) +
                          " --model_prefix=" + prefix +
                          " --vocab_size=600 --normalization_rule_name=identity"
                          " --add_dummy_prefix=false --remove_extra_whitespaces=false"
                          " --num_threads=2 --minloglevel=2 > /dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const auto tok = SentencePieceTokenizer::load(prefix + ".model");
  EXPECT_EQ(tok.normalize("  a  b"),
            "\xe2\x96\x81\xe2\x96\x81"
            "a\xe2\x96\x81\xe2\x96\x81"
            "b");
  expect_matches_spm(prefix + ".model", kShakespeare, 40000);
}

// --- hand-built models: the rules themselves, independent of spm ---

std::string varint(uint64_t v) {
  std::string s;
  while (v >= 0x80) {
    s += char((v & 0x7F) | 0x80);
    v >>= 7;
  }
  return s + char(v);
}
std::string field_varint(int field, uint64_t v) { return varint(uint64_t(field) << 3) + varint(v); }
std::string field_bytes(int field, const std::string& b) {
  return varint((uint64_t(field) << 3) | 2) + varint(b.size()) + b;
}
std::string field_float(int field, float f) {
  std::string s = varint((uint64_t(field) << 3) | 5);
  char b[4];
  std::memcpy(b, &f, 4);
  return s + std::string(b, 4);
}
std::string piece(const std::string& p, float score, int type = 1) {
  return field_bytes(1, field_bytes(1, p) + field_float(2, score) + field_varint(3, type));
}
// <unk> <s> </s>, then `pieces`; identity normalisation without a dummy prefix.
std::string hand_model(const std::string& pieces, int model_type,
                       const std::string& trainer_extra = "", const std::string& normalizer = "") {
  return piece("<unk>", 0, 2) + piece("<s>", 0, 3) + piece("</s>", 0, 3) + pieces +
         field_bytes(2, field_varint(3, model_type) + trainer_extra) +
         field_bytes(
             3, normalizer.empty() ? field_bytes(1, "identity") + field_varint(3, 0) : normalizer);
}

std::vector<std::string> encode_pieces(const SentencePieceTokenizer& tok, const std::string& s) {
  std::vector<std::string> out;
  for (auto id : tok.encode(s)) out.push_back(tok.piece(id));
  return out;
}

using Pieces = std::vector<std::string>;

TEST(SentencePiece, BpeMergesTheBestPairLeftmostFirst) {
  const auto tok = SentencePieceTokenizer::from_bytes(
      hand_model(piece("a", -1) + piece("b", -2) + piece("c", -3) + piece("aa", -4) +
                     piece("ab", -6) + piece("bc", -5),
                 2),
      "bpe-hand");
  EXPECT_EQ(tok.model_type(), "bpe");
  // Equal scores: the leftmost pair merges first, so "aaa" is aa|a, never a|aa.
  EXPECT_EQ(encode_pieces(tok, "aaa"), (Pieces{"aa", "a"}));
  // The pair whose merged piece scores best goes first: bc (-5) beats ab (-6).
  EXPECT_EQ(encode_pieces(tok, "abc"), (Pieces{"a", "bc"}));
  EXPECT_EQ(encode_pieces(tok, "ab"), (Pieces{"ab"}));
  // A run of unknown characters is one <unk>; ids decode back with " ⁇ " for it.
  EXPECT_EQ(encode_pieces(tok, "axyzb"), (Pieces{"a", "<unk>", "b"}));
  EXPECT_EQ(tok.decode(tok.encode("axyzb")), "a \xe2\x81\x87 b");
}

TEST(SentencePiece, UnigramTakesTheBestScoringPath) {
  const auto tok = SentencePieceTokenizer::from_bytes(
      hand_model(piece("a", -1) + piece("b", -1) + piece("ab", -1.5f) + piece("abab", -3.5f) +
                     piece("<X>", 0, 4),
                 1),
      "unigram-hand");
  // ab+ab = -3.0 beats abab = -3.5 and a+b+a+b = -4.
  EXPECT_EQ(encode_pieces(tok, "abab"), (Pieces{"ab", "ab"}));
  // A user-defined symbol is one piece; unknown characters cost min score - 10 each and a
  // run of them is one <unk>.
  EXPECT_EQ(encode_pieces(tok, "a<X>zzb"), (Pieces{"a", "<X>", "<unk>", "b"}));
  EXPECT_EQ(tok.decode(tok.encode("ab<X>")), "ab<X>");
}

TEST(SentencePiece, DecodeRejectsIdsOutOfRange) {
  const auto tok = SentencePieceTokenizer::from_bytes(hand_model(piece("a", -1), 1), "m");
  EXPECT_EQ(tok.vocab_size(), 4);
  const auto msg = elarin::test::error_message<elarin::Error>([&] { tok.decode({3, 4}); });
  EXPECT_NE(msg.find("id 4 out of range 0..3"), std::string::npos) << msg;
  EXPECT_THROW(tok.piece(-1), elarin::Error);
  EXPECT_EQ(tok.decode({1, 3, 2}), "a");  // <s> and </s> are invisible
}

TEST(SentencePiece, MalformedHandBuiltModelsNameWhatIsWrong) {
  auto message = [](const std::string& bytes) {
    return elarin::test::error_message<elarin::FormatError>(
        [&] { SentencePieceTokenizer::from_bytes(bytes, "bad.model"); });
  };
  auto expect_says = [&](const std::string& bytes, const std::string& what) {
    const std::string msg = message(bytes);
    EXPECT_NE(msg.find("bad.model"), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << "wanted '" << what << "' in: " << msg;
  };
  const std::string ok = piece("a", -1);
  expect_says("", "no pieces");
  expect_says(hand_model(ok, 1).substr(0, 20), "truncated");
  expect_says(field_varint(1, 5), "wire type 0");  // pieces must be a message
  expect_says(hand_model(piece("b", -1, 9), 1), "piece type 9");
  expect_says(hand_model(ok + piece("a", -2), 1), "'a' is defined twice");
  expect_says(hand_model(piece("<0x41>", 0, 6), 1), "byte_fallback is false");
  expect_says(hand_model(piece("<0x41>", 0, 6), 1, field_varint(35, 1)), "256 byte pieces");
  expect_says(hand_model(ok, 3), "model_type word");
  expect_says(
      hand_model(ok, 1, "",
                 field_bytes(1, "x") + field_bytes(2, std::string("\xff\xff\x00\x00zz", 6))),
      "broken precompiled_charsmap");
  // No <unk>: pieces without the reserved ones.
  expect_says(ok + field_bytes(2, field_varint(3, 1)) + field_bytes(3, field_bytes(1, "identity")),
              "no unknown piece");
  expect_says(piece("<unk>", 0, 2) + ok, "no trainer_spec");
  EXPECT_THROW(SentencePieceTokenizer::load("/nonexistent/x.model"), elarin::Error);
}

TEST(SentencePiece, TruncatedOrCorruptedModelFilesAreErrorsNotCrashes) {
  REQUIRE_SPM();
  const std::string path = Models::get().model("shakespeare", "unigram", 2000);
  const std::string bytes = slurp(path);
  // Every cut of the file is detected, wherever it falls.
  size_t cuts = 0;
  for (size_t n = 0; n < bytes.size(); n += 499) {
    ++cuts;
    const std::string msg = elarin::test::error_message<elarin::FormatError>(
        [&] { SentencePieceTokenizer::from_bytes(bytes.substr(0, n), path); });
    ASSERT_NE(msg.find(path), std::string::npos) << "cut at " << n << ": " << msg;
  }
  EXPECT_GT(cuts, 100u);
  // Random byte corruption: either a clean Error, or a model whose ids stay in range.
  std::mt19937 rng(7);
  const auto lines = lines_of(slurp(kShakespeare).substr(0, 3000));
  int errors = 0, loaded = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string bad = bytes;
    for (int k = 0; k < 4; ++k) bad[rng() % bad.size()] = char(rng());
    try {
      const auto tok = SentencePieceTokenizer::from_bytes(bad, "corrupt.model");
      ++loaded;
      for (const auto& line : lines) {
        const auto ids = tok.encode(line);
        for (auto id : ids) ASSERT_TRUE(id >= 0 && id < tok.vocab_size()) << id;
        tok.decode(ids);
      }
    } catch (const elarin::Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_GT(loaded, 0);  // most flips land in scores or piece text and still parse
}

}  // namespace
