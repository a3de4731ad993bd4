// OpenAI Responses API (POST /v1/responses), as Codex uses it: requests are translated to the chat
// plan (the same template, parser and engine path as the other APIs), generations to response
// objects and the Responses streaming events. Nothing is stored: previous_response_id is refused.
#pragma once

#include "api/openai.h"

namespace onprem::api {

// Translates a /v1/responses body into an OpenAI chat body. Hosted tools (web_search, file_search,
// ...) are dropped, since the server cannot run them. Namespace tools are flattened: `namespaces`
// gets {tool name: namespace}, which the output puts back on each call to them (Codex dispatches
// a call by its namespace and refuses one without it).
std::optional<ApiError> responses_to_chat(const chat::Json& body, chat::Json* out, chat::Json* namespaces);

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
  chat::Json namespaces = chat::Json::object();  // from responses_to_chat
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
