#include "chat/template.h"

#include <vector>

#include "core/json_bounds.h"

namespace onprem::chat {

using core::ErrorCode;
using core::make_error;

namespace {

constexpr std::string_view kToolsHeader = "# Tools\n\nYou have access to the following functions:\n\n<tools>";
constexpr std::string_view kToolsInstructions =
    "\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n<tool_call>\n"
    "<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>\n"
    "<parameter=example_parameter_2>\nThis is the value for the second parameter\nthat can span\nmultiple lines\n"
    "</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\nReminder:\n- Function calls MUST follow the specified "
    "format: an inner <function=...></function> block must be nested within <tool_call></tool_call> XML tags\n"
    "- Required parameters MUST be specified\n- You may provide optional reasoning for your function call in natural "
    "language BEFORE the function call, but NOT after\n- If there is no function call available, answer the question "
    "like normal with your current knowledge and do not tell the user about function calls\n</IMPORTANT>";

core::Error template_error(const std::string& msg) { return make_error(ErrorCode::kInvalidArgument, msg); }

struct Counters {
  int image = 0, video = 0;
};

bool has(const Json& o, const char* key) { return o.is_object() && o.contains(key); }

// render_content(content, do_vision_count, is_system_content)
core::Expected<std::string> render_content(const Json& content, bool count, bool system, const RenderOptions& o,
                                           Counters& c) {
  if (content.is_string()) return content.get<std::string>();
  if (content.is_null()) return std::string();
  if (!content.is_array()) return template_error("Unexpected content type.");
  std::string out;
  for (const auto& item : content) {
    const Json type = has(item, "type") ? item["type"] : Json();
    if (has(item, "image") || has(item, "image_url") || type == "image") {
      if (system) return template_error("System message cannot contain images.");
      if (count) ++c.image;
      if (o.add_vision_id) out += "Picture " + std::to_string(c.image) + ": ";
      out += "<|vision_start|><|image_pad|><|vision_end|>";
    } else if (has(item, "video") || type == "video") {
      if (system) return template_error("System message cannot contain videos.");
      if (count) ++c.video;
      if (o.add_vision_id) out += "Video " + std::to_string(c.video) + ": ";
      out += "<|vision_start|><|video_pad|><|vision_end|>";
    } else if (has(item, "text")) {
      out += py_str(item["text"]);
    } else {
      return template_error("Unexpected item type in content.");
    }
  }
  return out;
}

const Json& field(const Json& o, const char* key) {
  static const Json kNull;
  return has(o, key) ? o[key] : kNull;
}

std::string role_of(const Json& m) {
  const Json& r = field(m, "role");
  return r.is_string() ? r.get<std::string>() : std::string();
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// Python str.split(sep)[0] and [-1].
std::string split_first(const std::string& s, const std::string& sep) { return s.substr(0, s.find(sep)); }
std::string split_last(const std::string& s, const std::string& sep) {
  const size_t p = s.rfind(sep);
  return p == std::string::npos ? s : s.substr(p + sep.size());
}

core::Status render_tool_calls(const Json& calls, const std::string& content, std::string& out) {
  bool first = true;
  for (Json call : calls) {
    if (has(call, "function")) call = call["function"];
    const std::string name = py_str(field(call, "name"));
    if (first)
      out += py_strip(content).empty() ? "<tool_call>\n<function=" + name + ">\n"
                                       : "\n\n<tool_call>\n<function=" + name + ">\n";
    else
      out += "\n<tool_call>\n<function=" + name + ">\n";
    first = false;
    if (has(call, "arguments") && !call["arguments"].is_null()) {
      Json args = call["arguments"];
      if (args.is_string()) {  // OpenAI sends a JSON string: the server parses it, as the template needs a mapping
        if (auto e = core::json_bounds_error(args.get<std::string>()))
          return template_error("tool call '" + name + "' has arguments out of bounds: " + *e);
        try {
          args = Json::parse(args.get<std::string>());
        } catch (const Json::exception&) {
          return template_error("tool call '" + name + "' has arguments that are not valid JSON");
        }
      }
      if (!args.is_object()) return template_error("Can only get item pairs from a mapping.");
      for (auto it = args.begin(); it != args.end(); ++it) {
        out += "<parameter=" + it.key() + ">\n";
        out += it.value().is_object() || it.value().is_array() ? py_json_dumps(it.value()) : py_str(it.value());
        out += "\n</parameter>\n";
      }
    }
    out += "</function>\n</tool_call>";
  }
  return core::Ok{};
}

}  // namespace

core::Expected<std::string> render_chat(const Json& messages, const Json& tools, const RenderOptions& o) {
  if (!messages.is_array() || messages.empty()) return template_error("No messages provided.");
  Counters counters;
  std::string out;
  const std::string first_role = role_of(messages[0]);
  if (tools.is_array() && !tools.empty()) {
    out += "<|im_start|>system\n";
    out += kToolsHeader;
    for (const auto& t : tools) {
      out += '\n';
      out += py_json_dumps(t);
    }
    out += "\n</tools>";
    out += kToolsInstructions;
    if (first_role == "system") {
      ONPREM_TRY_ASSIGN(c, render_content(field(messages[0], "content"), false, true, o, counters));
      const std::string content = py_strip(c);
      if (!content.empty()) out += "\n\n" + content;
    }
    out += "<|im_end|>\n";
  } else if (first_role == "system") {
    ONPREM_TRY_ASSIGN(c, render_content(field(messages[0], "content"), false, true, o, counters));
    out += "<|im_start|>system\n" + py_strip(c) + "<|im_end|>\n";
  }
  // The last real user query: not a message that is only a <tool_response> wrapper.
  int64_t last_query = -1;
  for (int64_t i = int64_t(messages.size()) - 1; i >= 0; --i) {
    const Json& m = messages[size_t(i)];
    if (role_of(m) != "user") continue;
    Counters scratch;
    ONPREM_TRY_ASSIGN(c, render_content(field(m, "content"), false, false, o, scratch));
    const std::string content = py_strip(c);
    if (!(starts_with(content, "<tool_response>") && ends_with(content, "</tool_response>"))) {
      last_query = i;
      break;
    }
  }
  if (last_query < 0) return template_error("No user query found in messages.");
  const bool preserve = o.flavor == TemplateFlavor::kQwen36 && py_truthy(o.preserve_thinking);
  for (size_t i = 0; i < messages.size(); ++i) {
    const Json& m = messages[i];
    const std::string role = role_of(m);
    ONPREM_TRY_ASSIGN(raw, render_content(field(m, "content"), true, false, o, counters));
    std::string content = py_strip(raw);
    if (role == "system") {
      if (i != 0 && !o.system_anywhere) return template_error("System message must be at the beginning.");
      if (i != 0) out += "<|im_start|>system\n" + content + "<|im_end|>\n";
    } else if (role == "user") {
      out += "<|im_start|>user\n" + content + "<|im_end|>\n";
    } else if (role == "assistant") {
      std::string reasoning;
      if (field(m, "reasoning_content").is_string()) {
        reasoning = m["reasoning_content"].get<std::string>();
      } else if (content.find("</think>") != std::string::npos) {
        reasoning =
            py_lstrip_chars(split_last(py_rstrip_chars(split_first(content, "</think>"), '\n'), "<think>"), '\n');
        content = py_lstrip_chars(split_last(content, "</think>"), '\n');
      }
      reasoning = py_strip(reasoning);
      if (int64_t(i) > last_query || preserve)
        out += "<|im_start|>assistant\n<think>\n" + reasoning + "\n</think>\n\n" + content;
      else
        out += "<|im_start|>assistant\n" + content;
      const Json& calls = field(m, "tool_calls");
      if (calls.is_array() && !calls.empty()) ONPREM_TRY(render_tool_calls(calls, content, out));
      out += "<|im_end|>\n";
    } else if (role == "tool") {
      if (i > 0 && role_of(messages[i - 1]) != "tool") out += "<|im_start|>user";
      out += "\n<tool_response>\n" + content + "\n</tool_response>";
      if (i + 1 == messages.size() || role_of(messages[i + 1]) != "tool") out += "<|im_end|>\n";
    } else {
      return template_error("Unexpected message role.");
    }
  }
  if (o.add_generation_prompt) {
    out += "<|im_start|>assistant\n";
    out += o.enable_thinking.is_boolean() && !o.enable_thinking.get<bool>() ? "<think>\n\n</think>\n\n" : "<think>\n";
  }
  return out;
}

TemplateMatch identify_template(std::string_view t) {
  // The two known templates differ in one condition; both carry the tool instructions verbatim.
  TemplateMatch m;
  const bool family = t.find(kToolsInstructions.substr(2, 60)) != std::string_view::npos &&
                      t.find("ns.last_query_index") != std::string_view::npos;
  if (!family) return m;
  m.known = true;
  m.flavor = t.find("preserve_thinking") != std::string_view::npos ? TemplateFlavor::kQwen36 : TemplateFlavor::kQwen35;
  return m;
}

}  // namespace onprem::chat
