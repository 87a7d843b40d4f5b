// JinjaTemplate: exact renders of the oracle's (@huggingface/jinja 0.5.13) behaviour, its
// JavaScript quirks, the Llama 2 chat template, and errors that name origin, line and construct.
// The full byte-for-byte comparison with the oracle is tests/data/chat_templates.test.mjs.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "elarin/core/errors.hpp"
#include "elarin/data/jinja.hpp"
#include "test_util.hpp"

namespace {

using elarin::JinjaTemplate;
using json = nlohmann::ordered_json;

std::string render(const std::string& source, const json& context = json::object()) {
  return JinjaTemplate::parse(source, "t").render(context);
}

template <class E>
std::string render_error(const std::string& source, const json& context = json::object()) {
  return elarin::test::error_message<E>([&] { render(source, context); });
}

json chat() {
  return json::parse(R"({"messages": [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi 👋"},
    {"role": "assistant", "content": "  Hello  "},
    {"role": "user", "content": "Bye"}]})");
}

TEST(JinjaTemplate, LoopsFiltersAndLoopFields) {
  EXPECT_EQ(render("{% for m in messages %}{{ loop.index }}/{{ loop.length }}:{{ m.role | upper }}"
                   "{% if not loop.last %},{% endif %}{% endfor %}",
                   chat()),
            "1/4:SYSTEM,2/4:USER,3/4:ASSISTANT,4/4:USER");
  EXPECT_EQ(render("{% for m in messages if m.role == 'user' %}{{ m.content }}{{ loop.revindex0 }}"
                   "{% else %}none{% endfor %}",
                   chat()),
            "Hi 👋1Bye0");
  EXPECT_EQ(render("{{ messages[::-1] | map(attribute='role') | join(',') }}", chat()),
            "user,assistant,user,system");
}

TEST(JinjaTemplate, LstripAndTrimBlocksAreOnAsInTheOracle) {
  // lstrip_blocks eats the indent before {% %}; trim_blocks eats the newline after it; the
  // template's final newline is dropped; {{ }} keeps its indent.
  EXPECT_EQ(render("a\n    {% if true %}\n    b\n    {% endif %}\n  {{ 'c' }}\nd\n"),
            "a\n    b\n  c\nd");
  EXPECT_EQ(render("x  {%- if true -%}  y  {%- endif -%}  z"), "xyz");
  EXPECT_EQ(render("a {#- comment -#} b{# kept #}\nc"), "abc");
}

TEST(JinjaTemplate, PrintsNumbersLikeTheOracle) {
  EXPECT_EQ(
      render("{{ 1 }} {{ 1.0 }} {{ 10 / 4 }} {{ 10 / 5 }} {{ 7 // 2 }} {{ -7 % 3 }} {{ 2 ** -1 }}"),
      "1 1.0 2.5 2.0 3 -1 0.5");
  // `~` and `+` concatenate JS numbers, which lose the ".0"; integral JSON floats are integers.
  EXPECT_EQ(render("{{ 2.0 ~ '' }} {{ 'n' + 1.5 }} {{ x }} {{ y }} {{ z }}",
                   json::parse(R"({"x": 3.0, "y": 0.1, "z": 1e21})")),
            "2 n1.5 3 0.1 1e+21");
}

TEST(JinjaTemplate, TojsonMatchesTheOracleFormat) {
  const json ctx = json::parse(R"({"v": {"b": [1, 2.5, null, true], "a": "ü\"\n", "e": {}}})");
  EXPECT_EQ(render("{{ v | tojson }}", ctx),
            R"({"b": [1, 2.5, null, true], "a": "ü\"\n", "e": {}})");
  EXPECT_EQ(render("{{ v | tojson(indent=2) }}", ctx),
            "{\n  \"b\": [\n    1,\n    2.5,\n    null,\n    true\n  ],\n  \"a\": \"ü\\\"\\n\",\n"
            "  \"e\": {}\n}");
  EXPECT_EQ(render("{{ v.a | tojson(ensure_ascii=true) }}", ctx), R"("\u00fc\"\n")");
  EXPECT_EQ(render("{{ v | tojson(separators=(',', ':')) }}", ctx),
            R"({"b":[1,2.5,null,true],"a":"ü\"\n","e":{}})");
}

TEST(JinjaTemplate, KeepsKeyOrderButPutsArrayIndexKeysFirstAsJavaScriptDoes) {
  const json ctx = json::parse(R"({"d": {"z": 1, "10": 2, "a": 3, "2": 4}})");
  EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", ctx),
            "2=4;10=2;z=1;a=3;");
}

TEST(JinjaTemplate, FollowsTheOraclesJavaScriptQuirks) {
  // == is JS loose equality; strip() ignores its argument; title() leaves other letters alone.
  EXPECT_EQ(render("{{ '1' == 1 }} {{ '' == false }} {{ [1] == [1] }}"), "true true false");
  EXPECT_EQ(render("[{{ s.strip('\\n') }}][{{ 'hELLO wORLD' | title }}]", {{"s", " \n x \n "}}),
            "[x][HELLO WORLD]");
  // {% continue %} drops the unfinished iteration's output, and a loop that never completes an
  // iteration renders its {% else %} block.
  EXPECT_EQ(render("{% for x in [1, 2] %}a{% continue %}{% else %}E{% endfor %}"), "E");
  // A set inside a loop stays in the loop; a namespace carries it out.
  EXPECT_EQ(render("{% set n = 0 %}{% set ns = namespace(n=0) %}{% for x in [1, 2, 3] %}"
                   "{% set n = n + x %}{% set ns.n = ns.n + x %}{% endfor %}{{ n }} {{ ns.n }}"),
            "0 6");
  EXPECT_EQ(render("{{ [1, 'a'] }} {{ true }} {{ none }}|{{ nope }}|{{ nope.x }}"),
            "[1, \"a\"] true ||");
}

TEST(JinjaTemplate, MacrosSlicesAndStringMethods) {
  EXPECT_EQ(render("{% macro tag(name, body='') %}<{{ name }}>{{ body }}{{ kwargs }}{% endmacro %}"
                   "{{ tag('a') }}{{ tag('b', 'x', id=1) }}"),
            "<a>{}<b>x{\"id\": 1}");  // kwargs is an empty dict when none are passed
  EXPECT_EQ(render("{{ 'héllo👋'[::-1] }} {{ 'abcdef'[1:5:2] }} {{ [0, 1, 2, 3][-2:] }}"),
            "👋olléh bd [2, 3]");
  EXPECT_EQ(render("{{ s.split('</think>')[-1].lstrip() }}|{{ s.startswith('<think>') }}|"
                   "{{ 'a-b-c'.replace('-', '+', 1) }}|{{ 'x y  z'.split() }}",
                   {{"s", "<think>r</think>\n\nanswer"}}),
            "answer|true|a+b-c|[\"x\", \"y\", \"z\"]");
}

TEST(JinjaTemplate, RendersTheLlama2ChatTemplate) {
  std::ifstream in(std::string(ELARIN_SOURCE_DIR) + "/tests/data/templates/llama2-chat.jinja");
  ASSERT_TRUE(in) << "tests/data/templates/llama2-chat.jinja missing";
  std::stringstream ss;
  ss << in.rdbuf();
  json ctx = chat();
  ctx["bos_token"] = "<s>";
  ctx["eos_token"] = "</s>";
  const JinjaTemplate llama2 = JinjaTemplate::parse(ss.str(), "llama2-chat.jinja");
  EXPECT_EQ(
      llama2.render(ctx),
      "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi 👋 [/INST] Hello </s><s>[INST] Bye [/INST]");
  // Two user turns in a row: the template raises, which is the user's error (UsageError).
  ctx["messages"] =
      json::parse(R"([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])");
  const std::string message =
      elarin::test::error_message<elarin::UsageError>([&] { llama2.render(ctx); });
  EXPECT_NE(message.find("llama2-chat.jinja:1: Conversation roles must alternate"),
            std::string::npos)
      << message;
}

TEST(JinjaTemplate, ErrorsNameOriginLineAndConstruct) {
  std::string m = render_error<elarin::FormatError>("line1\n{{ 'x' | wordwrap }}");
  EXPECT_NE(m.find("t:2: unsupported filter 'wordwrap' on a string"), std::string::npos) << m;
  m = render_error<elarin::FormatError>("a\n\n{% raw %}x{% endraw %}");
  EXPECT_NE(m.find("t:3: unsupported statement '{% raw %}'"), std::string::npos) << m;
  m = render_error<elarin::FormatError>("{% for x in xs %}\n{% if x %}\nx");
  EXPECT_NE(m.find("t:2: {% if %} is never closed"), std::string::npos) << m;
  m = render_error<elarin::FormatError>("\n\n{{ 'a' < 'b' }}");
  EXPECT_NE(m.find("t:3: unsupported operator '<' between a string and a string"),
            std::string::npos)
      << m;
  m = render_error<elarin::FormatError>("{{ nope[0] }}");
  EXPECT_NE(m.find("t:1: cannot index an undefined value"), std::string::npos) << m;
  m = render_error<elarin::FormatError>("{{ 'abc\\q' }}");
  EXPECT_NE(m.find("unknown escape '\\q'"), std::string::npos) << m;
  m = render_error<elarin::FormatError>("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}\n{{ f(0) }}");
  EXPECT_NE(m.find("nest deeper than 200"), std::string::npos) << m;
  m = render_error<elarin::FormatError>("{% break %}");
  EXPECT_NE(m.find("{% break %} outside a {% for %} loop"), std::string::npos) << m;
  m = render_error<elarin::UsageError>("\n{{ raise_exception('bad turn') }}");
  EXPECT_NE(m.find("t:2: bad turn"), std::string::npos) << m;
}

TEST(JinjaTemplate, RefusesRunawayOutputAndBadContexts) {
  const std::string m = render_error<elarin::FormatError>(
      "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
      "{% endfor %}");
  EXPECT_NE(m.find("grew past 64 MiB"), std::string::npos) << m;
  EXPECT_NE(render_error<elarin::UsageError>("x", {{"range", 1}}).find("'range' collides"),
            std::string::npos);
  EXPECT_NE(render_error<elarin::UsageError>("x", json::array()).find("must be a JSON object"),
            std::string::npos);
}

TEST(JinjaTemplate, CopiesShareTheParseAndRenderConcurrently) {
  const JinjaTemplate t = JinjaTemplate::parse(
      "{% for m in messages %}{{ m.content | trim }}{% if not loop.last %}|{% endif %}{% endfor %}",
      "t");
  const JinjaTemplate copy = t;
  EXPECT_EQ(copy.origin(), "t");
  std::vector<std::string> out(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < out.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 50; ++k) out[i] = (i % 2 ? t : copy).render(chat());
    });
  }
  for (auto& th : threads) th.join();
  for (const std::string& s : out) EXPECT_EQ(s, "Be brief.|Hi 👋|Hello|Bye");
}

}  // namespace
