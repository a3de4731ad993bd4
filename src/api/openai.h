// OpenAI Chat Completions and Completions: request bodies to generations, and generations to
// response bodies or SSE chunks.
#pragma once

#include <optional>
#include <string_view>
#include <string>

#include "api/generation.h"
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

// Validates and translates a /v1/chat/completions body; nullopt on success.
std::optional<ApiError> plan_chat(Service& svc, const chat::Json& body, ChatPlan* out);
// The same for /v1/completions (a raw prompt, no template).
std::optional<ApiError> plan_completion(Service& svc, const chat::Json& body, ChatPlan* out);
// Sampling fields shared by both APIs (temperature, top_p, ..., seed, logit_bias, preset).
std::optional<ApiError> plan_sampling(Service& svc, const chat::Json& body, sample::SamplingParams* out);

chat::Json chat_response(const Service& svc, const ChatPlan& plan, const Generation& g, const std::string& id,
                         int64_t created);
// SSE payloads ("data: ...\n\n") for events; `first` adds the role chunk.
std::string chat_chunks(const ChatPlan& plan, const std::string& id, int64_t created,
                        const std::vector<GenerationEvent>& events, const Generation& g, bool* role_sent);
chat::Json completion_response(const ChatPlan& plan, const Generation& g, const std::string& id, int64_t created);
std::string completion_chunks(const ChatPlan& plan, const std::string& id, int64_t created,
                              const std::vector<GenerationEvent>& events, const Generation& g);

}  // namespace onprem::api
