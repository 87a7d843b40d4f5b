// The Jinja lexer of @huggingface/jinja 0.5.13: its source preprocessing (lstrip_blocks,
// trim_blocks, {% generation %} removal) and tokenizer. Leaves out parsing (parser.hpp).
#pragma once

#include <string>
#include <vector>

namespace elarin::jinja {

enum class TokenType {
  Text,
  NumericLiteral,
  StringLiteral,
  Identifier,
  Equals,
  OpenParen,
  CloseParen,
  OpenStatement,
  CloseStatement,
  OpenExpression,
  CloseExpression,
  OpenSquareBracket,
  CloseSquareBracket,
  OpenCurlyBracket,
  CloseCurlyBracket,
  Comma,
  Dot,
  Colon,
  Pipe,
  AdditiveBinaryOperator,
  MultiplicativeBinaryOperator,
  ExponentiationBinaryOperator,
  ComparisonBinaryOperator,
  UnaryOperator,
  Comment,
};

struct Token {
  TokenType type;
  std::string value;  // the text as written; string literals unescaped
  int line;           // 1-based line in the original template source
};

// How a token type reads in error messages ("'%}'", "text").
const char* describe(TokenType type);

// Tokens of `source` as `new Template(source)` sees them (lstrip_blocks and trim_blocks on).
// Throws FormatError "<origin>:<line>: ..." on a bad character, escape or unclosed comment.
std::vector<Token> tokenize(const std::string& source, const std::string& origin);

}  // namespace elarin::jinja
