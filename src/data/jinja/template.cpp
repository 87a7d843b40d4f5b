// elarin::JinjaTemplate: the public face of the engine (lexer, parser, interpreter). Leaves
// out everything but wiring.
#include "data/jinja/interpreter.hpp"
#include "data/jinja/lexer.hpp"
#include "data/jinja/parser.hpp"
#include "elarin/data/jinja.hpp"

namespace elarin {

struct JinjaTemplate::Impl {
  std::string origin;
  std::vector<jinja::NodePtr> program;
};

JinjaTemplate::JinjaTemplate(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

JinjaTemplate JinjaTemplate::parse(const std::string& source, const std::string& origin) {
  auto impl = std::make_shared<Impl>();
  impl->origin = origin;
  impl->program = jinja::parse(jinja::tokenize(source, origin), origin);
  return JinjaTemplate(std::move(impl));
}

std::string JinjaTemplate::render(const nlohmann::ordered_json& context) const {
  jinja::Interpreter interpreter(impl_->origin);
  return interpreter.run(impl_->program, context);
}

const std::string& JinjaTemplate::origin() const { return impl_->origin; }

}  // namespace elarin
