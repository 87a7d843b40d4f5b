// The Jinja parser of @huggingface/jinja 0.5.13: tokens to a syntax tree, with its grammar
// and precedence. Leaves out evaluation (interpreter.hpp).
#pragma once

#include <string>
#include <vector>

#include "data/jinja/ast.hpp"
#include "data/jinja/lexer.hpp"

namespace elarin::jinja {

// The top-level statements of the template. Throws FormatError "<origin>:<line>: ..." naming
// the construct on a syntax error or an unsupported statement ({% raw %}, {% include %}, ...).
std::vector<NodePtr> parse(const std::vector<Token>& tokens, const std::string& origin);

// special_args.cpp: which of caller/kwargs/varargs a macro or call-block body reads without
// declaring them (only those are bound when it is called, as in the oracle).
std::set<std::string> special_arguments(const std::vector<NodePtr>& params,
                                        const std::vector<NodePtr>& body);

}  // namespace elarin::jinja
