// OpenAI Responses API (POST /v1/responses), as Codex uses it: generations as response objects and
// the Responses streaming events. Requests are read by protocol::parse_responses and planned as
// every chat is (the same template, parser and engine path as the other APIs).
#pragma once

#include "api/openai.h"

namespace onprem::api {

chat::Json responses_response(const ChatPlan& plan, const Generation& g, const std::string& id, int64_t created,
                              const chat::Json& namespaces);

// How a generation ended, in the terms a response reports.
struct ResponseFinish {
  std::string reason;  // stop | length | tool_calls | repetition | error
  int64_t prompt_tokens = 0, completion_tokens = 0, cached_tokens = 0;
};

// Streaming: turns deltas into the Responses SSE events, tracking the open output item.
struct ResponsesStream {
  std::string model;
  std::string id;
  chat::Json namespaces = chat::Json::object();  // from protocol::parse_responses
  int64_t created = 0;
  bool started = false;
  int64_t sequence = 0;
  std::string open_kind;                    // "reasoning", "message", "function_call" or "" (none open)
  chat::Json open_item;                     // the open item as it will be when done
  std::string open_text;                    // its text so far (summary, output text or arguments)
  chat::Json output = chat::Json::array();  // finished items, for response.completed
  std::string events(const Generation& g, const std::vector<GenerationEvent>& ev);
  // The same from deltas; `finish` ends the response.
  std::string feed(const std::vector<chat::OutputDelta>& deltas, const ResponseFinish* finish);
};

// The router's side: a backend's chat completion (OpenAI chat shape) as a response, and its
// chat completion chunks as Responses events.
chat::Json chat_completion_to_response(const chat::Json& chat, const std::string& id, int64_t created,
                                       const chat::Json& namespaces);
struct ChatChunksToResponses {
  ResponsesStream stream;
  ResponseFinish finish;
  bool finished = false;
  std::string on_chunk(const chat::Json& chunk);  // one `data:` payload
  std::string on_end();                           // [DONE] or the end of the stream
};

}  // namespace onprem::api
