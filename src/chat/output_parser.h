// Splits what the model writes into reasoning, answer and tool calls (chat.md §4), incrementally:
// feed decoded text in pieces of any size, get deltas as soon as they are certain. Feeding the
// whole text at once gives the same result as feeding it one character at a time (tested).
//
// Tolerated: reasoning without an opening <think> (it was in the prompt); no </think> at all;
// a <tool_call> inside the reasoning (parsed, flagged); <function=...> without <tool_call>
// (back-off); missing closing tags at the end of the stream; </parameter/>, </parameter1>,
// fused </parameter_function>; JSON-style calls ({"name":..., "arguments":...}) inside
// <tool_call>. Calls to functions not in `tools` are returned as calls too, with a warning (the
// client's agent loop can then tell the model the tool does not exist). Never throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chat/pyjson.h"

namespace onprem::chat {

struct ParserOptions {
  bool thinking_open = true;  // the prompt ended with "<think>\n": output starts as reasoning
  bool parse_tool_calls = true;
  uint64_t id_seed = 0;  // call ids are "call_" + 24 hex digits derived from it
};

struct ParsedToolCall {
  std::string id, name;
  Json arguments = Json::object();
  std::string arguments_json;  // what was streamed, concatenated
  bool in_reasoning = false;   // the model wrote it before </think>
};

struct OutputDelta {
  enum class Kind { kReasoning, kContent, kToolCallBegin, kToolCallArguments, kWarning };
  Kind kind = Kind::kContent;
  std::string text;      // reasoning / content / arguments fragment / warning
  int index = -1;        // tool call index
  std::string id, name;  // kToolCallBegin
};

struct ParsedOutput {
  std::string reasoning, content;
  std::vector<ParsedToolCall> tool_calls;
  std::vector<std::string> warnings;
  bool reasoning_closed = false;  // a </think> was seen
};

class OutputParser {
 public:
  OutputParser(Json tools, ParserOptions opt);
  std::vector<OutputDelta> push(std::string_view text);
  std::vector<OutputDelta> finish();
  const ParsedOutput& result() const { return out_; }

 private:
  enum class Mode { kReasoning, kContent, kCall };
  struct Function {
    std::string name;
    bool name_done = false, closed = false;
    std::vector<std::pair<std::string, std::string>> params;  // complete parameters, raw values
    size_t begin = 0, end = 0;                                // its text inside the block
  };
  struct Block {
    std::vector<Function> functions;
    bool closed = false, malformed = false;
    size_t end = 0;  // bytes of the block body consumed when closed
  };

  void run(bool final, std::vector<OutputDelta>& d);
  bool step_text(bool final, std::vector<OutputDelta>& d);
  bool step_call(bool final, std::vector<OutputDelta>& d);
  Block parse_block(std::string_view body, bool final) const;
  void emit_text(std::string_view text, std::vector<OutputDelta>& d);
  void emit_warning(std::string msg, std::vector<OutputDelta>& d);

  Json tools_;
  ParserOptions opt_;
  ParsedOutput out_;
  Mode mode_;
  std::string buf_;             // not yet consumed
  std::string held_newlines_;   // reasoning: trailing newlines that </think> may swallow
  bool strip_newlines_ = true;  // at the start of reasoning / content: drop leading newlines
  bool strip_space_ = false;    // after a tool call: drop whitespace before more text
  // The open call block.
  std::string block_;  // body after <tool_call> (or from <function= in back-off)
  bool block_backoff_ = false, block_in_reasoning_ = false;
  size_t fn_emitted_ = 0;      // functions of this block fully handled
  size_t params_emitted_ = 0;  // of the function being streamed
  bool begin_emitted_ = false;
  int call_index_ = 0;
};

ParsedOutput parse_output(std::string_view text, const Json& tools, const ParserOptions& opt);

}  // namespace onprem::chat
