#include <cstdio>
#include <fstream>
#include <optional>
#include <iostream>
#include <iterator>

#include "chat/template.h"
#include "chat/template_file.h"
#include "commands.h"
#include "gguf/file.h"

namespace onprem::tools {

namespace {

struct RenderArgs {
  std::string model, flavor, template_path;
  bool jsonl = false;
};

// jinja: render with this template's own text instead of the built-in Qwen3.6 format.
core::Expected<std::string> render_body(const std::string& body, chat::TemplateFlavor flavor,
                                        const chat::jinja::Template* jinja) {
  chat::Json j;
  try {
    j = chat::Json::parse(body);
  } catch (const chat::Json::exception& e) {
    return core::make_error(core::ErrorCode::kInvalidArgument,
                            std::string("request body is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) return core::make_error(core::ErrorCode::kInvalidArgument, "request body must be a JSON object");
  chat::RenderOptions o;
  o.flavor = flavor;
  if (j.contains("add_generation_prompt"))
    o.add_generation_prompt = j["add_generation_prompt"].is_boolean() ? j["add_generation_prompt"].get<bool>() : true;
  if (j.contains("chat_template_kwargs") && j["chat_template_kwargs"].is_object()) {
    const auto& kw = j["chat_template_kwargs"];
    if (kw.contains("enable_thinking")) o.enable_thinking = kw["enable_thinking"];
    if (kw.contains("preserve_thinking")) o.preserve_thinking = kw["preserve_thinking"];
    if (kw.contains("add_vision_id"))
      o.add_vision_id = kw["add_vision_id"].is_boolean() && kw["add_vision_id"].get<bool>();
  }
  const chat::Json messages = j.contains("messages") ? j["messages"] : chat::Json(),
                   tools = j.contains("tools") ? j["tools"] : chat::Json();
  if (jinja) return chat::render_chat_with(*jinja, messages, tools, o);
  return chat::render_chat(messages, tools, o);
}

}  // namespace

Run add_render_chat(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("render-chat", "Read an OpenAI-style request body on stdin and print the Qwen3.6 prompt text");
  auto a = std::make_shared<RenderArgs>();
  cmd->add_option("-m,--model", a->model,
                  "GGUF whose tokenizer.chat_template to check (warns if it is not a known Qwen template)");
  cmd->add_option("--flavor", a->flavor, "qwen3.6 (default) or qwen3.5")->check(CLI::IsMember({"qwen3.6", "qwen3.5"}));
  cmd->add_option("--template", a->template_path,
                  "Render with this Jinja chat template (our interpreter) instead of the built-in Qwen3.6 format");
  cmd->add_flag("--jsonl", a->jsonl,
                "Batch mode: one request body per line in, one {\"ok\", \"text\" | \"error\"} line out");
  return [a]() -> int {
    chat::TemplateFlavor flavor =
        a->flavor == "qwen3.5" ? chat::TemplateFlavor::kQwen35 : chat::TemplateFlavor::kQwen36;
    if (!a->model.empty()) {
      auto f = gguf::File::open(a->model);
      if (!f) return fail(f.error().to_string());
      auto t = f->get_string("tokenizer.chat_template");
      if (!t) {
        std::fprintf(stderr, "onprem: warning: %s has no chat template; rendering the Qwen3.6 format\n",
                     a->model.c_str());
      } else {
        const auto check = chat::check_template(*t);
        if (!check.same_as_builtin)
          std::fprintf(
              stderr,
              "onprem: warning: %s: its chat template %s; rendering the built-in format (--template renders another)\n",
              a->model.c_str(), check.describe().c_str());
        else if (a->flavor.empty())
          flavor = check.flavor;
      }
    }
    std::optional<chat::jinja::Template> jinja;
    if (!a->template_path.empty()) {
      std::ifstream in(a->template_path, std::ios::binary);
      if (!in) return fail("cannot read '" + a->template_path + "'");
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto t = chat::jinja::Template::parse(text);
      if (!t) return fail(a->template_path + ": " + t.error().message);
      jinja = std::move(*t);
    }
    const chat::jinja::Template* tp = jinja ? &*jinja : nullptr;
    if (a->jsonl) {
      std::string line;
      while (std::getline(std::cin, line)) {
        auto r = render_body(line, flavor, tp);
        chat::Json out =
            r.ok() ? chat::Json{{"ok", true}, {"text", *r}} : chat::Json{{"ok", false}, {"error", r.error().message}};
        std::cout << out.dump() << '\n';
      }
      return 0;
    }
    const std::string body((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    auto r = render_body(body, flavor, tp);
    if (!r) return fail(r.error().message);
    std::cout << *r;
    return 0;
  };
}

}  // namespace onprem::tools
