#include "api/openai.h"

#include <algorithm>
#include <cstdint>

#include "chat/template_file.h"
#include "protocol/json_text.h"
#include "protocol/stop_reason.h"
#include "protocol/thinking.h"
#include "protocol/usage.h"

namespace onprem::api {

using chat::Json;

namespace {

bool is_num(const Json& j) { return j.is_number(); }

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

std::optional<ApiError> plan_sampling(Service& svc, const Json& body, sample::SamplingParams* out) {
  sample::SamplingParams p;
  const std::string preset =
      body.contains("preset") && body["preset"].is_string() ? body["preset"].get<std::string>() : svc.opt.preset;
  if (!preset.empty()) {
    auto pr = sample::preset(preset, svc.opt.preset_model);
    if (!pr) return bad_request(pr.error().message, "preset");
    p = *pr;
  }
  sample::SamplingOverrides o;
  struct F {
    const char* name;
    std::optional<float>* dst;
    double lo, hi;
  };
  for (const F& f :
       {F{"temperature", &o.temperature, 0, 2}, F{"top_p", &o.top_p, 0, 1}, F{"min_p", &o.min_p, 0, 1},
        F{"presence_penalty", &o.presence_penalty, -2, 2}, F{"frequency_penalty", &o.frequency_penalty, -2, 2},
        F{"repetition_penalty", &o.repetition_penalty, 0.01, 10}}) {
    if (!body.contains(f.name) || body[f.name].is_null()) continue;
    if (!is_num(body[f.name])) return bad_request(std::string(f.name) + " must be a number", f.name);
    const double v = body[f.name].get<double>();
    if (v < f.lo || v > f.hi)
      return bad_request(
          std::string(f.name) + " must be between " + std::to_string(f.lo) + " and " + std::to_string(f.hi), f.name);
    *f.dst = float(v);
  }
  if (body.contains("top_k") && !body["top_k"].is_null()) {
    if (!body["top_k"].is_number_integer()) return bad_request("top_k must be an integer", "top_k");
    o.top_k = body["top_k"].get<int32_t>();
  }
  if (body.contains("seed") && !body["seed"].is_null()) {
    if (!body["seed"].is_number_integer()) return bad_request("seed must be an integer", "seed");
    o.seed = uint64_t(body["seed"].get<int64_t>());
  }
  if (body.contains("logit_bias") && body["logit_bias"].is_object()) {
    for (auto it = body["logit_bias"].begin(); it != body["logit_bias"].end(); ++it) {
      char* end = nullptr;
      const long id = std::strtol(it.key().c_str(), &end, 10);
      if (*end || id < 0 || id >= long(svc.tok.vocab().size()) || !it.value().is_number())
        return bad_request("logit_bias keys must be token ids and values numbers", "logit_bias");
      o.logit_bias.push_back({int32_t(id), it.value().get<float>()});
    }
  }
  *out = sample::apply_overrides(p, o);
  return std::nullopt;
}

namespace {

// Fields of the wrong type are 400s that name the field: `stream: "yes"` is not read as false,
// nor `n: 8589934593` as 1.
std::optional<ApiError> check_types(const Json& body) {
  auto present = [&](const char* k) { return body.contains(k) && !body[k].is_null(); };
  if (present("model") && !body["model"].is_string()) return bad_request("model must be a string", "model");
  if (present("stream") && !body["stream"].is_boolean()) return bad_request("stream must be true or false", "stream");
  if (present("n") && (!body["n"].is_number_integer() || body["n"].get<int64_t>() != 1))
    return bad_request("only n = 1 is supported", "n");
  if (present("top_k")) {
    const Json& k = body["top_k"];
    if (!k.is_number_integer() || k.get<int64_t>() < -1 || k.get<int64_t>() > INT32_MAX)
      return bad_request("top_k must be an integer, -1 or 0 for no limit", "top_k");
  }
  if (present("tools")) {
    if (!body["tools"].is_array()) return bad_request("tools must be an array", "tools");
    for (const auto& t : body["tools"]) {
      const Json* f = t.is_object() && t.contains("function") ? &t["function"] : nullptr;
      if (!f || !f->is_object() || !f->contains("name") || !(*f)["name"].is_string())
        return bad_request("tools: each tool needs function.name", "tools");
      if (f->contains("parameters") && !(*f)["parameters"].is_null() && !(*f)["parameters"].is_object())
        return bad_request("tools: function.parameters must be an object", "tools");
      if (f->contains("description") && !(*f)["description"].is_null() && !(*f)["description"].is_string())
        return bad_request("tools: function.description must be a string", "tools");
    }
  }
  return std::nullopt;
}

std::optional<ApiError> plan_common(Service& svc, const Json& body, ChatPlan* out) {
  if (auto e = check_types(body)) return e;
  out->model =
      body.contains("model") && body["model"].is_string() ? body["model"].get<std::string>() : svc.opt.model_id;
  if (!svc.model_name_ok(out->model))
    return ApiError{404, "not_found_error", "model '" + out->model + "' is not served here (" + svc.opt.model_id + ")",
                    "model", ""};
  if (body.contains("n") && body["n"].is_number_integer() && body["n"].get<int>() != 1)
    return bad_request("only n = 1 is supported", "n");
  if (auto e = plan_sampling(svc, body, &out->sampling)) return e;
  out->max_tokens = svc.opt.default_max_tokens;
  for (const char* k : {"max_tokens", "max_completion_tokens"}) {
    if (!body.contains(k) || body[k].is_null()) continue;
    if (!body[k].is_number_integer() || body[k].get<int64_t>() < 0)
      return bad_request(std::string(k) + " must be a non-negative integer", k);
    out->max_tokens = body[k].get<int64_t>();
  }
  out->stream = body.contains("stream") && body["stream"].is_boolean() && body["stream"].get<bool>();
  out->include_usage = out->stream && body.contains("stream_options") && body["stream_options"].is_object() &&
                       body["stream_options"].value("include_usage", false);
  if (body.contains("stop") && !body["stop"].is_null()) {
    const Json& s = body["stop"];
    if (s.is_string())
      out->gen.stop.push_back(s.get<std::string>());
    else if (s.is_array()) {
      for (const auto& x : s) {
        if (!x.is_string()) return bad_request("stop must be a string or an array of strings", "stop");
        out->gen.stop.push_back(x.get<std::string>());
      }
    } else {
      return bad_request("stop must be a string or an array of strings", "stop");
    }
  }
  out->gen.ignore_eos =
      body.contains("ignore_eos") && body["ignore_eos"].is_boolean() && body["ignore_eos"].get<bool>();
  out->gen.loop_guard =
      !(body.contains("loop_guard") && body["loop_guard"].is_boolean() && !body["loop_guard"].get<bool>());
  out->logprobs = body.contains("logprobs") && body["logprobs"].is_boolean() && body["logprobs"].get<bool>();
  if (out->logprobs) {
    out->gen.top_logprobs =
        body.contains("top_logprobs") && body["top_logprobs"].is_number_integer() ? body["top_logprobs"].get<int>() : 0;
    if (out->gen.top_logprobs < 0 || out->gen.top_logprobs > 20)
      return bad_request("top_logprobs must be between 0 and 20", "top_logprobs");
  }
  return std::nullopt;
}

}  // namespace

namespace {

// tools, tool_choice and response_format: what the output may be. required / named calls and
// JSON output are grammars; they render with thinking off, so the first token starts the value.
std::optional<ApiError> plan_output(const Json& body, const Json& tools, GenerationOptions* gen) {
  // tool_choice: none | auto | required | {"type":"function","function":{"name":...}}
  std::string choice = "auto", named;
  if (body.contains("tool_choice") && !body["tool_choice"].is_null()) {
    const Json& tc = body["tool_choice"];
    if (tc.is_string())
      choice = tc.get<std::string>();
    else if (tc.is_object() && tc.contains("function") && tc["function"].is_object() &&
             tc["function"].contains("name") && tc["function"]["name"].is_string())
      choice = "named", named = tc["function"]["name"].get<std::string>();
    if (choice != "none" && choice != "auto" && choice != "required" && choice != "named")
      return bad_request("tool_choice must be none, auto, required or a named function", "tool_choice");
  }
  if ((choice == "required" || choice == "named") && tools.empty())
    return bad_request("tool_choice needs tools", "tool_choice");
  gen->tools = tools;
  gen->parse_tools = choice != "none" && !tools.empty();
  // parallel_tool_calls: false is met as it is: the required / named grammar makes exactly one
  // call, and auto is not limited.
  if (choice == "required" || choice == "named") {
    auto g = chat::grammar_for_tool_call(tools, choice == "named" ? named : "");
    if (!g) return bad_request(g.error().message, "tool_choice");
    gen->grammar = std::move(*g);
    return std::nullopt;
  }
  if (!body.contains("response_format") || !body["response_format"].is_object()) return std::nullopt;
  const Json& rf = body["response_format"];
  const std::string type = rf.contains("type") && rf["type"].is_string() ? rf["type"].get<std::string>() : "text";
  if (type == "json_object") {
    gen->grammar = std::move(*chat::grammar_from_schema(Json{{"type", "object"}}));
  } else if (type == "json_schema") {
    const Json schema =
        rf.contains("json_schema") && rf["json_schema"].is_object() && rf["json_schema"].contains("schema")
            ? rf["json_schema"]["schema"]
            : Json();
    if (!schema.is_object())
      return bad_request("response_format.json_schema.schema must be an object", "response_format");
    auto g = chat::grammar_from_schema(schema);
    if (!g) return bad_request(g.error().message, "response_format");
    gen->grammar = std::move(*g);
  } else if (type != "text") {
    return bad_request("response_format.type must be text, json_object or json_schema", "response_format");
  }
  return std::nullopt;
}

// The messages as the template takes them: OpenAI's "developer" role is its newer name for
// system instructions, and (server-side preserve_thinking) assistant turns whose reasoning the
// client dropped get it back from the store.
Json messages_to_render(const Service& svc, const Json& body, bool has_tools) {
  Json messages = body["messages"];
  for (auto& m : messages)
    if (m.is_object() && m.contains("role") && m["role"] == "developer") m["role"] = "system";
  const bool restore = body.contains("restore_reasoning") && body["restore_reasoning"].is_boolean()
                           ? body["restore_reasoning"].get<bool>()
                           : svc.opt.restore_reasoning && has_tools;
  if (!restore) return messages;
  for (auto& m : messages) {
    if (!m.is_object() || m.value("role", "") != "assistant") continue;
    if (m.contains("reasoning_content") && m["reasoning_content"].is_string() &&
        !m["reasoning_content"].get<std::string>().empty())
      continue;
    const std::string content =
        m.contains("content") && m["content"].is_string() ? m["content"].get<std::string>() : std::string();
    if (content.find("</think>") != std::string::npos) continue;
    std::string r;
    if (svc.reasoning.get(ReasoningStore::key(content, m.contains("tool_calls") ? m["tool_calls"] : Json()), &r))
      m["reasoning_content"] = r;
  }
  return messages;
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

std::optional<ApiError> plan_chat(Service& svc, const Json& body, ChatPlan* out) {
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty())
    return bad_request("messages must be a non-empty array", "messages");
  if (body["messages"].size() > svc.opt.max_messages)
    return bad_request("too many messages (" + std::to_string(body["messages"].size()) + " > " +
                           std::to_string(svc.opt.max_messages) + ")",
                       "messages");
  if (auto e = plan_common(svc, body, out)) return e;
  const Json tools = body.contains("tools") && body["tools"].is_array() ? body["tools"] : Json::array();
  if (auto e = plan_output(body, tools, &out->gen)) return e;
  chat::RenderOptions ro;
  ro.flavor = svc.opt.flavor;
  ro.system_anywhere = true;
  if (body.contains("chat_template_kwargs") && body["chat_template_kwargs"].is_object()) {
    const auto& kw = body["chat_template_kwargs"];
    if (kw.contains("enable_thinking")) ro.enable_thinking = kw["enable_thinking"];
    if (kw.contains("preserve_thinking")) ro.preserve_thinking = kw["preserve_thinking"];
  }
  if (out->gen.grammar) ro.enable_thinking = false;
  out->gen.thinking_open = !(ro.enable_thinking.is_boolean() && !ro.enable_thinking.get<bool>());
  if (body.contains("thinking_budget") && !body["thinking_budget"].is_null()) {
    const Json& b = body["thinking_budget"];
    if (!b.is_number_integer() || b.get<int64_t>() < 0)
      return bad_request(
          "thinking_budget must be a non-negative integer (tokens of reasoning before the answer is forced)",
          "thinking_budget");
    out->gen.thinking_budget = b.get<int64_t>();
  }
  return render_prompt(svc, messages_to_render(svc, body, !tools.empty()), tools, ro, out);
}

std::optional<ApiError> plan_completion(Service& svc, const Json& body, ChatPlan* out) {
  if (!body.contains("prompt") || !body["prompt"].is_string()) return bad_request("prompt must be a string", "prompt");
  if (auto e = plan_common(svc, body, out)) return e;
  out->gen.parse_tools = false;
  out->gen.thinking_open = false;
  out->prompt = svc.tok.encode(body["prompt"].get<std::string>(), true);
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
