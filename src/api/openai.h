// OpenAI Chat Completions and Completions: request bodies to generations, and generations to
// response bodies or SSE chunks.
#pragma once

#include <optional>
#include <string_view>
#include <string>

#include "api/generation.h"
#include "protocol/chat_request.h"
#include "protocol/errors.h"

namespace onprem::api {

using protocol::ApiError;
using protocol::bad_request;

struct ChatPlan {
  std::vector<int32_t> prompt;
  GenerationOptions gen;
  sample::SamplingParams sampling;
  int64_t max_tokens = 0;
  bool stream = false, include_usage = false, logprobs = false;
  std::string model;
};

// A chat request, from whichever API, planned for this server: its model, defaults, grammar and
// the rendered, tokenized prompt. nullopt on success.
std::optional<ApiError> plan_chat(Service& svc, const protocol::ChatRequest& request, ChatPlan* out);
// The same for /v1/completions (a raw prompt, no template).
std::optional<ApiError> plan_completion(Service& svc, const protocol::ChatRequest& request, ChatPlan* out);
// The sampler: the request's preset (else the server's) with the request's overrides.
std::optional<ApiError> plan_sampling(Service& svc, const protocol::ChatRequest& request, sample::SamplingParams* out);

chat::Json chat_response(const Service& svc, const ChatPlan& plan, const Generation& g, const std::string& id,
                         int64_t created);
// SSE payloads ("data: ...\n\n") for events; `first` adds the role chunk.
std::string chat_chunks(const ChatPlan& plan, const std::string& id, int64_t created,
                        const std::vector<GenerationEvent>& events, const Generation& g, bool* role_sent);
chat::Json completion_response(const ChatPlan& plan, const Generation& g, const std::string& id, int64_t created);
std::string completion_chunks(const ChatPlan& plan, const std::string& id, int64_t created,
                              const std::vector<GenerationEvent>& events, const Generation& g);

}  // namespace onprem::api
