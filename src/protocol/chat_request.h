// One chat request, whatever API it came in: OpenAI Chat Completions, Completions, Anthropic
// Messages or the Responses API are each parsed into this (and validated in their own words), and
// it is written out as the body another server takes (`chat_body.h`, `anthropic_body.h`) or planned
// into a generation (`api/openai.h`). Fields the request left unset stay unset: the server's
// defaults are the planner's to apply.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chat/pyjson.h"
#include "sample/sampler.h"

namespace onprem::protocol {

using chat::Json;

struct ContentPart {
  enum class Kind { kText, kImage, kVideo };
  Kind kind = Kind::kText;
  std::string text;  // kText
  std::string url;   // kImage: an http(s) or data: URL; empty when the API gave none
};

struct ToolCall {
  std::string id, name;
  std::string arguments;  // JSON text, as OpenAI carries it (an object's text for Anthropic input)
};

struct Message {
  std::string role;  // system | user | assistant | tool ("developer" is read as system)
  std::vector<ContentPart> content;
  std::optional<std::string> reasoning;  // the assistant's reasoning, when the client sent it back
  std::vector<ToolCall> tool_calls;      // assistant
  std::string tool_call_id;              // tool: the call this result answers
  std::string name;                      // OpenAI's optional participant name

  std::string text() const;  // the text parts, concatenated
  bool text_only() const;
};

struct Tool {
  std::string name, description;
  Json parameters = Json::object();  // a JSON schema object
  // The definition exactly as an OpenAI client wrote it ({"type": "function", "function": {...}},
  // extra fields and key order kept): the chat template prints tool definitions verbatim, so the
  // prompt is the one the client's own template would give. Null for the other APIs' tools.
  Json openai_definition;
};

struct ToolChoice {
  enum class Mode { kAuto, kNone, kRequired, kNamed };
  Mode mode = Mode::kAuto;
  std::string name;                    // kNamed
  std::optional<bool> parallel_calls;  // OpenAI parallel_tool_calls; Anthropic !disable_parallel_tool_use
};

struct ResponseFormat {
  enum class Kind { kText, kJsonObject, kJsonSchema };
  Kind kind = Kind::kText;
  Json schema;  // kJsonSchema
};

struct Thinking {
  // Qwen's chat_template_kwargs.enable_thinking; unset = the template's default (on).
  std::optional<bool> enabled;
  bool preserve = false;          // chat_template_kwargs.preserve_thinking (Qwen3.6 keeps every past <think>)
  std::optional<int64_t> budget;  // tokens of reasoning before the answer is forced
  std::string effort;             // OpenAI's reasoning_effort, as sent (for an Anthropic backend)
};

struct ChatRequest {
  std::string model;  // empty: the server's own
  std::vector<Message> messages;
  std::optional<std::string> prompt;  // /v1/completions: raw text, no template, no messages
  std::vector<Tool> tools;
  ToolChoice tool_choice;
  ResponseFormat response_format;
  std::string preset;  // a named sampling preset (onprem)
  sample::SamplingOverrides sampling;
  std::optional<int64_t> max_tokens;
  std::vector<std::string> stop;
  bool stream = false, include_usage = false;
  bool logprobs = false;
  int top_logprobs = 0;
  Thinking thinking;
  std::string user;  // OpenAI user, Anthropic metadata.user_id
  // onprem's extensions
  bool ignore_eos = false, loop_guard = true;
  std::optional<bool> restore_reasoning;
};

}  // namespace onprem::protocol
