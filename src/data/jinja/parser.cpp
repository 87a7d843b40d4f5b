// Recursive-descent parser, a port of @huggingface/jinja 0.5.13's parse() (same grammar,
// same precedence, same accepted oddities such as optional commas in lists). Leaves out
// evaluation.
#include "data/jinja/parser.hpp"

#include <cstdlib>
#include <initializer_list>

#include "elarin/core/errors.hpp"

namespace elarin::jinja {
namespace {

constexpr int kMaxNesting = 200;  // statements and expressions; deeper is an error, not a crash

using MutNode = std::shared_ptr<Node>;

MutNode make(NodeKind kind, int line) {
  auto n = std::make_shared<Node>();
  n->kind = kind;
  n->line = line;
  return n;
}

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const std::string& origin)
      : t_(tokens), origin_(origin) {}

  std::vector<NodePtr> program() {
    std::vector<NodePtr> body;
    while (cur_ < t_.size()) body.push_back(parse_any());
    return body;
  }

 private:
  struct Depth {
    explicit Depth(Parser* p) : p_(p) {
      if (++p_->depth_ > kMaxNesting) {
        p_->fail(p_->line(), "template nests deeper than " + std::to_string(kMaxNesting) +
                                 " levels of statements or expressions");
      }
    }
    ~Depth() { --p_->depth_; }
    Parser* p_;
  };

  [[noreturn]] void fail(int line, const std::string& message) const {
    throw FormatError(origin_ + ":" + std::to_string(line) + ": " + message);
  }
  int line() const {
    if (t_.empty()) return 1;
    return cur_ < t_.size() ? t_[cur_].line : t_.back().line;
  }
  const Token* tok(size_t offset = 0) const {
    return cur_ + offset < t_.size() ? &t_[cur_ + offset] : nullptr;
  }
  bool is(TokenType type) const { return tok() && tok()->type == type; }
  bool is_identifier(const char* name, size_t offset = 0) const {
    const Token* t = tok(offset);
    return t && t->type == TokenType::Identifier && t->value == name;
  }
  bool is_statement(std::initializer_list<const char*> names) const {
    if (!is(TokenType::OpenStatement) || !tok(1) || tok(1)->type != TokenType::Identifier) {
      return false;
    }
    for (const char* name : names) {
      if (tok(1)->value == name) return true;
    }
    return false;
  }
  std::string found() const {
    const Token* t = tok();
    if (!t) return "the end of the template";
    if (t->type == TokenType::Text) return "text";
    return std::string(describe(t->type)) + " '" + t->value + "'";
  }
  const Token& expect(TokenType type, const std::string& what) {
    if (!is(type)) fail(line(), "expected " + what + ", found " + found());
    return t_[cur_++];
  }
  void expect_identifier(const char* name) {
    if (!is_identifier(name))
      fail(line(), std::string("expected '") + name + "', found " + found());
    ++cur_;
  }
  // Parses statements until one of `names` opens a tag; `opener` names the block in errors.
  std::vector<NodePtr> block_until(std::initializer_list<const char*> names, const char* opener,
                                   int open_line) {
    std::vector<NodePtr> body;
    while (!is_statement(names)) {
      if (!tok()) {
        fail(open_line, std::string("{% ") + opener + " %} is never closed (expected {% " +
                            *names.begin() + " %} before the end of the template)");
      }
      body.push_back(parse_any());
    }
    return body;
  }
  void close_block(const char* end_name) {
    expect(TokenType::OpenStatement, "'{%'");
    expect_identifier(end_name);
    expect(TokenType::CloseStatement, "'%}'");
  }

  NodePtr parse_any() {
    Depth depth(this);
    const Token& t = t_[cur_];
    switch (t.type) {
      case TokenType::Comment: {
        ++cur_;
        return make(NodeKind::Comment, t.line);
      }
      case TokenType::Text: {
        auto n = make(NodeKind::Text, t.line);
        n->name = t.value;
        ++cur_;
        return n;
      }
      case TokenType::OpenStatement:
        return parse_statement();
      case TokenType::OpenExpression: {
        ++cur_;
        NodePtr e = parse_expression();
        expect(TokenType::CloseExpression, "'}}'");
        return e;
      }
      default:
        fail(t.line, "unexpected " + found());
    }
  }

  NodePtr parse_statement() {
    const int open_line = line();
    ++cur_;  // {%
    if (!is(TokenType::Identifier))
      fail(line(), "expected a statement name after '{%', found " + found());
    const std::string name = tok()->value;
    ++cur_;
    if (name == "set") return parse_set(open_line);
    if (name == "if") {
      NodePtr n = parse_if(open_line);
      close_block("endif");
      return n;
    }
    if (name == "macro") {
      NodePtr n = parse_macro(open_line);
      close_block("endmacro");
      return n;
    }
    if (name == "for") {
      NodePtr n = parse_for(open_line);
      close_block("endfor");
      return n;
    }
    if (name == "call") {
      auto n = make(NodeKind::CallBlock, open_line);
      if (is(TokenType::OpenParen)) n->list = parse_args(true);
      NodePtr callee = parse_primary();
      if (callee->kind != NodeKind::Identifier)
        fail(open_line, "expected a macro name after {% call %}");
      auto call = make(NodeKind::Call, open_line);
      call->a = callee;
      call->list = parse_args(false);
      n->a = call;
      expect(TokenType::CloseStatement, "'%}'");
      n->list2 = block_until({"endcall"}, "call", open_line);
      close_block("endcall");
      n->special = special_arguments(n->list, n->list2);
      return n;
    }
    if (name == "break" || name == "continue") {
      expect(TokenType::CloseStatement, "'%}'");
      return make(name == "break" ? NodeKind::Break : NodeKind::Continue, open_line);
    }
    if (name == "filter") {
      auto n = make(NodeKind::FilterBlock, open_line);
      NodePtr filter = parse_primary();
      if (filter->kind == NodeKind::Identifier && is(TokenType::OpenParen))
        filter = parse_call(filter);
      n->a = filter;
      expect(TokenType::CloseStatement, "'%}'");
      n->list = block_until({"endfilter"}, "filter", open_line);
      close_block("endfilter");
      return n;
    }
    fail(open_line, "unsupported statement '{% " + name +
                        " %}' (supported: set, if, for, macro, call, filter, break, continue)");
  }

  NodePtr parse_set(int open_line) {
    auto n = make(NodeKind::Set, open_line);
    n->a = parse_sequence(false);
    if (is(TokenType::Equals)) {
      ++cur_;
      n->b = parse_sequence(false);
    } else {
      expect(TokenType::CloseStatement, "'=' or '%}'");
      n->list = block_until({"endset"}, "set", open_line);
      expect(TokenType::OpenStatement, "'{%'");
      expect_identifier("endset");
    }
    expect(TokenType::CloseStatement, "'%}'");
    return n;
  }

  NodePtr parse_if(int open_line) {
    auto n = make(NodeKind::If, open_line);
    n->a = parse_expression();
    expect(TokenType::CloseStatement, "'%}'");
    n->list = block_until({"elif", "else", "endif"}, "if", open_line);
    if (is_statement({"elif"})) {
      const int elif_line = line();
      cur_ += 2;
      n->list2.push_back(parse_if(elif_line));
    } else if (is_statement({"else"})) {
      cur_ += 2;
      expect(TokenType::CloseStatement, "'%}'");
      n->list2 = block_until({"endif"}, "if", open_line);
    }
    return n;
  }

  NodePtr parse_macro(int open_line) {
    NodePtr name = parse_primary();
    if (name->kind != NodeKind::Identifier)
      fail(open_line, "expected a macro name after {% macro %}");
    auto n = make(NodeKind::Macro, open_line);
    n->name = name->name;
    n->list = parse_args(true);
    expect(TokenType::CloseStatement, "'%}'");
    n->list2 = block_until({"endmacro"}, "macro", open_line);
    n->special = special_arguments(n->list, n->list2);
    return n;
  }

  NodePtr parse_sequence(bool primary) {
    const int at = line();
    std::vector<NodePtr> items{primary ? parse_primary() : parse_expression()};
    const bool tuple = is(TokenType::Comma);
    while (tuple) {
      ++cur_;
      items.push_back(primary ? parse_primary() : parse_expression());
      if (!is(TokenType::Comma)) break;
    }
    if (!tuple) return items[0];
    auto n = make(NodeKind::Tuple, at);
    n->list = std::move(items);
    return n;
  }

  NodePtr parse_for(int open_line) {
    auto n = make(NodeKind::For, open_line);
    n->a = parse_sequence(true);
    if (n->a->kind != NodeKind::Identifier && n->a->kind != NodeKind::Tuple) {
      fail(open_line, "expected a name or names for the {% for %} loop variable");
    }
    if (!is_identifier("in"))
      fail(line(), "expected 'in' after the loop variable, found " + found());
    ++cur_;
    n->b = parse_expression();
    expect(TokenType::CloseStatement, "'%}'");
    n->list = block_until({"endfor", "else"}, "for", open_line);
    if (is_statement({"else"})) {
      cur_ += 2;
      expect(TokenType::CloseStatement, "'%}'");
      n->list2 = block_until({"endfor"}, "for", open_line);
    }
    return n;
  }

  NodePtr parse_expression() {
    Depth depth(this);
    NodePtr a = parse_or();
    if (is_identifier("if")) {
      const int at = line();
      ++cur_;
      NodePtr test = parse_or();
      if (is_identifier("else")) {
        ++cur_;
        auto n = make(NodeKind::Ternary, at);
        n->a = test;
        n->b = a;
        n->c = parse_expression();
        return n;
      }
      auto n = make(NodeKind::Select, at);
      n->a = a;
      n->b = test;
      return n;
    }
    return a;
  }

  NodePtr binary(const std::string& op, NodePtr left, NodePtr right, int at) {
    auto n = make(NodeKind::Binary, at);
    n->name = op;
    n->a = std::move(left);
    n->b = std::move(right);
    return n;
  }

  NodePtr parse_or() {
    NodePtr left = parse_and();
    while (is_identifier("or")) {
      const int at = line();
      ++cur_;
      left = binary("or", left, parse_and(), at);
    }
    return left;
  }

  NodePtr parse_and() {
    NodePtr left = parse_not();
    while (is_identifier("and")) {
      const int at = line();
      ++cur_;
      left = binary("and", left, parse_not(), at);
    }
    return left;
  }

  NodePtr parse_not() {
    Depth depth(this);
    NodePtr right;
    while (is_identifier("not")) {
      const int at = line();
      ++cur_;
      auto n = make(NodeKind::Unary, at);
      n->name = "not";
      n->a = parse_not();
      right = n;
    }
    return right ? right : parse_comparison();
  }

  NodePtr parse_comparison() {
    NodePtr left = parse_additive();
    while (true) {
      const int at = line();
      std::string op;
      if (is_identifier("not") && is_identifier("in", 1)) {
        op = "not in";
        cur_ += 2;
      } else if (is_identifier("in") || is(TokenType::ComparisonBinaryOperator)) {
        op = t_[cur_++].value;
      } else {
        break;
      }
      left = binary(op, left, parse_additive(), at);
    }
    return left;
  }

  NodePtr parse_additive() {
    NodePtr left = parse_multiplicative();
    while (is(TokenType::AdditiveBinaryOperator)) {
      const Token& op = t_[cur_++];
      left = binary(op.value, left, parse_multiplicative(), op.line);
    }
    return left;
  }

  NodePtr parse_multiplicative() {
    NodePtr left = parse_power();
    while (is(TokenType::MultiplicativeBinaryOperator)) {
      const Token& op = t_[cur_++];
      left = binary(op.value, left, parse_power(), op.line);
    }
    return left;
  }

  NodePtr parse_power() {
    NodePtr left = parse_test();
    while (is(TokenType::ExponentiationBinaryOperator)) {
      const Token& op = t_[cur_++];
      left = binary(op.value, left, parse_test(), op.line);
    }
    return left;
  }

  NodePtr parse_test() {
    NodePtr operand = parse_filter();
    while (is_identifier("is")) {
      const int at = line();
      ++cur_;
      const bool negate = is_identifier("not");
      if (negate) ++cur_;
      NodePtr test = parse_primary();
      if (test->kind != NodeKind::Identifier) fail(at, "expected a test name after 'is'");
      auto n = make(NodeKind::Test, at);
      n->a = operand;
      n->name = test->name;
      n->flag = negate;
      operand = n;
    }
    return operand;
  }

  NodePtr parse_filter() {
    NodePtr operand = parse_unary();
    while (is(TokenType::Pipe)) {
      const int at = line();
      ++cur_;
      NodePtr filter = parse_primary();
      if (filter->kind != NodeKind::Identifier) fail(at, "expected a filter name after '|'");
      if (is(TokenType::OpenParen)) filter = parse_call(filter);
      auto n = make(NodeKind::FilterExpr, at);
      n->a = operand;
      n->b = filter;
      operand = n;
    }
    return operand;
  }

  NodePtr parse_unary() {
    Depth depth(this);
    const Token* t = tok();
    if (t &&
        (t->type == TokenType::UnaryOperator || t->type == TokenType::AdditiveBinaryOperator) &&
        (t->value == "-" || t->value == "+")) {
      ++cur_;
      auto n = make(NodeKind::Unary, t->line);
      n->name = t->value;
      n->a = parse_unary();
      return n;
    }
    NodePtr member = parse_member(parse_primary());
    return is(TokenType::OpenParen) ? parse_call(member) : member;
  }

  NodePtr parse_call(NodePtr callee) {
    Depth depth(this);
    auto n = make(NodeKind::Call, line());
    n->a = std::move(callee);
    n->list = parse_args(false);
    NodePtr expr = parse_member(n);
    return is(TokenType::OpenParen) ? parse_call(expr) : expr;
  }

  // parseArgs: "(" arguments ")"; `parameters` for macro/call-block declarations.
  std::vector<NodePtr> parse_args(bool parameters) {
    expect(TokenType::OpenParen, "'('");
    std::vector<NodePtr> args;
    std::set<std::string> names;
    bool saw_keyword = false, saw_spread = false;
    while (!is(TokenType::CloseParen)) {
      if (!tok()) fail(line(), "argument list is never closed with ')'");
      const int at = line();
      const bool keyword_spread = is(TokenType::ExponentiationBinaryOperator);
      const bool spread = is(TokenType::MultiplicativeBinaryOperator) && tok()->value == "*";
      if (parameters && (keyword_spread || spread)) {
        fail(at, "argument unpacking ('*', '**') is not allowed in parameter declarations");
      }
      if (keyword_spread) {
        ++cur_;
        auto n = make(NodeKind::KeywordSpread, at);
        n->a = parse_expression();
        args.push_back(n);
        if (is(TokenType::Comma)) ++cur_;
        if (!is(TokenType::CloseParen)) fail(line(), "'**' must be applied to the final argument");
        break;
      }
      NodePtr arg;
      if (spread) {
        if (saw_spread) fail(at, "only one '*' argument unpacking is allowed");
        saw_spread = true;
        ++cur_;
        auto n = make(NodeKind::Spread, at);
        n->a = parse_expression();
        arg = n;
      } else {
        arg = parse_expression();
        if (is(TokenType::Equals)) {
          ++cur_;
          if (arg->kind != NodeKind::Identifier) {
            fail(at, parameters ? "expected a parameter name before '='"
                                : "expected a keyword name before '='");
          }
          auto n = make(NodeKind::KeywordArg, at);
          n->name = arg->name;
          n->a = parse_expression();
          arg = n;
        }
        if (parameters) {
          if (arg->kind != NodeKind::Identifier && arg->kind != NodeKind::KeywordArg) {
            fail(at, "expected a parameter name in the macro declaration");
          }
          if (!names.insert(arg->name).second)
            fail(at, "duplicate parameter name '" + arg->name + "'");
        }
        if (arg->kind == NodeKind::KeywordArg) {
          saw_keyword = true;
        } else if (saw_keyword) {
          fail(at, parameters ? "parameter without a default follows one with a default"
                              : "positional argument follows a keyword argument");
        } else if (saw_spread) {
          fail(at, "positional argument follows '*' argument unpacking");
        }
      }
      args.push_back(arg);
      if (is(TokenType::Comma)) ++cur_;
    }
    expect(TokenType::CloseParen, "')'");
    return args;
  }

  NodePtr parse_subscript() {
    const int at = line();
    std::vector<NodePtr> slices;
    bool slice = false;
    while (!is(TokenType::CloseSquareBracket)) {
      if (!tok()) fail(at, "'[' is never closed with ']'");
      if (is(TokenType::Colon)) {
        slices.push_back(nullptr);
        ++cur_;
        slice = true;
      } else {
        slices.push_back(parse_expression());
        if (is(TokenType::Colon)) {
          ++cur_;
          slice = true;
        }
      }
    }
    if (slices.empty()) fail(at, "expected an index or slice inside '[]'");
    if (!slice) return slices[0];
    if (slices.size() > 3) fail(at, "a slice takes at most 3 parts (start:stop:step)");
    auto n = make(NodeKind::Slice, at);
    slices.resize(3);
    n->a = slices[0];
    n->b = slices[1];
    n->c = slices[2];
    return n;
  }

  NodePtr parse_member(NodePtr object) {
    while (is(TokenType::Dot) || is(TokenType::OpenSquareBracket)) {
      const int at = line();
      const bool computed = is(TokenType::OpenSquareBracket);
      ++cur_;
      auto n = make(NodeKind::Member, at);
      n->a = object;
      n->flag = computed;
      if (computed) {
        n->b = parse_subscript();
        expect(TokenType::CloseSquareBracket, "']'");
      } else {
        n->b = parse_primary();
        if (n->b->kind != NodeKind::Identifier && n->b->kind != NodeKind::Integer) {
          fail(at, "expected a name or an integer after '.'");
        }
      }
      object = n;
    }
    return object;
  }

  NodePtr parse_primary() {
    if (!tok()) fail(line(), "unexpected end of template inside an expression");
    const Token& t = t_[cur_++];
    switch (t.type) {
      case TokenType::NumericLiteral: {
        auto n = make(t.value.find('.') != std::string::npos ? NodeKind::Float : NodeKind::Integer,
                      t.line);
        n->number = std::strtod(t.value.c_str(), nullptr);
        return n;
      }
      case TokenType::StringLiteral: {
        auto n = make(NodeKind::String, t.line);
        n->name = t.value;
        while (is(TokenType::StringLiteral)) n->name += t_[cur_++].value;
        return n;
      }
      case TokenType::Identifier: {
        auto n = make(NodeKind::Identifier, t.line);
        n->name = t.value;
        return n;
      }
      case TokenType::OpenParen: {
        NodePtr e = parse_sequence(false);
        expect(TokenType::CloseParen, "')'");
        return e;
      }
      case TokenType::OpenSquareBracket: {
        auto n = make(NodeKind::Array, t.line);
        while (!is(TokenType::CloseSquareBracket)) {
          if (!tok()) fail(t.line, "'[' is never closed with ']'");
          n->list.push_back(parse_expression());
          if (is(TokenType::Comma)) ++cur_;
        }
        ++cur_;
        return n;
      }
      case TokenType::OpenCurlyBracket: {
        auto n = make(NodeKind::Object, t.line);
        while (!is(TokenType::CloseCurlyBracket)) {
          if (!tok()) fail(t.line, "'{' is never closed with '}'");
          n->list.push_back(parse_expression());
          expect(TokenType::Colon, "':' between a key and its value");
          n->list2.push_back(parse_expression());
          if (is(TokenType::Comma)) ++cur_;
        }
        ++cur_;
        return n;
      }
      default:
        --cur_;
        fail(t.line, "unexpected " + found() + " in an expression");
    }
  }

  const std::vector<Token>& t_;
  const std::string& origin_;
  size_t cur_ = 0;
  int depth_ = 0;
};

}  // namespace

std::vector<NodePtr> parse(const std::vector<Token>& tokens, const std::string& origin) {
  return Parser(tokens, origin).program();
}

}  // namespace elarin::jinja
