// The shipped default policy (config/route.default.json), row by row, plus the guards and the
// config validator.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "router/policy.h"

using namespace onprem::router;
using onprem::chat::Json;

namespace {

RouterConfig default_config() {
  auto c = load_config(std::string(ONPREM_SOURCE_DIR) + "/config/route.default.json");
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().to_string());
  return *c;
}

Json chat(const std::string& text, Json extra = Json::object()) {
  Json b = {{"model", "any"}, {"messages", Json::array({{{"role", "user"}, {"content", text}}})}};
  for (auto it = extra.begin(); it != extra.end(); ++it) b[it.key()] = it.value();
  return b;
}

struct Case {
  std::string name;
  Json body;
  HeaderMap headers;
  std::string rule, backend;
};

}  // namespace

TEST(Policy, DefaultTableRowByRow) {
  const RouterConfig cfg = default_config();
  const Json tool =
      Json::array({{{"type", "function"}, {"function", {{"name", "f"}, {"parameters", {{"type", "object"}}}}}}});
  const std::vector<Case> cases = {
      {"pinned frontier", chat("hi", {{"model", "claude-sonnet"}}), {}, "pin-frontier", "frontier"},
      {"pinned 27b", chat("hi", {{"model", "qwen3.6-27b"}}), {}, "pin-27b", "local-27b"},
      {"pinned 35b", chat("hi", {{"model", "qwen3.6-35b-a3b"}}), {}, "pin-35b-a3b", "local-35b-a3b"},
      {"confidential header", chat("hi"), {{"x-onprem-data-class", "confidential"}}, "sovereign-data", "local-27b"},
      {"regulated by detector", chat("card 4111 1111 1111 1111"), {}, "sovereign-data", "local-27b"},
      {"beyond 262K", chat("hi", {{"max_tokens", 300000}}), {}, "beyond-local-context", "frontier"},
      {"sre incident", chat("hi"), {{"x-onprem-workload", "sre-incident"}}, "sre-incident", "frontier"},
      {"customer facing",
       chat("hi", {{"metadata", {{"workload", "customer-facing"}}}}),
       {},
       "customer-facing",
       "frontier"},
      {"long context", chat("hi", {{"max_tokens", 90000}}), {}, "long-context", "local-27b"},
      {"tools", chat("hi", {{"tools", tool}}), {}, "tool-agents", "local-27b"},
      {"batch", chat("hi"), {{"x-onprem-latency", "batch"}}, "batch-precise", "local-27b"},
      {"thinking", chat("hi", {{"chat_template_kwargs", {{"enable_thinking", true}}}}), {}, "thinking", "local-27b"},
      {"interactive short", chat("hi"), {}, "interactive-short", "local-35b-a3b"},
      {"interactive, 40K", chat("hi", {{"max_tokens", 40000}}), {}, "default", "local-27b"},
  };
  for (const auto& c : cases) {
    const RequestFeatures f = extract_features(c.body, ApiShape::kOpenAI, c.headers, nullptr, nullptr);
    const Decision d = decide(cfg, f, nullptr);
    ASSERT_NE(d.rule, nullptr) << c.name;
    EXPECT_EQ(d.rule->name, c.rule) << c.name;
    ASSERT_FALSE(d.chain.empty()) << c.name;
    EXPECT_EQ(d.chain.front(), c.backend) << c.name;
  }
  // Every rule of the shipped table is exercised above.
  for (const auto& r : cfg.rules) {
    bool seen = false;
    for (const auto& c : cases) seen = seen || c.rule == r.name;
    EXPECT_TRUE(seen) << r.name;
  }
}

TEST(Policy, SovereigntyIsAGuardNotARule) {
  RouterConfig cfg = default_config();
  // A confidential request pinned to the frontier model: the rule says API, the guard says no.
  const RequestFeatures f = extract_features(chat("hi", {{"model", "claude-sonnet"}}), ApiShape::kOpenAI,
                                             {{"x-onprem-data-class", "confidential"}}, nullptr, nullptr);
  Decision d = decide(cfg, f, nullptr);
  EXPECT_EQ(d.rule->name, "pin-frontier");
  EXPECT_TRUE(d.sovereignty_applied);
  EXPECT_EQ(d.chain, std::vector<std::string>{"local-27b"});  // the sovereign target
  // Without an on-premises place to go it is refused, never sent.
  cfg.sovereign_target.clear();
  d = decide(cfg, f, nullptr);
  EXPECT_EQ(d.error_status, 403);
  EXPECT_TRUE(d.chain.empty());
  // Personal data raises the class even when the client declares it public.
  const RequestFeatures p = extract_features(chat("call me on 010-1234-5678", {{"model", "claude-sonnet"}}),
                                             ApiShape::kOpenAI, {{"x-onprem-data-class", "public"}}, nullptr, nullptr);
  EXPECT_EQ(p.data_class, DataClass::kConfidential);
  EXPECT_EQ(decide(cfg, p, nullptr).error_status, 403);
}

TEST(Policy, ContextPastTheMoELimitFallsBackTo27B) {
  const RouterConfig cfg = default_config();
  const RequestFeatures f = extract_features(chat("hi", {{"model", "qwen3.6-35b-a3b"}, {"max_tokens", 85000}}),
                                             ApiShape::kOpenAI, {}, nullptr, nullptr);
  const Decision d = decide(cfg, f, nullptr);
  EXPECT_EQ(d.rule->name, "pin-35b-a3b");
  EXPECT_EQ(d.chain, std::vector<std::string>{"local-27b"});
  ASSERT_EQ(d.skipped.size(), 1u);
  EXPECT_EQ(d.skipped[0].backend, "local-35b-a3b");
}

TEST(Policy, KeysSetDefaultsAndLimitBackends) {
  RouterConfig cfg = default_config();
  KeyConfig k;
  k.key = "k", k.name = "payments-bot", k.team = "payments", k.data_class = DataClass::kRegulated;
  // The key's default class cannot be lowered by a header.
  const RequestFeatures f =
      extract_features(chat("hi"), ApiShape::kOpenAI, {{"x-onprem-data-class", "public"}}, &k, nullptr);
  EXPECT_EQ(f.data_class, DataClass::kRegulated);
  EXPECT_EQ(f.team, "payments");
  KeyConfig only35;
  only35.key = "j", only35.name = "chat", only35.allowed_backends = {"local-35b-a3b"};
  const RequestFeatures g =
      extract_features(chat("hi", {{"model", "qwen3.6-27b"}}), ApiShape::kOpenAI, {}, &only35, nullptr);
  const Decision d = decide(cfg, g, &only35);
  EXPECT_NE(d.error_status, 0);
  EXPECT_TRUE(d.chain.empty());
}

TEST(Features, BothApiShapesNormalise) {
  const Json anthropic = {
      {"model", "m"},
      {"max_tokens", 100},
      {"system", "sys"},
      {"thinking", {{"type", "enabled"}, {"budget_tokens", 50}}},
      {"tools", Json::array({{{"name", "t"}, {"input_schema", {{"type", "object"}}}}})},
      {"tool_choice", {{"type", "any"}}},
      {"metadata", {{"user_id", "u1"}}},
      {"messages",
       Json::array({{{"role", "user"}, {"content", Json::array({{{"type", "text"}, {"text", "hello"}}})}}})}};
  const RequestFeatures a = extract_features(anthropic, ApiShape::kAnthropic, {}, nullptr, nullptr);
  EXPECT_TRUE(a.thinking);
  EXPECT_TRUE(a.tools);
  EXPECT_EQ(a.tool_choice, "required");
  EXPECT_EQ(a.user, "u1");
  EXPECT_EQ(a.output_tokens, 100);
  EXPECT_EQ(a.context_tokens, a.prompt_tokens + 100);
  EXPECT_NE(a.text.find("sys"), std::string::npos);
  Json adaptive = anthropic;
  adaptive["thinking"] = {{"type", "adaptive"}};  // what Claude Code sends
  EXPECT_TRUE(extract_features(adaptive, ApiShape::kAnthropic, {}, nullptr, nullptr).thinking);
  adaptive["thinking"] = {{"type", "disabled"}};
  EXPECT_FALSE(extract_features(adaptive, ApiShape::kAnthropic, {}, nullptr, nullptr).thinking);
  const RequestFeatures o =
      extract_features(chat("hi", {{"tool_choice", {{"type", "function"}, {"function", {{"name", "t"}}}}},
                                   {"tools", anthropic["tools"]},
                                   {"reasoning_effort", "high"}}),
                       ApiShape::kOpenAI, {}, nullptr, nullptr);
  EXPECT_EQ(o.tool_choice, "named");
  EXPECT_TRUE(o.thinking);
  // Counting replaces the estimate when a tokenizer is configured.
  const RequestFeatures c = extract_features(chat("abcdefgh"), ApiShape::kOpenAI, {}, nullptr,
                                             [](std::string_view s) { return int64_t(s.size()); });
  EXPECT_TRUE(c.prompt_tokens_counted);
  EXPECT_EQ(c.prompt_tokens, int64_t(std::string("abcdefgh\n").size()) + 4);
  EXPECT_EQ(estimate_tokens("abcdefgh"), 2);
  EXPECT_EQ(estimate_tokens("안녕하세요"), 5);
}

TEST(Config, ErrorsNameTheField) {
  auto expect_error = [](const std::string& json, const std::string& needle) {
    auto c = parse_config(json, ".");
    ASSERT_FALSE(c.ok()) << json;
    EXPECT_NE(c.error().message.find(needle), std::string::npos) << c.error().message;
  };
  const std::string b = R"({"name": "a", "urls": ["http://x:1"]})";
  expect_error("[]", "expected a JSON object");
  expect_error(R"({"backends": []})", "backends");
  expect_error(R"({"backends": [)" + b + R"(], "rules": [{"target": "nope"}]})", "no backend named 'nope'");
  expect_error(R"({"backends": [{"name": "a", "urls": ["ftp://x"]}], "rules": [{"target": "a"}]})",
               "must start with http");
  expect_error(R"({"backends": [)" + b + R"(], "rules": [{"target": "a", "when": {"contex_over": 5}}]})",
               "contex_over: unknown field");
  expect_error(
      R"({"backends": [{"name": "a", "urls": ["http://x:1"], "fallback": "b"},
                   {"name": "b", "urls": ["http://x:2"], "fallback": "a"}],
                   "rules": [{"target": "a"}]})",
      "loops back");
  expect_error(R"({"backends": [)" + b + R"(], "rules": [{"target": "a", "when": {"data_class": "secret"}}]})",
               "'secret'");
  expect_error(
      R"({"backends": [{"name": "a", "urls": ["http://x:1"], "on_premises": false}], "rules": [{"target": "a"}],)"
      R"( "sovereign_target": "a"})",
      "not on premises");
  expect_error(R"({"backends": [)" + b + R"(], "rules": [{"target": "a"}], "header_timeout_s": 0})",
               "header_timeout_s");
  expect_error(R"({"backends": [)" + b + R"(], "rules": [{"target": "a"}], "body_timeout_s": -1})", "body_timeout_s");
  auto ok = parse_config(R"({"backends": [)" + b + R"(], "rules": [{"target": "a"}]})", ".");
  EXPECT_TRUE(ok.ok());
  auto timed = parse_config(
      R"({"backends": [)" + b + R"(], "rules": [{"target": "a"}], "header_timeout_s": 2.5, "body_timeout_s": 7})", ".");
  ASSERT_TRUE(timed.ok());
  EXPECT_EQ(timed->read_deadlines.header_s, 2.5);
  EXPECT_EQ(timed->read_deadlines.body_s, 7);
}
