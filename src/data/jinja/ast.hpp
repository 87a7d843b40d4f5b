// The syntax tree of a parsed template: one Node type whose fields each kind uses as listed
// below (as @huggingface/jinja's AST classes do). Leaves out evaluation (interpreter.hpp).
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace elarin::jinja {

enum class NodeKind {
  // Statements.
  Text,         // name: the text
  Comment,      //
  If,           // a: test, list: body, list2: else (an elif is one If inside it)
  For,          // a: loop variable (Identifier/Tuple), b: iterable (maybe Select), list: body,
                // list2: {% else %} block
  Break,        //
  Continue,     //
  Set,          // a: target (Identifier/Tuple/Member), b: value or null, list: {% set %} body
  Macro,        // name, list: parameters (Identifier/KeywordArg), list2: body, special
  CallBlock,    // a: Call, list: caller parameters, list2: body, special
  FilterBlock,  // a: filter (Identifier/Call), list: body
  // Expressions.
  Identifier,     // name
  Integer,        // number
  Float,          // number
  String,         // name: the value
  Array,          // list: elements
  Tuple,          // list: elements
  Object,         // list: keys, list2: values
  Member,         // a: object, b: property, flag: computed (x[y] rather than x.y)
  Slice,          // a, b, c: start, stop, step (each may be null)
  Call,           // a: callee, list: arguments
  FilterExpr,     // a: operand, b: filter (Identifier or Call)
  Test,           // a: operand, name: test, flag: negated
  Select,         // a: value, b: condition ("a if b" with no else)
  Ternary,        // a: condition, b: value if true, c: value if false
  Binary,         // name: operator, a, b
  Unary,          // name: operator, a
  KeywordArg,     // name: key, a: value
  Spread,         // a: the *argument
  KeywordSpread,  // a: the **argument
};

struct Node;
using NodePtr = std::shared_ptr<const Node>;

struct Node {
  NodeKind kind;
  int line = 0;  // 1-based source line, for errors
  std::string name;
  double number = 0;
  bool flag = false;
  NodePtr a, b, c;
  std::vector<NodePtr> list, list2;
  // Macro/CallBlock: which of caller/kwargs/varargs the body reads without declaring.
  std::set<std::string> special;
};

}  // namespace elarin::jinja
