#include "api/anthropic.h"

#include "protocol/json_text.h"
#include "protocol/stop_reason.h"
#include "protocol/usage.h"

namespace onprem::api {

using chat::Json;
using protocol::sse_event;

namespace {

// The usage of a finished generation: what the prefix cache supplied is known only now.
Json usage_json(const engine::Finish& f) {
  return protocol::anthropic_usage({f.prompt_tokens, f.cached_tokens, f.completion_tokens});
}

// stop_reason and stop_sequence (the stop string that ended the answer, else null), and the loop
// guard's signal.
void add_stop(const Generation& g, Json* j) {
  (*j)["stop_reason"] = protocol::anthropic_stop_reason(g.finish_reason(), g.matched_stop());
  (*j)["stop_sequence"] = g.matched_stop().empty() ? Json() : Json(g.matched_stop());
  if (g.loop_guard_stopped()) (*j)[protocol::kStopDetailField] = protocol::kLoopGuardStop;
}

}  // namespace

Json messages_response(const ChatPlan& plan, const Generation& g, const std::string& id) {
  const auto& r = g.result();
  Json content = Json::array();
  if (!r.reasoning.empty()) content.push_back({{"type", "thinking"}, {"thinking", r.reasoning}, {"signature", ""}});
  if (!r.content.empty()) content.push_back({{"type", "text"}, {"text", r.content}});
  for (const auto& c : r.tool_calls)
    content.push_back({{"type", "tool_use"}, {"id", c.id}, {"name", c.name}, {"input", c.arguments}});
  Json m = {
      {"id", id},           {"type", "message"},     {"role", "assistant"},     {"model", plan.model},
      {"content", content}, {"stop_reason", Json()}, {"stop_sequence", Json()}, {"usage", usage_json(g.finish())}};
  add_stop(g, &m);
  return m;
}

std::string MessagesStream::events(const Generation& g, const std::vector<GenerationEvent>& ev) {
  std::string out;
  if (!started) {
    started = true;
    out += sse_event("message_start",
                     {{"type", "message_start"},
                      {"message",
                       {{"id", id},
                        {"type", "message"},
                        {"role", "assistant"},
                        {"model", plan->model},
                        {"content", Json::array()},
                        {"stop_reason", Json()},
                        {"stop_sequence", Json()},
                        {"usage", {{"input_tokens", int64_t(plan->prompt.size())}, {"output_tokens", 0}}}}}});
  }
  auto close = [&] {
    if (open_index < 0) return;
    out += sse_event("content_block_stop", {{"type", "content_block_stop"}, {"index", open_index}});
    open_index = -1, open_kind.clear();
  };
  auto open = [&](const std::string& kind, Json block) {
    close();
    open_index = next_index++, open_kind = kind;
    out += sse_event("content_block_start",
                     {{"type", "content_block_start"}, {"index", open_index}, {"content_block", block}});
  };
  for (const auto& e : ev) {
    if (e.kind == GenerationEvent::Kind::kDelta) {
      const auto& d = e.delta;
      if (d.kind == chat::OutputDelta::Kind::kReasoning) {
        if (open_kind != "thinking") open("thinking", {{"type", "thinking"}, {"thinking", ""}, {"signature", ""}});
        out += sse_event("content_block_delta", {{"type", "content_block_delta"},
                                                 {"index", open_index},
                                                 {"delta", {{"type", "thinking_delta"}, {"thinking", d.text}}}});
      } else if (d.kind == chat::OutputDelta::Kind::kContent) {
        if (open_kind != "text") open("text", {{"type", "text"}, {"text", ""}});
        out += sse_event("content_block_delta", {{"type", "content_block_delta"},
                                                 {"index", open_index},
                                                 {"delta", {{"type", "text_delta"}, {"text", d.text}}}});
      } else if (d.kind == chat::OutputDelta::Kind::kToolCallBegin) {
        open("tool_use", {{"type", "tool_use"}, {"id", d.id}, {"name", d.name}, {"input", Json::object()}});
      } else if (d.kind == chat::OutputDelta::Kind::kToolCallArguments) {
        out += sse_event("content_block_delta", {{"type", "content_block_delta"},
                                                 {"index", open_index},
                                                 {"delta", {{"type", "input_json_delta"}, {"partial_json", d.text}}}});
      }
    } else if (e.kind == GenerationEvent::Kind::kFinish) {
      close();
      if (g.finish().reason == engine::FinishReason::kError) {  // never dressed as a normal end
        out +=
            sse_event("error", {{"type", "error"}, {"error", {{"type", "api_error"}, {"message", g.finish().error}}}});
        continue;
      }
      Json delta = Json::object();
      add_stop(g, &delta);
      // The final usage, with what the prefix cache supplied (unknown when message_start went out:
      // that one counts the whole prompt as input).
      out +=
          sse_event("message_delta", {{"type", "message_delta"}, {"delta", delta}, {"usage", usage_json(g.finish())}});
      out += sse_event("message_stop", {{"type", "message_stop"}});
    }
  }
  return out;
}

}  // namespace onprem::api
