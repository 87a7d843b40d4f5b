// Preprocessing and tokenizing of templates, a port of @huggingface/jinja 0.5.13's lexer that
// also tracks each byte's line in the original source. Leaves out parsing.
#include "data/jinja/lexer.hpp"

#include <cstring>

#include "data/jinja/js_string.hpp"
#include "elarin/core/errors.hpp"

namespace elarin::jinja {
namespace {

// Text with the original line of each byte, so errors name lines of the unprocessed source.
struct Traced {
  std::string text;
  std::vector<int> line;

  void push(char c, int l) {
    text += c;
    line.push_back(l);
  }
};

size_t code_point_length(const std::string& s, size_t i) {
  const auto b = static_cast<uint8_t>(s[i]);
  size_t n = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
  return i + n <= s.size() ? n : 1;
}

char32_t code_point_at(const std::string& s, size_t i, size_t* len) {
  *len = code_point_length(s, i);
  const std::vector<char32_t> cps = to_code_points(std::string_view(s).substr(i, *len));
  return cps.empty() ? 0xFFFD : cps[0];
}

bool whitespace_at(const std::string& s, size_t i, size_t* len) {
  if (i >= s.size()) {
    *len = 0;
    return false;
  }
  return is_js_whitespace(code_point_at(s, i, len));
}

// JS multiline `^` matches after \n, \r, U+2028 and U+2029.
bool at_line_start(const std::string& s, size_t i) {
  if (i == 0) return true;
  if (s[i - 1] == '\n' || s[i - 1] == '\r') return true;
  return i >= 3 && static_cast<uint8_t>(s[i - 3]) == 0xE2 &&
         static_cast<uint8_t>(s[i - 2]) == 0x80 &&
         (static_cast<uint8_t>(s[i - 1]) == 0xA8 || static_cast<uint8_t>(s[i - 1]) == 0xA9);
}

bool is_strip_mark(char c) { return c == '#' || c == '%' || c == '-'; }

bool starts_at(const std::string& s, size_t i, const char* prefix) {
  const size_t n = std::strlen(prefix);
  return i <= s.size() && s.size() - i >= n && s.compare(i, n, prefix) == 0;
}

// `preprocess(template, {lstrip_blocks: true, trim_blocks: true})`.
Traced preprocess(const std::string& source) {
  Traced in;
  int line = 1;
  for (char c : source) {
    in.push(c, line);
    if (c == '\n') ++line;
  }
  if (!in.text.empty() && in.text.back() == '\n') {
    in.text.pop_back();
    in.line.pop_back();
  }
  // lstrip_blocks: /^[ \t]*({[#%-])/gm -> "$1".
  Traced lstripped;
  for (size_t i = 0; i < in.text.size();) {
    if (at_line_start(in.text, i)) {
      size_t j = i;
      while (j < in.text.size() && (in.text[j] == ' ' || in.text[j] == '\t')) ++j;
      if (j + 1 < in.text.size() && in.text[j] == '{' && is_strip_mark(in.text[j + 1])) i = j;
    }
    if (i < in.text.size()) lstripped.push(in.text[i], in.line[i]);
    ++i;
  }
  // trim_blocks: /([#%-]})\n/g -> "$1".
  Traced trimmed;
  const std::string& t = lstripped.text;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '\n' && i >= 2 && t[i - 1] == '}' && is_strip_mark(t[i - 2])) continue;
    trimmed.push(t[i], lstripped.line[i]);
  }
  // /{%(-?)\s*(?:end)?generation\s*(-?)%}(\s*)/gs: the tags vanish, "-" strips around them.
  const std::string& g = trimmed.text;
  Traced out;
  size_t last = 0;
  size_t len;
  for (size_t p = g.find("{%"); p != std::string::npos; p = g.find("{%", p + 1)) {
    if (p < last) continue;
    size_t q = p + 2;
    const bool lstrip = q < g.size() && g[q] == '-';
    if (lstrip) ++q;
    while (whitespace_at(g, q, &len)) q += len;
    if (starts_at(g, q, "endgeneration")) q += 3;
    if (!starts_at(g, q, "generation")) continue;
    q += 10;
    while (whitespace_at(g, q, &len)) q += len;
    const bool rstrip = q < g.size() && g[q] == '-';
    if (rstrip) ++q;
    if (!starts_at(g, q, "%}")) continue;
    q += 2;
    const size_t after_begin = q;
    while (whitespace_at(g, q, &len)) q += len;
    size_t end = p;
    if (lstrip) {
      // Walk back over whole whitespace code points, never before `last`.
      while (end > last) {
        size_t k = end - 1;
        while (k > last && (static_cast<uint8_t>(g[k]) & 0xC0) == 0x80) --k;
        size_t cl;
        if (!is_js_whitespace(code_point_at(g, k, &cl))) break;
        end = k;
      }
    }
    for (size_t i = last; i < end; ++i) out.push(g[i], trimmed.line[i]);
    if (!rstrip) {
      for (size_t i = after_begin; i < q; ++i) out.push(g[i], trimmed.line[i]);
    }
    last = q;
    p = q - 1;
  }
  for (size_t i = last; i < g.size(); ++i) out.push(g[i], trimmed.line[i]);
  return out;
}

bool is_word(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

struct Rule {
  const char* seq;
  TokenType type;
};

// ORDERED_MAPPING_TABLE: longer sequences first where they share a first character.
const Rule kRules[] = {
    {"{%", TokenType::OpenStatement},
    {"%}", TokenType::CloseStatement},
    {"{{", TokenType::OpenExpression},
    {"}}", TokenType::CloseExpression},
    {"(", TokenType::OpenParen},
    {")", TokenType::CloseParen},
    {"{", TokenType::OpenCurlyBracket},
    {"}", TokenType::CloseCurlyBracket},
    {"[", TokenType::OpenSquareBracket},
    {"]", TokenType::CloseSquareBracket},
    {",", TokenType::Comma},
    {".", TokenType::Dot},
    {":", TokenType::Colon},
    {"|", TokenType::Pipe},
    {"<=", TokenType::ComparisonBinaryOperator},
    {">=", TokenType::ComparisonBinaryOperator},
    {"==", TokenType::ComparisonBinaryOperator},
    {"!=", TokenType::ComparisonBinaryOperator},
    {"<", TokenType::ComparisonBinaryOperator},
    {">", TokenType::ComparisonBinaryOperator},
    {"+", TokenType::AdditiveBinaryOperator},
    {"-", TokenType::AdditiveBinaryOperator},
    {"~", TokenType::AdditiveBinaryOperator},
    {"**", TokenType::ExponentiationBinaryOperator},
    {"*", TokenType::MultiplicativeBinaryOperator},
    {"//", TokenType::MultiplicativeBinaryOperator},
    {"/", TokenType::MultiplicativeBinaryOperator},
    {"%", TokenType::MultiplicativeBinaryOperator},
    {"=", TokenType::Equals},
};

class Lexer {
 public:
  Lexer(const std::string& source, const std::string& origin)
      : src_(preprocess(source)), s_(src_.text), origin_(origin) {}

  std::vector<Token> run() {
    while (pos_ < s_.size()) step();
    return std::move(tokens_);
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    const int line = src_.line.empty() ? 1 : src_.line[pos_ < s_.size() ? pos_ : s_.size() - 1];
    throw FormatError(origin_ + ":" + std::to_string(line) + ": " + message);
  }

  int line_at(size_t p) const {
    if (src_.line.empty()) return 1;
    return src_.line[p < s_.size() ? p : s_.size() - 1];
  }

  void push(TokenType type, std::string value, size_t at) {
    tokens_.push_back(Token{type, std::move(value), line_at(at)});
  }

  char at(size_t p) const { return p < s_.size() ? s_[p] : '\0'; }

  // consumeWhile: running into the end of the input inside a tag is an error.
  template <typename Pred>
  std::string consume_while(Pred pred) {
    const size_t start = pos_;
    size_t len;
    while (pos_ < s_.size() && pred(pos_, &len)) {
      pos_ += len;
      if (pos_ >= s_.size()) fail("unexpected end of template inside a tag");
    }
    return s_.substr(start, pos_ - start);
  }

  std::string consume_digits() {
    return consume_while([this](size_t p, size_t* len) {
      *len = 1;
      return is_digit(s_[p]);
    });
  }

  std::string consume_string(char quote) {
    std::string str;
    while (true) {
      if (pos_ >= s_.size()) fail("unterminated string literal");
      const char c = s_[pos_];
      if (c == quote) break;
      ++pos_;
      if (c != '\\') {
        str += c;
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated string literal");
      const char escaped = s_[pos_++];
      if (escaped == 'x' || escaped == 'u') {
        const size_t n = escaped == 'x' ? 2 : 4;
        const std::string hex = s_.substr(pos_, n);
        bool ok = hex.size() == n;
        for (char h : hex) ok = ok && is_hex(h);
        if (!ok)
          fail("invalid escape '\\" + std::string(1, escaped) + hex + "' in a string literal");
        append_code_point(str, static_cast<char32_t>(std::stoul(hex, nullptr, 16)));
        pos_ += n;
        continue;
      }
      static const char* kFrom = "ntrbfv'\"\\";
      static const char* kTo = "\n\t\r\b\f\v'\"\\";
      const char* hit = std::strchr(kFrom, escaped);
      if (hit == nullptr || escaped == '\0') {
        fail("unknown escape '\\" + std::string(1, escaped) +
             "' in a string literal (expected one of \\n \\t \\r \\b \\f \\v \\' \\\" \\\\ \\x "
             "\\u)");
      }
      str += kTo[hit - kFrom];
    }
    return normalize_surrogates(str, false);
  }

  void strip_trailing_whitespace() {
    if (!tokens_.empty() && tokens_.back().type == TokenType::Text) {
      tokens_.back().value = trim_end(tokens_.back().value);
      if (tokens_.back().value.empty()) tokens_.pop_back();
    }
  }

  void skip_leading_whitespace() {
    size_t len;
    while (whitespace_at(s_, pos_, &len)) pos_ += len;
  }

  void step() {
    const bool have_last = !tokens_.empty();
    const TokenType last = have_last ? tokens_.back().type : TokenType::Text;
    if (!have_last || last == TokenType::CloseStatement || last == TokenType::CloseExpression ||
        last == TokenType::Comment) {
      size_t end = pos_;
      while (true) {
        end = s_.find('{', end);
        if (end == std::string::npos) {
          end = s_.size();
          break;
        }
        const char next = at(end + 1);
        if (next == '%' || next == '{' || next == '#') break;
        ++end;
      }
      if (end > pos_) {
        push(TokenType::Text, s_.substr(pos_, end - pos_), pos_);
        pos_ = end;
        return;
      }
    }
    if (at(pos_) == '{') {
      const char next = at(pos_ + 1);
      if (next == '#') {
        const size_t open = pos_;
        pos_ += 2;
        const bool strip_before = at(pos_) == '-';
        if (strip_before) ++pos_;
        const size_t end = s_.find("#}", pos_);
        if (end == std::string::npos) {
          pos_ = open;
          fail("unclosed comment: '{#' without '#}'");
        }
        std::string comment = s_.substr(pos_, end - pos_);
        const bool strip_after = !comment.empty() && comment.back() == '-';
        if (strip_after) comment.pop_back();
        if (strip_before) strip_trailing_whitespace();
        push(TokenType::Comment, comment, open);
        pos_ = end + 2;
        if (strip_after) skip_leading_whitespace();
        return;
      }
      if (at(pos_ + 2) == '-' && (next == '%' || next == '{')) {
        strip_trailing_whitespace();
        push(next == '%' ? TokenType::OpenStatement : TokenType::OpenExpression,
             next == '%' ? "{%" : "{{", pos_);
        if (next == '{') curly_depth_ = 0;
        pos_ += 3;
        return;
      }
    }
    consume_while([this](size_t p, size_t* len) { return whitespace_at(s_, p, len); });
    const char c = at(pos_);
    if (c == '-' && at(pos_ + 2) == '}' && (at(pos_ + 1) == '%' || at(pos_ + 1) == '}')) {
      const bool statement = at(pos_ + 1) == '%';
      push(statement ? TokenType::CloseStatement : TokenType::CloseExpression,
           statement ? "%}" : "}}", pos_);
      pos_ += 3;
      skip_leading_whitespace();
      return;
    }
    if (c == '-' || c == '+') {
      if (!have_last || last == TokenType::Text)
        fail(std::string("unexpected character '") + c + "'");
      switch (last) {
        case TokenType::Identifier:
        case TokenType::NumericLiteral:
        case TokenType::StringLiteral:
        case TokenType::CloseParen:
        case TokenType::CloseSquareBracket:
          break;
        default: {
          // A sign glued to a number is part of the literal; otherwise a unary operator.
          const size_t start = pos_;
          ++pos_;
          std::string num = consume_digits();
          if (!num.empty() && at(pos_) == '.' && is_digit(at(pos_ + 1))) {
            ++pos_;
            num += "." + consume_digits();
          }
          push(num.empty() ? TokenType::UnaryOperator : TokenType::NumericLiteral,
               std::string(1, c) + num, start);
          return;
        }
      }
    }
    for (const Rule& rule : kRules) {
      if (rule.seq[0] != c) continue;
      if (std::strcmp(rule.seq, "}}") == 0 && curly_depth_ > 0) continue;
      const size_t n = std::strlen(rule.seq);
      if (!starts_at(s_, pos_, rule.seq)) continue;
      push(rule.type, rule.seq, pos_);
      if (rule.type == TokenType::OpenExpression) {
        curly_depth_ = 0;
      } else if (rule.type == TokenType::OpenCurlyBracket) {
        ++curly_depth_;
      } else if (rule.type == TokenType::CloseCurlyBracket) {
        --curly_depth_;
      }
      pos_ += n;
      return;
    }
    if (c == '\'' || c == '"') {
      const size_t start = pos_;
      ++pos_;
      std::string str = consume_string(c);
      push(TokenType::StringLiteral, std::move(str), start);
      ++pos_;
      return;
    }
    if (is_digit(c)) {
      const size_t start = pos_;
      std::string num = consume_digits();
      if (last != TokenType::Dot && at(pos_) == '.' && is_digit(at(pos_ + 1))) {
        ++pos_;
        num += "." + consume_digits();
      }
      push(TokenType::NumericLiteral, num, start);
      return;
    }
    if (is_word(c)) {
      const size_t start = pos_;
      std::string word = consume_while([this](size_t p, size_t* len) {
        *len = 1;
        return is_word(s_[p]);
      });
      push(TokenType::Identifier, word, start);
      return;
    }
    size_t len;
    code_point_at(s_, pos_, &len);
    fail("unexpected character '" + s_.substr(pos_, len) + "' inside a tag");
  }

  Traced src_;
  const std::string& s_;
  const std::string& origin_;
  size_t pos_ = 0;
  int curly_depth_ = 0;
  std::vector<Token> tokens_;
};

}  // namespace

const char* describe(TokenType type) {
  switch (type) {
    case TokenType::Text:
      return "text";
    case TokenType::NumericLiteral:
      return "a number";
    case TokenType::StringLiteral:
      return "a string";
    case TokenType::Identifier:
      return "a name";
    case TokenType::Equals:
      return "'='";
    case TokenType::OpenParen:
      return "'('";
    case TokenType::CloseParen:
      return "')'";
    case TokenType::OpenStatement:
      return "'{%'";
    case TokenType::CloseStatement:
      return "'%}'";
    case TokenType::OpenExpression:
      return "'{{'";
    case TokenType::CloseExpression:
      return "'}}'";
    case TokenType::OpenSquareBracket:
      return "'['";
    case TokenType::CloseSquareBracket:
      return "']'";
    case TokenType::OpenCurlyBracket:
      return "'{'";
    case TokenType::CloseCurlyBracket:
      return "'}'";
    case TokenType::Comma:
      return "','";
    case TokenType::Dot:
      return "'.'";
    case TokenType::Colon:
      return "':'";
    case TokenType::Pipe:
      return "'|'";
    case TokenType::AdditiveBinaryOperator:
      return "an additive operator";
    case TokenType::MultiplicativeBinaryOperator:
      return "a multiplicative operator";
    case TokenType::ExponentiationBinaryOperator:
      return "'**'";
    case TokenType::ComparisonBinaryOperator:
      return "a comparison";
    case TokenType::UnaryOperator:
      return "a sign";
    case TokenType::Comment:
      return "a comment";
  }
  return "a token";
}

std::vector<Token> tokenize(const std::string& source, const std::string& origin) {
  return Lexer(source, origin).run();
}

}  // namespace elarin::jinja
