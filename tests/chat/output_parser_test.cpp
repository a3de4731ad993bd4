// Reasoning and tool-call parsing on a corpus of transcripts, well-formed and malformed, in one
// shot and streamed (one code point at a time and in random chunks): identical results.
#include <random>

#include <gtest/gtest.h>

#include "chat/output_parser.h"

namespace onprem::chat {
namespace {

const Json kTools = Json::parse(R"([
  {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {
      "city": {"type": "string"}, "days": {"type": "integer"}, "metric": {"type": "boolean"}}}}},
  {"type": "function", "function": {"name": "calc", "parameters": {"type": "object", "properties": {
      "x": {"type": "number"}, "items": {"type": "array"}, "opts": {"type": "object"},
      "n": {"anyOf": [{"type": "integer"}, {"type": "string"}]}, "code": {"type": "string"},
      "maybe": {"type": ["integer", "null"]}}}}},
  {"name": "page_oncall", "parameters": {"type": "object", "properties": {"team": {"type": "string"}}}}
])");

struct Case {
  const char* name;
  std::string text;
  bool thinking_open = true;
  std::string reasoning, content;
  std::vector<std::pair<std::string, std::string>> calls;  // name, arguments JSON
  size_t warnings = 0;
};

const std::string kWeather =
    "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<parameter=days>\n2\n</parameter>\n</"
    "function>\n</tool_call>";

std::vector<Case> corpus() {
  return {
      {"answer", "Let me think.\n</think>\n\nThe answer is 4.", true, "Let me think.", "The answer is 4.", {}, 0},
      {"one call",
       "I need the tool.\n</think>\n\n" + kWeather,
       true,
       "I need the tool.",
       "",
       {{"get_weather", R"({"city": "Paris", "days": 2})"}},
       0},
      {"prose and call",
       "Plan.\n</think>\n\nChecking now.\n\n" + kWeather,
       true,
       "Plan.",
       "Checking now.\n\n",
       {{"get_weather", R"({"city": "Paris", "days": 2})"}},
       0},
      {"parallel",
       "x</think>\n\n" + kWeather +
           "\n<tool_call>\n<function=page_oncall>\n<parameter=team>\nsre\n</parameter>\n</function>\n</tool_call>",
       true,
       "x",
       "",
       {{"get_weather", R"({"city": "Paris", "days": 2})"}, {"page_oncall", R"({"team": "sre"})"}},
       0},
      {"no thinking", "Hello 세계 🚀", false, "", "Hello 세계 🚀", {}, 0},
      {"own think tag", "<think>\nhmm\n</think>\n\nHi", false, "hmm", "Hi", {}, 0},
      {"budget exhausted", "thinking forever and ever", true, "thinking forever and ever", "", {}, 1},
      {"slash parameter",
       "r</think>\n\n<tool_call>\n<function=get_weather>\n<parameter=city>\nOslo\n</parameter/>\n</function>\n</"
       "tool_call>",
       true,
       "r",
       "",
       {{"get_weather", R"({"city": "Oslo"})"}},
       0},
      {"parameter1",
       "r</think>\n\n<tool_call>\n<function=get_weather>\n<parameter=city>\nOslo\n</"
       "parameter1>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>",
       true,
       "r",
       "",
       {{"get_weather", R"({"city": "Oslo", "days": 3})"}},
       0},
      {"fused close",
       "r</think>\n\n<tool_call>\n<function=get_weather>\n<parameter=city>\nLima\n</parameter_function>\n</tool_call>",
       true,
       "r",
       "",
       {{"get_weather", R"({"city": "Lima"})"}},
       0},
      {"missing opener",
       "r</think>\n\nSure.\n<function=get_weather>\n<parameter=city>\nRome\n</parameter>\n</function>",
       true,
       "r",
       "Sure.\n",
       {{"get_weather", R"({"city": "Rome"})"}},
       1},
      {"missing closers",
       "r</think>\n\n<tool_call>\n<function=get_weather>\n<parameter=city>\nOslo",
       true,
       "r",
       "",
       {{"get_weather", R"({"city": "Oslo"})"}},
       1},
      {"call in reasoning",
       "I'll call it.\n" + kWeather + "\n",
       true,
       "I'll call it.",
       "",
       {{"get_weather", R"({"city": "Paris", "days": 2})"}},
       1},
      {"undeclared function",
       "r</think>\n\n<tool_call>\n<function=launch>\n<parameter=x>\n1\n</parameter>\n</function>\n</tool_call>",
       true,
       "r",
       "",
       {{"launch", R"({"x": "1"})"}},
       1},  // no schema: values stay strings
      {"garbage block",
       "r</think>\n\n<tool_call>\nnot a call\n</tool_call>",
       true,
       "r",
       "<tool_call>\nnot a call\n</tool_call>",
       {},
       1},
      {"types",
       "r</think>\n\n<tool_call>\n<function=calc>\n<parameter=x>\n2.0\n</parameter>\n<parameter=items>\n['a', "
       "'b']\n</parameter>\n"
       "<parameter=opts>\n{\"k\": [1, "
       "2]}\n</parameter>\n<parameter=n>\n5\n</parameter>\n<parameter=code>\n123\n</parameter>\n"
       "<parameter=maybe>\nNULL\n</parameter>\n</function>\n</tool_call>",
       true,
       "r",
       "",
       {{"calc", R"({"x": 2, "items": ["a", "b"], "opts": {"k": [1, 2]}, "n": 5, "code": "123", "maybe": null})"}},
       0},
      {"anyOf string",
       "r</think>\n\n<tool_call>\n<function=calc>\n<parameter=n>\nabc\n</parameter>\n<parameter=x>\n1.5\n</"
       "parameter>\n</function>\n</tool_call>",
       true,
       "r",
       "",
       {{"calc", R"({"n": "abc", "x": 1.5})"}},
       0},
      {"multiline value",
       "r</think>\n\n<tool_call>\n<function=calc>\n<parameter=code>\ndef f():\n    return "
       "1\n\n</parameter>\n</function>\n</tool_call>",
       true,
       "r",
       "",
       {{"calc", R"({"code": "def f():\n    return 1\n"})"}},
       0},
      {"bool and bad int",
       "r</think>\n\n<tool_call>\n<function=get_weather>\n<parameter=metric>\nTrue\n</"
       "parameter>\n<parameter=days>\nmany\n</parameter>\n</function>\n</tool_call>",
       true,
       "r",
       "",
       {{"get_weather", R"({"metric": true, "days": "many"})"}},
       0},
      {"text after call",
       "r</think>\n\n" + kWeather + "\nDone.",
       true,
       "r",
       "Done.",
       {{"get_weather", R"({"city": "Paris", "days": 2})"}},
       0},
      {"lookalike tags",
       "a <tool b </thin c</think>\n\nx <tool_cal y",
       true,
       "a <tool b </thin c",
       "x <tool_cal y",
       {},
       0},
  };
}

ParsedOutput streamed(const std::string& text, bool thinking_open, const std::vector<size_t>& cuts,
                      std::string* reasoning, std::string* content, std::map<int, std::string>* args) {
  OutputParser p(kTools, ParserOptions{thinking_open, true, 7});
  auto collect = [&](const std::vector<OutputDelta>& ds) {
    for (const auto& d : ds) {
      if (d.kind == OutputDelta::Kind::kReasoning) *reasoning += d.text;
      if (d.kind == OutputDelta::Kind::kContent) *content += d.text;
      if (d.kind == OutputDelta::Kind::kToolCallArguments) (*args)[d.index] += d.text;
    }
  };
  size_t prev = 0;
  for (size_t c : cuts) {
    collect(p.push(std::string_view(text).substr(prev, c - prev)));
    prev = c;
  }
  collect(p.push(std::string_view(text).substr(prev)));
  collect(p.finish());
  return p.result();
}

void expect_same(const ParsedOutput& a, const ParsedOutput& b, const std::string& what) {
  EXPECT_EQ(a.reasoning, b.reasoning) << what;
  EXPECT_EQ(a.content, b.content) << what;
  EXPECT_EQ(a.warnings, b.warnings) << what;
  ASSERT_EQ(a.tool_calls.size(), b.tool_calls.size()) << what;
  for (size_t i = 0; i < a.tool_calls.size(); ++i) {
    EXPECT_EQ(a.tool_calls[i].name, b.tool_calls[i].name) << what;
    EXPECT_EQ(a.tool_calls[i].id, b.tool_calls[i].id) << what;
    EXPECT_EQ(a.tool_calls[i].arguments_json, b.tool_calls[i].arguments_json) << what;
    EXPECT_EQ(a.tool_calls[i].in_reasoning, b.tool_calls[i].in_reasoning) << what;
  }
}

TEST(OutputParser, CorpusOneShotMatchesExpectations) {
  for (const auto& c : corpus()) {
    const ParsedOutput r = parse_output(c.text, kTools, ParserOptions{c.thinking_open, true, 7});
    EXPECT_EQ(r.reasoning, c.reasoning) << c.name;
    EXPECT_EQ(r.content, c.content) << c.name;
    EXPECT_EQ(r.warnings.size(), c.warnings) << c.name << ": " << (r.warnings.empty() ? "" : r.warnings[0]);
    ASSERT_EQ(r.tool_calls.size(), c.calls.size()) << c.name;
    for (size_t i = 0; i < c.calls.size(); ++i) {
      EXPECT_EQ(r.tool_calls[i].name, c.calls[i].first) << c.name;
      EXPECT_EQ(r.tool_calls[i].arguments_json, c.calls[i].second) << c.name;
      EXPECT_EQ(Json::parse(r.tool_calls[i].arguments_json), r.tool_calls[i].arguments) << c.name;
      EXPECT_EQ(r.tool_calls[i].id.size(), 29u);
    }
  }
}

TEST(OutputParser, StreamingEqualsOneShot) {
  std::mt19937 rng(3);
  for (const auto& c : corpus()) {
    const ParsedOutput one = parse_output(c.text, kTools, ParserOptions{c.thinking_open, true, 7});
    // One code point at a time (what a detokenizer delivers), every byte, and random chunks.
    std::vector<std::vector<size_t>> plans(3);
    for (size_t i = 1; i < c.text.size(); ++i) {
      if ((static_cast<unsigned char>(c.text[i]) & 0xC0) != 0x80) plans[0].push_back(i);
      plans[1].push_back(i);
    }
    for (size_t i = 1; i < c.text.size(); i += 1 + rng() % 7) plans[2].push_back(i);
    for (const auto& cuts : plans) {
      std::string reasoning, content;
      std::map<int, std::string> args;
      const ParsedOutput s = streamed(c.text, c.thinking_open, cuts, &reasoning, &content, &args);
      expect_same(one, s, c.name);
      EXPECT_EQ(reasoning, s.reasoning) << c.name;
      EXPECT_EQ(content, s.content) << c.name;
      for (size_t i = 0; i < s.tool_calls.size(); ++i)
        EXPECT_EQ(args[int(i)], s.tool_calls[i].arguments_json) << c.name;
    }
  }
}

TEST(OutputParser, ArgumentsStreamBeforeTheCallEnds) {
  OutputParser p(kTools, ParserOptions{false, true, 1});
  auto d = p.push("<tool_call>\n<function=get_weather>\n");
  ASSERT_FALSE(d.empty());
  EXPECT_EQ(d.back().kind, OutputDelta::Kind::kToolCallBegin);
  EXPECT_EQ(d.back().name, "get_weather");
  d = p.push("<parameter=city>\nParis\n</parameter>\n");
  ASSERT_FALSE(d.empty());
  EXPECT_EQ(d.back().kind, OutputDelta::Kind::kToolCallArguments);
  EXPECT_EQ(d.back().text, "{\"city\": \"Paris\"");
}

// Arbitrary bytes never throw and streaming still equals one shot.
TEST(OutputParser, RandomInputIsSafe) {
  std::mt19937 rng(9);
  const std::vector<std::string> atoms = {"<tool_call>",
                                          "</tool_call>",
                                          "<function=get_weather>",
                                          "<function=",
                                          "</function>",
                                          "<parameter=city>",
                                          "</parameter>",
                                          "</think>",
                                          "<think>",
                                          "\n",
                                          "x",
                                          "<",
                                          ">",
                                          "Paris",
                                          "/"};
  for (int t = 0; t < 500; ++t) {
    std::string text;
    for (int k = 0, n = int(rng() % 20); k < n; ++k) text += atoms[rng() % atoms.size()];
    const bool open = rng() % 2;
    const ParsedOutput one = parse_output(text, kTools, ParserOptions{open, true, 7});
    std::vector<size_t> cuts;
    for (size_t i = 1; i < text.size(); ++i) cuts.push_back(i);
    std::string r, c;
    std::map<int, std::string> a;
    expect_same(one, streamed(text, open, cuts, &r, &c, &a), text);
  }
}

}  // namespace
}  // namespace onprem::chat
