#include "api/openai.h"

#include <algorithm>
#include <cstdint>

#include "chat/template_file.h"
#include "protocol/chat_body.h"
#include "protocol/json_text.h"
#include "protocol/stop_reason.h"
#include "protocol/usage.h"

namespace onprem::api {

using chat::Json;

namespace {

Json usage_json(const engine::Finish& f) {
  return protocol::openai_usage({f.prompt_tokens, f.cached_tokens, f.completion_tokens});
}

// A loop-guard stop is "length", and the choice says why.
Json finish_reason(const Generation& g) { return protocol::openai_finish_reason(g.finish_reason()); }
Json choice_with_stop(Json choice, const Generation& g) {
  if (g.loop_guard_stopped()) choice[protocol::kStopDetailField] = protocol::kLoopGuardStop;
  return choice;
}

}  // namespace

std::optional<ApiError> plan_sampling(Service& svc, const protocol::ChatRequest& req, sample::SamplingParams* out) {
  sample::SamplingParams p;
  const std::string& preset = req.preset.empty() ? svc.opt.preset : req.preset;
  if (!preset.empty()) {
    auto pr = sample::preset(preset, svc.opt.preset_model);
    if (!pr) return bad_request(pr.error().message, "preset");
    p = *pr;
  }
  for (const auto& [id, bias] : req.sampling.logit_bias)
    if (size_t(id) >= svc.tok.vocab().size())
      return bad_request("logit_bias keys must be token ids and values numbers", "logit_bias");
  *out = sample::apply_overrides(p, req.sampling);
  return std::nullopt;
}

namespace {

std::optional<ApiError> plan_common(Service& svc, const protocol::ChatRequest& req, ChatPlan* out) {
  out->model = req.model.empty() ? svc.opt.model_id : req.model;
  if (!svc.model_name_ok(out->model))
    return ApiError{404, "not_found_error", "model '" + out->model + "' is not served here (" + svc.opt.model_id + ")",
                    "model", ""};
  if (auto e = plan_sampling(svc, req, &out->sampling)) return e;
  out->max_tokens = req.max_tokens.value_or(svc.opt.default_max_tokens);
  out->stream = req.stream;
  out->include_usage = req.stream && req.include_usage;
  out->gen.stop = req.stop;
  out->gen.ignore_eos = req.ignore_eos;
  out->gen.loop_guard = req.loop_guard;
  out->logprobs = req.logprobs;
  out->gen.top_logprobs = req.logprobs ? req.top_logprobs : 0;
  return std::nullopt;
}

// tools, tool_choice and response_format: what the output may be. required / named calls and
// JSON output are grammars; they render with thinking off, so the first token starts the value.
std::optional<ApiError> plan_output(const protocol::ChatRequest& req, const Json& tools, GenerationOptions* gen) {
  using Mode = protocol::ToolChoice::Mode;
  const Mode choice = req.tool_choice.mode;
  if ((choice == Mode::kRequired || choice == Mode::kNamed) && tools.empty())
    return bad_request("tool_choice needs tools", "tool_choice");
  gen->tools = tools;
  gen->parse_tools = choice != Mode::kNone && !tools.empty();
  // parallel_tool_calls: false is met as it is: the required / named grammar makes exactly one
  // call, and auto is not limited.
  if (choice == Mode::kRequired || choice == Mode::kNamed) {
    auto g = chat::grammar_for_tool_call(tools, choice == Mode::kNamed ? req.tool_choice.name : "");
    if (!g) return bad_request(g.error().message, "tool_choice");
    gen->grammar = std::move(*g);
    return std::nullopt;
  }
  const protocol::ResponseFormat& rf = req.response_format;
  if (rf.kind == protocol::ResponseFormat::Kind::kJsonObject) {
    gen->grammar = std::move(*chat::grammar_from_schema(Json{{"type", "object"}}));
  } else if (rf.kind == protocol::ResponseFormat::Kind::kJsonSchema) {
    auto g = chat::grammar_from_schema(rf.schema);
    if (!g) return bad_request(g.error().message, "response_format");
    gen->grammar = std::move(*g);
  }
  return std::nullopt;
}

// The messages as the template takes them, and (server-side preserve_thinking) assistant turns
// whose reasoning the client dropped get it back from the store.
Json messages_to_render(const Service& svc, const protocol::ChatRequest& req) {
  const bool restore = req.restore_reasoning.value_or(svc.opt.restore_reasoning && !req.tools.empty());
  if (!restore) return protocol::chat_messages(req.messages);
  std::vector<protocol::Message> messages = req.messages;
  for (auto& m : messages) {
    if (m.role != "assistant" || (m.reasoning && !m.reasoning->empty())) continue;
    const std::string content = m.text();
    if (content.find("</think>") != std::string::npos) continue;
    Json calls = Json::array();
    for (const auto& c : m.tool_calls) calls.push_back({{"function", {{"name", c.name}, {"arguments", c.arguments}}}});
    std::string r;
    if (svc.reasoning.get(ReasoningStore::key(content, calls), &r)) m.reasoning = r;
  }
  return protocol::chat_messages(messages);
}

// Renders and tokenizes the prompt, and marks the end of the history (before the generation
// prompt) for a state snapshot: the next turn's render diverges there when old reasoning is
// dropped. The prompt is the history followed by the generation prompt, which begins with a
// special token, so the history's tokens are the prompt's first tokens: the long history is
// tokenized once.
std::optional<ApiError> render_prompt(const Service& svc, const Json& messages, const Json& tools,
                                      const chat::RenderOptions& ro, ChatPlan* out) {
  auto render = [&](const chat::RenderOptions& o) {
    return svc.opt.chat_template ? chat::render_chat_with(*svc.opt.chat_template, messages, tools, o)
                                 : chat::render_chat(messages, tools, o);
  };
  auto prompt = render(ro);
  if (!prompt) return bad_request(prompt.error().message, "messages");
  chat::RenderOptions hist_options = ro;
  hist_options.add_generation_prompt = false;
  auto hist = render(hist_options);
  if (hist.ok() && prompt->size() > hist->size() && prompt->compare(0, hist->size(), *hist) == 0) {
    out->prompt = svc.tok.encode(*hist, true);
    const size_t n_hist = out->prompt.size();
    const auto tail = svc.tok.encode(std::string_view(*prompt).substr(hist->size()), true);
    // Only when the seam falls on a special token does the split equal one encoding of the whole
    // (and only without a BOS, which the tail would repeat).
    const auto& special = svc.tok.vocab().special_ids;
    if (!svc.tok.vocab().add_bos && !tail.empty() &&
        std::find(special.begin(), special.end(), tail.front()) != special.end()) {
      out->prompt.insert(out->prompt.end(), tail.begin(), tail.end());
      out->gen.snapshot_at.push_back(int64_t(n_hist));
      return std::nullopt;
    }
  }
  out->prompt = svc.tok.encode(*prompt, true);
  if (hist.ok()) out->gen.snapshot_at.push_back(int64_t(svc.tok.encode(*hist, true).size()));
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> plan_chat(Service& svc, const protocol::ChatRequest& req, ChatPlan* out) {
  if (req.messages.empty()) return bad_request("messages must be a non-empty array", "messages");
  if (req.messages.size() > svc.opt.max_messages)
    return bad_request("too many messages (" + std::to_string(req.messages.size()) + " > " +
                           std::to_string(svc.opt.max_messages) + ")",
                       "messages");
  if (auto e = plan_common(svc, req, out)) return e;
  const Json tools = protocol::chat_tools(req.tools);
  if (auto e = plan_output(req, tools, &out->gen)) return e;
  chat::RenderOptions ro;
  ro.flavor = svc.opt.flavor;
  ro.system_anywhere = true;
  if (req.thinking.enabled) ro.enable_thinking = *req.thinking.enabled;
  if (req.thinking.preserve) ro.preserve_thinking = true;
  if (out->gen.grammar) ro.enable_thinking = false;
  out->gen.thinking_open = !(ro.enable_thinking.is_boolean() && !ro.enable_thinking.get<bool>());
  if (req.thinking.budget) out->gen.thinking_budget = *req.thinking.budget;
  return render_prompt(svc, messages_to_render(svc, req), tools, ro, out);
}

std::optional<ApiError> plan_completion(Service& svc, const protocol::ChatRequest& req, ChatPlan* out) {
  if (!req.prompt) return bad_request("prompt must be a string", "prompt");
  if (auto e = plan_common(svc, req, out)) return e;
  out->gen.parse_tools = false;
  out->gen.thinking_open = false;
  out->prompt = svc.tok.encode(*req.prompt, true);
  if (out->prompt.empty()) return bad_request("the prompt is empty", "prompt");
  return std::nullopt;
}

namespace {

Json logprobs_json(const Service& svc, const Generation& g) {
  Json content = Json::array();
  for (const auto& e : g.tokens()) {
    Json top = Json::array();
    for (const auto& [id, lp] : e.token.top) top.push_back({{"token", svc.tok.token_bytes(id, true)}, {"logprob", lp}});
    content.push_back({{"token", e.token_text}, {"logprob", e.token.logprob}, {"top_logprobs", top}});
  }
  return {{"content", content}};
}

Json tool_calls_json(const chat::ParsedOutput& r) {
  Json calls = Json::array();
  for (const auto& c : r.tool_calls)
    calls.push_back(
        {{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments_json}}}});
  return calls;
}

}  // namespace

Json chat_response(const Service& svc, const ChatPlan& plan, const Generation& g, const std::string& id,
                   int64_t created) {
  const auto& r = g.result();
  Json msg = {{"role", "assistant"},
              {"content", r.content.empty() && !r.tool_calls.empty() ? Json() : Json(r.content)}};
  if (!r.reasoning.empty()) msg["reasoning_content"] = r.reasoning;
  if (!r.tool_calls.empty()) msg["tool_calls"] = tool_calls_json(r);
  Json choice =
      choice_with_stop({{"index", 0}, {"message", msg}, {"finish_reason", finish_reason(g)}, {"logprobs", Json()}}, g);
  if (plan.logprobs) choice["logprobs"] = logprobs_json(svc, g);
  return {{"id", id},
          {"object", "chat.completion"},
          {"created", created},
          {"model", plan.model},
          {"choices", Json::array({choice})},
          {"usage", usage_json(g.finish())}};
}

std::string chat_chunks(const ChatPlan& plan, const std::string& id, int64_t created,
                        const std::vector<GenerationEvent>& events, const Generation& g, bool* role_sent) {
  std::string out;
  auto chunk = [&](Json delta, Json finish = Json()) {
    Json choice = {{"index", 0}, {"delta", delta}, {"finish_reason", finish}, {"logprobs", Json()}};
    if (!finish.is_null()) choice = choice_with_stop(choice, g);
    Json c = {{"id", id},
              {"object", "chat.completion.chunk"},
              {"created", created},
              {"model", plan.model},
              {"choices", Json::array({choice})}};
    out += protocol::sse_data(c);
  };
  if (!*role_sent) {
    chunk({{"role", "assistant"}, {"content", ""}});
    *role_sent = true;
  }
  for (const auto& e : events) {
    if (e.kind == GenerationEvent::Kind::kDelta) {
      const auto& d = e.delta;
      switch (d.kind) {
        case chat::OutputDelta::Kind::kReasoning:
          chunk({{"reasoning_content", d.text}});
          break;
        case chat::OutputDelta::Kind::kContent:
          chunk({{"content", d.text}});
          break;
        case chat::OutputDelta::Kind::kToolCallBegin:
          chunk({{"tool_calls", Json::array({{{"index", d.index},
                                              {"id", d.id},
                                              {"type", "function"},
                                              {"function", {{"name", d.name}, {"arguments", ""}}}}})}});
          break;
        case chat::OutputDelta::Kind::kToolCallArguments:
          chunk({{"tool_calls", Json::array({{{"index", d.index}, {"function", {{"arguments", d.text}}}}})}});
          break;
        case chat::OutputDelta::Kind::kWarning:
          break;
      }
    } else if (e.kind == GenerationEvent::Kind::kFinish) {
      chunk(Json::object(), finish_reason(g));
      if (plan.include_usage) {
        Json u = {{"id", id},
                  {"object", "chat.completion.chunk"},
                  {"created", created},
                  {"model", plan.model},
                  {"choices", Json::array()},
                  {"usage", usage_json(g.finish())}};
        out += protocol::sse_data(u);
      }
      out += "data: [DONE]\n\n";
    }
  }
  return out;
}

Json completion_response(const ChatPlan& plan, const Generation& g, const std::string& id, int64_t created) {
  Json choice = choice_with_stop(
      {{"index", 0}, {"text", g.result().content}, {"finish_reason", finish_reason(g)}, {"logprobs", Json()}}, g);
  return {{"id", id},
          {"object", "text_completion"},
          {"created", created},
          {"model", plan.model},
          {"choices", Json::array({choice})},
          {"usage", usage_json(g.finish())}};
}

std::string completion_chunks(const ChatPlan& plan, const std::string& id, int64_t created,
                              const std::vector<GenerationEvent>& events, const Generation& g) {
  std::string out;
  for (const auto& e : events) {
    if (e.kind == GenerationEvent::Kind::kDelta && e.delta.kind == chat::OutputDelta::Kind::kContent) {
      Json c = {{"id", id},
                {"object", "text_completion"},
                {"created", created},
                {"model", plan.model},
                {"choices", Json::array({{{"index", 0}, {"text", e.delta.text}, {"finish_reason", Json()}}})}};
      out += protocol::sse_data(c);
    } else if (e.kind == GenerationEvent::Kind::kFinish) {
      Json c = {
          {"id", id},
          {"object", "text_completion"},
          {"created", created},
          {"model", plan.model},
          {"choices",
           Json::array({choice_with_stop({{"index", 0}, {"text", ""}, {"finish_reason", finish_reason(g)}}, g)})}};
      if (plan.include_usage) c["usage"] = usage_json(g.finish());
      out += protocol::sse_data(c) + "data: [DONE]\n\n";
    }
  }
  return out;
}

}  // namespace onprem::api
