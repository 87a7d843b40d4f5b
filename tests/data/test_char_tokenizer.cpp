// CharTokenizer: nanoGPT's shakespeare_char vocabulary on the real corpus, round trips,
// UTF-8, and errors that name the bad character or id.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "elarin/core/errors.hpp"
#include "elarin/data/char_tokenizer.hpp"

namespace {

using elarin::CharTokenizer;

TEST(CharTokenizer, TinyShakespeareHasNanoGptsVocabulary) {
  std::ifstream in(std::string(ELARIN_SOURCE_DIR) + "/../shared/data/tinyshakespeare.txt",
                   std::ios::binary);
  if (!in) GTEST_SKIP() << "../shared/data/tinyshakespeare.txt absent";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  auto tok = CharTokenizer::fit(text);
  // nanoGPT's prepare.py: 65 symbols, sorted, so '\n' is 0, ' ' is 1, 'a' is 39.
  EXPECT_EQ(tok.vocab_size(), 65);
  EXPECT_EQ(tok.encode("\n")[0], 0);
  EXPECT_EQ(tok.encode(" ")[0], 1);
  EXPECT_EQ(tok.encode("a")[0], 39);
  auto ids = tok.encode(text);
  EXPECT_EQ(ids.size(), 1115394u);
  EXPECT_EQ(tok.decode(ids), text);
}

TEST(CharTokenizer, RoundTripsUtf8AndSavesItsVocabulary) {
  const std::string text = "naïve café — ok";
  auto tok = CharTokenizer::fit(text);
  EXPECT_EQ(tok.vocab_size(), 12);  // n a ï v e space c f é — o k
  auto ids = tok.encode(text);
  EXPECT_EQ(ids.size(), 15u);  // code points, not bytes
  EXPECT_EQ(tok.decode(ids), text);
  auto back = CharTokenizer::from_json(tok.to_json());
  EXPECT_EQ(back.encode(text), ids);
}

TEST(CharTokenizer, ErrorsNameTheCharacterAndTheId) {
  auto tok = CharTokenizer::fit("abc");
  try {
    tok.encode("abz");
    FAIL() << "no error";
  } catch (const elarin::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'z'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("byte 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(tok.decode({0, 3}), elarin::Error);
  EXPECT_THROW(CharTokenizer::fit("a\xff"), elarin::Error);
  EXPECT_THROW(CharTokenizer::from_json("[\"b\", \"a\"]"), elarin::Error);
}

}  // namespace
