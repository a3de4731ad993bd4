#include "protocol/usage.h"

namespace onprem::protocol {

namespace {

int64_t count(const Json& o, const char* key) {
  return o.is_object() && o.contains(key) && o[key].is_number_integer() ? o[key].get<int64_t>() : 0;
}

}  // namespace

Json openai_usage(const TokenUsage& u) {
  return {{"prompt_tokens", u.prompt},
          {"completion_tokens", u.completion},
          {"total_tokens", u.prompt + u.completion},
          {"prompt_tokens_details", {{"cached_tokens", u.cached}}}};
}

Json responses_usage(const TokenUsage& u) {
  return {{"input_tokens", u.prompt},
          {"input_tokens_details", {{"cached_tokens", u.cached}}},
          {"output_tokens", u.completion},
          {"output_tokens_details", {{"reasoning_tokens", 0}}},
          {"total_tokens", u.prompt + u.completion}};
}

Json anthropic_usage(const TokenUsage& u) {
  return {{"input_tokens", u.prompt - u.cached},
          {"cache_read_input_tokens", u.cached},
          {"cache_creation_input_tokens", 0},
          {"output_tokens", u.completion}};
}

TokenUsage usage_from_openai(const Json& usage) {
  TokenUsage u;
  u.prompt = count(usage, "prompt_tokens");
  u.completion = count(usage, "completion_tokens");
  if (usage.is_object() && usage.contains("prompt_tokens_details"))
    u.cached = count(usage["prompt_tokens_details"], "cached_tokens");
  return u;
}

TokenUsage usage_from_anthropic(const Json& usage) {
  TokenUsage u;
  u.cached = count(usage, "cache_read_input_tokens");
  u.prompt = count(usage, "input_tokens") + u.cached + count(usage, "cache_creation_input_tokens");
  u.completion = count(usage, "output_tokens");
  return u;
}

}  // namespace onprem::protocol
