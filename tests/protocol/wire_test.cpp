// The small facts both APIs share: how a generation ended, token usage, error bodies, the API key
// a client presents, and JSON text on the wire.
#include <gtest/gtest.h>

#include "protocol/auth.h"
#include "protocol/errors.h"
#include "protocol/json_text.h"
#include "protocol/stop_reason.h"
#include "protocol/usage.h"

using namespace onprem::protocol;

TEST(StopReason, EachEngineReasonInEachApi) {
  struct Row {
    const char* engine;
    const char* openai;
    const char* anthropic;
  };
  // OpenAI: stop | length | tool_calls | content_filter; Anthropic: end_turn | max_tokens |
  // tool_use | refusal. The loop guard is the token limit's word in both.
  for (const Row& r : {Row{"stop", "stop", "end_turn"}, Row{"length", "length", "max_tokens"},
                       Row{"tool_calls", "tool_calls", "tool_use"}, Row{"repetition", "length", "max_tokens"},
                       Row{"content_filter", "content_filter", "refusal"}}) {
    EXPECT_EQ(openai_finish_reason(r.engine), r.openai) << r.engine;
    EXPECT_EQ(anthropic_stop_reason(r.engine), r.anthropic) << r.engine;
    // Read back from an Anthropic backend, it is the OpenAI reason again.
    EXPECT_EQ(reason_from_anthropic(r.anthropic), r.openai) << r.engine;
  }
  EXPECT_EQ(openai_finish_reason("error"), "error");  // never dressed as a normal end
  EXPECT_EQ(reason_from_anthropic("stop_sequence"), "stop");
  EXPECT_EQ(anthropic_stop_reason("stop", "END"), "stop_sequence");  // a stop string made it
  EXPECT_EQ(anthropic_stop_reason("length", "END"), "max_tokens");
  EXPECT_EQ(reason_from_anthropic("pause_turn"), "stop");
}

TEST(Usage, EachApiCountsTheCacheItsWay) {
  const TokenUsage u{1000, 600, 42};
  const Json o = openai_usage(u);
  EXPECT_EQ(o["prompt_tokens"], 1000);
  EXPECT_EQ(o["prompt_tokens_details"]["cached_tokens"], 600);
  EXPECT_EQ(o["completion_tokens"], 42);
  EXPECT_EQ(o["total_tokens"], 1042);
  const Json a = anthropic_usage(u);
  EXPECT_EQ(a["input_tokens"], 400);  // computed afresh; clients add the cache read
  EXPECT_EQ(a["cache_read_input_tokens"], 600);
  EXPECT_EQ(a["cache_creation_input_tokens"], 0);
  EXPECT_EQ(a["output_tokens"], 42);
  const Json r = responses_usage(u);
  EXPECT_EQ(r["input_tokens"], 1000);
  EXPECT_EQ(r["input_tokens_details"]["cached_tokens"], 600);
  EXPECT_EQ(r["output_tokens"], 42);
  EXPECT_EQ(r["total_tokens"], 1042);
  for (const TokenUsage& back : {usage_from_openai(o), usage_from_anthropic(a)}) {
    EXPECT_EQ(back.prompt, 1000);
    EXPECT_EQ(back.cached, 600);
    EXPECT_EQ(back.completion, 42);
  }
  // Anthropic's cache writes are prompt tokens too; missing or mistyped fields count 0.
  EXPECT_EQ(usage_from_anthropic({{"input_tokens", 10}, {"cache_creation_input_tokens", 5}}).prompt, 15);
  EXPECT_EQ(usage_from_openai({{"prompt_tokens", "9"}}).prompt, 0);
  EXPECT_EQ(usage_from_openai(Json()).completion, 0);
}

TEST(ApiKey, BearerFirstThenXApiKey) {
  EXPECT_EQ(presented_api_key("Bearer sk-1", ""), "sk-1");
  EXPECT_EQ(presented_api_key("bearer sk-1", "other"), "sk-1");  // the scheme is case-insensitive
  EXPECT_EQ(presented_api_key("", "sk-2"), "sk-2");
  EXPECT_EQ(presented_api_key("Basic dXNlcg==", "sk-2"), "sk-2");
  EXPECT_EQ(presented_api_key("Bear", ""), "");
}

TEST(ErrorBody, EachApisShape) {
  const ApiError e{400, "invalid_request_error", "max_tokens: field required", "max_tokens", ""};
  const Json o = Json::parse(openai_error_body(e));
  EXPECT_EQ(o["error"]["message"], "max_tokens: field required");
  EXPECT_EQ(o["error"]["type"], "invalid_request_error");
  EXPECT_EQ(o["error"]["param"], "max_tokens");
  EXPECT_TRUE(o["error"]["code"].is_null());
  const Json a = Json::parse(anthropic_error_body(e));
  EXPECT_EQ(a, Json::parse(R"({"type":"error","error":{"type":"invalid_request_error",
                                "message":"max_tokens: field required"}})"));
  // Anthropic's types by status.
  for (auto [status, type] : {std::pair{401, "authentication_error"}, std::pair{404, "not_found_error"},
                              std::pair{429, "rate_limit_error"}, std::pair{500, "api_error"}}) {
    const ApiError s{status, "server_error", "m", "", ""};
    EXPECT_EQ(Json::parse(anthropic_error_body(s))["error"]["type"], type) << status;
  }
  const Json either = Json::parse(either_shape_error_body("invalid_request_error", "too large"));
  EXPECT_EQ(either["type"], "error");
  EXPECT_EQ(either["error"]["message"], "too large");
}

TEST(JsonText, CompactAndInvalidUtf8Replaced) {
  const Json j = {{"a", std::string("x\xff"
                                    "y")},
                  {"b", {1, 2}}};
  EXPECT_EQ(json_text(j), "{\"a\":\"x\xEF\xBF\xBDy\",\"b\":[1,2]}");
  EXPECT_EQ(sse_event("ping", {{"type", "ping"}}), "event: ping\ndata: {\"type\":\"ping\"}\n\n");
  EXPECT_EQ(sse_data({{"k", 1}}), "data: {\"k\":1}\n\n");
}
