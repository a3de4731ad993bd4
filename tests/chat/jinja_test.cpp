// The Jinja interpreter's refusals: a chat template comes with a model file, so hostile or broken
// text must get a clear error naming what and where, within bounded time and memory. (What it
// renders is checked byte for byte against python3-jinja2 by template_oracle.py.)
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "chat/jinja.h"
#include "chat/template_file.h"

namespace onprem::chat {
namespace {

std::string render_error(const std::string& text) {
  auto t = jinja::Template::parse(text);
  if (!t) return "parse: " + t.error().message;
  auto r = t->render(Json::parse(R"({"messages": [{"role": "user", "content": "hi"}]})"));
  return r ? "" : "render: " + r.error().message;
}

TEST(Jinja, SyntaxErrorsNameTheLine) {
  EXPECT_NE(render_error("line one\n{% if x %}\nno end").find("line 3"), std::string::npos);
  EXPECT_NE(render_error("a\n\n{{ 1 + }}").find("line 3"), std::string::npos);
  EXPECT_NE(render_error("{% frobnicate %}").find("unsupported tag 'frobnicate'"), std::string::npos);
  EXPECT_NE(render_error("{{ 'unterminated }}").find("unterminated string"), std::string::npos);
  EXPECT_NE(render_error("{# open comment").find("unclosed comment"), std::string::npos);
}

TEST(Jinja, UnknownNamesAreErrorsThatNameThem) {
  EXPECT_NE(render_error("{{ messages | frob }}").find("unknown filter 'frob'"), std::string::npos);
  EXPECT_NE(render_error("{{ messages is frob }}").find("unknown test 'frob'"), std::string::npos);
  EXPECT_NE(render_error("{{ nothing() }}").find("'nothing' is not callable"), std::string::npos);
  EXPECT_NE(render_error("{{ undefined_thing.attr }}").find("undefined"), std::string::npos);
  EXPECT_EQ(render_error("{{ raise_exception('Bad role.') }}"), "render: Bad role.");  // the template's own words
}

// Each of these would take the process down (stack, memory or time) if it were not bounded.
TEST(Jinja, HostileTemplatesStopWithinBounds) {
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_NE(
      render_error("{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}").find("nested too deep"),
      std::string::npos);
  EXPECT_NE(render_error("{{ " + std::string(100000, '-') + "1 }}").find("nested too deep"), std::string::npos);
  std::string ifs;
  for (int i = 0; i < 5000; ++i) ifs += "{% if true %}";
  EXPECT_NE(render_error(ifs).find("nested too deep"), std::string::npos);
  EXPECT_NE(
      render_error("{% set s = namespace(x='ab') %}{% for i in range(100) %}{% set s.x = s.x ~ s.x %}{% endfor %}")
          .find("too large"),
      std::string::npos);
  EXPECT_NE(render_error("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}")
                .find("ran too long"),
            std::string::npos);
  EXPECT_NE(render_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").find("nest too deep"),
            std::string::npos);
  EXPECT_NE(render_error("{{ 'x' * 100000000 }}").find("repetition too large"), std::string::npos);
  EXPECT_NE(render_error("{{ range(10000000000) }}").find("range()"), std::string::npos);
  // A list index past int64 by attribute (messages.99999...) is undefined, as in jinja2, not a throw.
  EXPECT_EQ(render_error("{{ messages.99999999999999999999999 }}"), "");
  EXPECT_EQ(render_error("{{ messages.0.role }}"), "");
  // A file's template is checked as inspect does it, whatever it holds.
  EXPECT_FALSE(check_template(std::string(300, '{')).same_as_builtin);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 60.0);
}

// Integers are 64-bit where jinja2's are unbounded: within 64 bits the arithmetic is exact (3 ** 39
// is past a double's 53 bits; the values are Python's), and past them it is an error naming the
// cause, never a wrapped number or undefined behaviour (a fuzzer found 9 ** 99 converted from a
// double out of range).
TEST(Jinja, IntegerArithmeticIsExactOrAnError) {
  const auto render = [](const std::string& text) {
    auto t = jinja::Template::parse(text);
    if (!t) return "parse: " + t.error().message;
    auto r = t->render(Json::parse(R"({"messages": []})"));
    return r ? *r : "render: " + r.error().message;
  };
  EXPECT_EQ(render("{{ 3 ** 39 }} {{ 2 ** 62 }} {{ -7 // 2 }} {{ 7 % -3 }} {{ 2 ** -1 }}"),
            "4052555153018976267 4611686018427387904 -4 -2 0.5");
  EXPECT_EQ(render("{{ 9223372036854775807 - 1 + 1 }} {{ (2.9)|int }} {{ (-2.9)|int }}"), "9223372036854775807 2 -2");
  for (const char* bad :
       {"{{ 9 ** 99 }}", "{{ 9223372036854775807 + 1 }}", "{{ -9223372036854775807 - 2 }}",
        "{{ 4294967296 * 4294967296 }}", "{{ -(-9223372036854775807 - 1) }}", "{{ (-9223372036854775807 - 1) // -1 }}",
        "{{ (-9223372036854775807 - 1)|abs }}", "{{ (1e300)|int }}", "{{ (1e300 * 1e300)|int }}"})
    EXPECT_NE(render(bad).find("too large for 64 bits"), std::string::npos) << bad << " -> " << render(bad);
}

}  // namespace
}  // namespace onprem::chat
