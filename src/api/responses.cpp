#include "api/responses.h"

#include "protocol/json_text.h"
#include "protocol/stop_reason.h"
#include "protocol/usage.h"

namespace onprem::api {

using chat::Json;
using protocol::string_field;

namespace {

// A chat backend's usage (the router's Responses translation).
void set_usage(const Json& usage, ResponseFinish* f) {
  const protocol::TokenUsage u = protocol::usage_from_openai(usage);
  f->prompt_tokens = u.prompt, f->cached_tokens = u.cached, f->completion_tokens = u.completion;
}

ResponseFinish finish_of(const Generation& g) {
  return {g.finish_reason(), g.finish().prompt_tokens, g.finish().completion_tokens, g.finish().cached_tokens};
}

// The response object; `output` and `done` decide status and usage.
Json response_object(const std::string& model, const std::string& id, int64_t created, Json output,
                     const ResponseFinish* done) {
  Json r = {{"id", id},
            {"object", "response"},
            {"created_at", created},
            {"status", "in_progress"},
            {"model", model},
            {"output", std::move(output)},
            {"parallel_tool_calls", true},
            {"tool_choice", "auto"},
            {"tools", Json::array()},
            {"incomplete_details", Json()},
            {"error", Json()},
            {"usage", Json()}};
  if (!done) return r;
  const std::string& f = done->reason;
  if (f == "length" || f == "repetition") {
    r["status"] = "incomplete";
    r["incomplete_details"] = {{"reason", "max_output_tokens"}};
  } else {
    r["status"] = "completed";
  }
  if (f == "repetition") r[protocol::kStopDetailField] = protocol::kLoopGuardStop;
  r["usage"] = protocol::responses_usage({done->prompt_tokens, done->cached_tokens, done->completion_tokens});
  return r;
}

std::string item_id(const char* prefix, const std::string& response_id, size_t n) {
  return prefix + response_id.substr(response_id.find('_') + 1) + "_" + std::to_string(n);
}

}  // namespace

namespace {

// A call item for `name`, with its namespace when the tool came from one.
Json call_item(const std::string& id, const std::string& call_id, const std::string& name, const Json& arguments,
               const char* status, const Json& namespaces) {
  Json it = {{"type", "function_call"}, {"id", id},        {"call_id", call_id}, {"name", name},
             {"arguments", arguments},  {"status", status}};
  if (namespaces.is_object() && namespaces.contains(name)) it["namespace"] = namespaces[name];
  return it;
}

Json output_items(const std::string& id, const std::string& reasoning, const std::string& content, const Json& calls,
                  const Json& namespaces) {
  Json output = Json::array();
  size_t n = 0;
  if (!reasoning.empty())
    output.push_back({{"type", "reasoning"},
                      {"id", item_id("rs_", id, n++)},
                      {"summary", Json::array({{{"type", "summary_text"}, {"text", reasoning}}})}});
  if (!content.empty())
    output.push_back(
        {{"type", "message"},
         {"id", item_id("msg_", id, n++)},
         {"status", "completed"},
         {"role", "assistant"},
         {"content", Json::array({{{"type", "output_text"}, {"text", content}, {"annotations", Json::array()}}})}});
  for (const auto& c : calls)  // [{id, name, arguments (a JSON string)}]
    output.push_back(call_item(item_id("fc_", id, n++), c["id"], c["name"], c["arguments"], "completed", namespaces));
  return output;
}

}  // namespace

Json responses_response(const ChatPlan& plan, const Generation& g, const std::string& id, int64_t created,
                        const Json& namespaces) {
  const auto& r = g.result();
  Json calls = Json::array();
  for (const auto& c : r.tool_calls) calls.push_back({{"id", c.id}, {"name", c.name}, {"arguments", c.arguments_json}});
  const ResponseFinish f = finish_of(g);
  return response_object(plan.model, id, created, output_items(id, r.reasoning, r.content, calls, namespaces), &f);
}

Json chat_completion_to_response(const Json& chat, const std::string& id, int64_t created, const Json& namespaces) {
  const Json choice = chat.contains("choices") && chat["choices"].is_array() && !chat["choices"].empty()
                          ? chat["choices"][0]
                          : Json::object();
  const Json msg = choice.contains("message") && choice["message"].is_object() ? choice["message"] : Json::object();
  Json calls = Json::array();
  if (msg.contains("tool_calls") && msg["tool_calls"].is_array())
    for (const auto& tc : msg["tool_calls"]) {
      const Json fn = tc.contains("function") ? tc["function"] : Json::object();
      const Json args = fn.contains("arguments") ? fn["arguments"] : Json("{}");
      calls.push_back({{"id", string_field(tc, "id")},
                       {"name", string_field(fn, "name")},
                       {"arguments", args.is_string() ? args : Json(protocol::json_text(args))}});
    }
  ResponseFinish f;
  f.reason = choice.contains("finish_reason") && choice["finish_reason"].is_string()
                 ? choice["finish_reason"].get<std::string>()
                 : "stop";
  if (choice.value(protocol::kStopDetailField, "") == protocol::kLoopGuardStop) f.reason = "repetition";
  if (chat.contains("usage")) set_usage(chat["usage"], &f);
  return response_object(
      string_field(chat, "model"), id, created,
      output_items(id, string_field(msg, "reasoning_content"), string_field(msg, "content"), calls, namespaces), &f);
}

std::string ResponsesStream::events(const Generation& g, const std::vector<GenerationEvent>& ev) {
  std::vector<chat::OutputDelta> deltas;
  std::string out;
  for (const auto& e : ev) {
    if (e.kind == GenerationEvent::Kind::kDelta) deltas.push_back(e.delta);
    if (e.kind == GenerationEvent::Kind::kFinish) {
      out += feed(deltas, nullptr);
      deltas.clear();
      const ResponseFinish f = finish_of(g);
      out += feed({}, &f);
    }
  }
  return out + (deltas.empty() && !ev.empty() ? "" : feed(deltas, nullptr));
}

std::string ResponsesStream::feed(const std::vector<chat::OutputDelta>& deltas, const ResponseFinish* finish) {
  std::string out;
  auto emit = [&](const std::string& type, Json data) {
    data["type"] = type;
    data["sequence_number"] = sequence++;
    out += protocol::sse_event(type, data);
  };
  if (!started) {
    started = true;
    const Json r = response_object(model, id, created, Json::array(), nullptr);
    emit("response.created", {{"response", r}});
    emit("response.in_progress", {{"response", r}});
  }
  auto close = [&] {
    if (open_kind.empty()) return;
    const int index = int(output.size());  // of the open item
    const std::string item = open_item["id"];
    if (open_kind == "reasoning") {
      const Json part = {{"type", "summary_text"}, {"text", open_text}};
      emit("response.reasoning_summary_text.done",
           {{"item_id", item}, {"output_index", index}, {"summary_index", 0}, {"text", open_text}});
      emit("response.reasoning_summary_part.done",
           {{"item_id", item}, {"output_index", index}, {"summary_index", 0}, {"part", part}});
      open_item["summary"] = Json::array({part});
    } else if (open_kind == "message") {
      const Json part = {{"type", "output_text"}, {"text", open_text}, {"annotations", Json::array()}};
      emit("response.output_text.done",
           {{"item_id", item}, {"output_index", index}, {"content_index", 0}, {"text", open_text}});
      emit("response.content_part.done",
           {{"item_id", item}, {"output_index", index}, {"content_index", 0}, {"part", part}});
      open_item["content"] = Json::array({part});
      open_item["status"] = "completed";
    } else {
      emit("response.function_call_arguments.done",
           {{"item_id", item}, {"output_index", index}, {"arguments", open_text}});
      open_item["arguments"] = open_text;
      open_item["status"] = "completed";
    }
    emit("response.output_item.done", {{"output_index", index}, {"item", open_item}});
    output.push_back(open_item);
    open_kind.clear(), open_text.clear();
  };
  auto open = [&](const std::string& kind, Json item) {
    close();
    const int at = int(output.size());
    open_kind = kind, open_item = item;
    emit("response.output_item.added", {{"output_index", at}, {"item", item}});
    if (kind == "reasoning")
      emit("response.reasoning_summary_part.added", {{"item_id", item["id"]},
                                                     {"output_index", at},
                                                     {"summary_index", 0},
                                                     {"part", {{"type", "summary_text"}, {"text", ""}}}});
    else if (kind == "message")
      emit("response.content_part.added",
           {{"item_id", item["id"]},
            {"output_index", at},
            {"content_index", 0},
            {"part", {{"type", "output_text"}, {"text", ""}, {"annotations", Json::array()}}}});
  };
  for (const auto& d : deltas) {
    {
      const size_t n = output.size() + (open_kind.empty() ? 0 : 1);
      if (d.kind == chat::OutputDelta::Kind::kReasoning) {
        if (open_kind != "reasoning")
          open("reasoning", {{"type", "reasoning"}, {"id", item_id("rs_", id, n)}, {"summary", Json::array()}});
        open_text += d.text;
        emit("response.reasoning_summary_text.delta", {{"item_id", open_item["id"]},
                                                       {"output_index", int(output.size())},
                                                       {"summary_index", 0},
                                                       {"delta", d.text}});
      } else if (d.kind == chat::OutputDelta::Kind::kContent) {
        if (open_kind != "message")
          open("message", {{"type", "message"},
                           {"id", item_id("msg_", id, n)},
                           {"status", "in_progress"},
                           {"role", "assistant"},
                           {"content", Json::array()}});
        open_text += d.text;
        emit("response.output_text.delta", {{"item_id", open_item["id"]},
                                            {"output_index", int(output.size())},
                                            {"content_index", 0},
                                            {"delta", d.text}});
      } else if (d.kind == chat::OutputDelta::Kind::kToolCallBegin) {
        open("function_call", call_item(item_id("fc_", id, n), d.id, d.name, "", "in_progress", namespaces));
      } else if (d.kind == chat::OutputDelta::Kind::kToolCallArguments) {
        open_text += d.text;
        emit("response.function_call_arguments.delta",
             {{"item_id", open_item["id"]}, {"output_index", int(output.size())}, {"delta", d.text}});
      }
    }
  }
  if (finish) {
    close();
    const Json r = response_object(model, id, created, output, finish);
    emit(r["status"] == "completed" ? "response.completed" : "response.incomplete", {{"response", r}});
  }
  return out;
}

std::string ChatChunksToResponses::on_chunk(const Json& chunk) {
  if (chunk.contains("usage") && chunk["usage"].is_object()) set_usage(chunk["usage"], &finish);
  if (stream.model.empty()) stream.model = string_field(chunk, "model");
  std::vector<chat::OutputDelta> deltas;
  if (chunk.contains("choices") && chunk["choices"].is_array())
    for (const auto& c : chunk["choices"]) {
      if (c.contains("finish_reason") && c["finish_reason"].is_string()) {
        finish.reason = c["finish_reason"].get<std::string>();
        if (c.value(protocol::kStopDetailField, "") == protocol::kLoopGuardStop) finish.reason = "repetition";
      }
      const Json d = c.contains("delta") && c["delta"].is_object() ? c["delta"] : Json::object();
      auto text = [&](const char* k, chat::OutputDelta::Kind kind) {
        if (!d.contains(k) || !d[k].is_string() || d[k].get<std::string>().empty()) return;
        chat::OutputDelta x;
        x.kind = kind, x.text = d[k].get<std::string>();
        deltas.push_back(std::move(x));
      };
      text("reasoning_content", chat::OutputDelta::Kind::kReasoning);
      text("content", chat::OutputDelta::Kind::kContent);
      if (d.contains("tool_calls") && d["tool_calls"].is_array())
        for (const auto& tc : d["tool_calls"]) {
          const Json fn = tc.contains("function") && tc["function"].is_object() ? tc["function"] : Json::object();
          if (tc.contains("id") && tc["id"].is_string()) {
            chat::OutputDelta x;
            x.kind = chat::OutputDelta::Kind::kToolCallBegin, x.id = tc["id"].get<std::string>(),
            x.name = string_field(fn, "name");
            deltas.push_back(std::move(x));
          }
          if (fn.contains("arguments") && fn["arguments"].is_string() && !fn["arguments"].get<std::string>().empty()) {
            chat::OutputDelta x;
            x.kind = chat::OutputDelta::Kind::kToolCallArguments, x.text = fn["arguments"].get<std::string>();
            deltas.push_back(std::move(x));
          }
        }
    }
  return stream.feed(deltas, nullptr);
}

std::string ChatChunksToResponses::on_end() {
  if (finished) return "";
  finished = true;
  if (finish.reason.empty()) finish.reason = "stop";
  return stream.feed({}, &finish);
}

}  // namespace onprem::api
