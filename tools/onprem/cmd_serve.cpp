#include <csignal>
#include <cstdio>
#include <fstream>

#include "load.h"
#include "api/server.h"
#include "chat/template_file.h"
#include "commands.h"

namespace onprem::tools {

namespace {

api::Server* g_server = nullptr;  // for the signal handler only
void on_signal(int) {
  if (g_server) g_server->stop();
}

struct ServeOptions {
  std::string model, host = "127.0.0.1", api_key, api_key_file, preset, model_id, request_log;
  std::vector<std::string> aliases;
  bool any_model = false;
  double stream_keepalive = 5;
  int port = 8080, http_threads = 0;
  int64_t max_tokens = 512;
  size_t max_body = 8 << 20, max_messages = 1024;
  double header_timeout = 10, body_timeout = 30;
  bool no_restore_reasoning = false;
  // Slots, context, batching, threads, queue and prefix cache: the engine's own options, bound to
  // the command line as they are, so that their defaults are written once (engine/engine.h).
  engine::EngineOptions engine;
  std::string test_script;
  std::string chat_template = "builtin";
  DeviceOptions device;
};

// --chat-template: builtin (null), file (the GGUF's own, through our Jinja interpreter) or a path.
// Says on stderr how the file's own template relates to the built-in renderer.
core::Expected<std::shared_ptr<const chat::jinja::Template>> choose_template(const gguf::File& f,
                                                                             const std::string& choice) {
  using R = std::shared_ptr<const chat::jinja::Template>;
  auto embedded = f.get_string("tokenizer.chat_template");
  if (embedded)
    std::fprintf(stderr, "chat template in the file: %s\n", chat::check_template(*embedded).describe().c_str());
  else
    std::fprintf(stderr, "chat template in the file: none\n");
  if (choice == "builtin") {
    std::fprintf(stderr,
                 "rendering prompts with the built-in Qwen3.6 format (--chat-template file renders the file's own)\n");
    return R();
  }
  std::string text, from = choice;
  if (choice == "file") {
    if (!embedded)
      return core::make_error(core::ErrorCode::kInvalidArgument,
                              "--chat-template file: the model has no tokenizer.chat_template");
    text = std::string(*embedded), from = "the file's template";
  } else {
    std::ifstream in(choice, std::ios::binary);
    if (!in)
      return core::make_error(core::ErrorCode::kNotFound,
                              "--chat-template: cannot read '" + choice + "' (give builtin, file or a .jinja path)");
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto t = chat::jinja::Template::parse(text);
  if (!t)
    return core::make_error(core::ErrorCode::kInvalidArgument, "--chat-template: " + from + ": " + t.error().message);
  std::fprintf(stderr,
               "rendering prompts with %s (onprem's Jinja interpreter; replies are parsed in the Qwen3.6 format)\n",
               from.c_str());
  return R(std::make_shared<const chat::jinja::Template>(std::move(*t)));
}

int serve(const ServeOptions& o) {
  std::fprintf(stderr, "loading %s ...\n", o.model.c_str());
  auto m = model::load_model(o.model);
  if (!m) return fail(m.error().to_string());
  engine::EngineOptions eo = o.engine;
  if (auto placed = place_engine(*m, o.device, eo, true); !placed) return fail(placed.error().to_string());
  auto vocab = text::load_vocab(*m->file);
  if (!vocab) return fail(o.model + ": " + vocab.error().to_string());
  auto tok = text::Tokenizer::create(std::move(*vocab));
  if (!tok) return fail(tok.error().to_string());
  std::fprintf(stderr, "allocating %d sequence slots of %lld tokens ...\n", eo.parallel, (long long)eo.ctx_size);
  engine::Engine eng(*m, eo);
  if (!eng.status()) return fail(eng.status().error().to_string());
  api::ServiceOptions so;
  so.model_id = o.model_id.empty() ? "onprem" : o.model_id;
  so.aliases = o.aliases;
  so.any_model = o.any_model;
  so.preset = o.preset;
  so.preset_model = m->config.is_moe() ? "qwen3.6-35b-a3b" : "qwen3.6-27b";
  so.default_max_tokens = o.max_tokens;
  so.max_messages = o.max_messages;
  so.restore_reasoning = !o.no_restore_reasoning;
  auto tmpl = choose_template(*m->file, o.chat_template);
  if (!tmpl) return fail(tmpl.error().to_string());
  so.chat_template = *tmpl;
  if (!o.test_script.empty()) {  // one JSON string per line
    std::ifstream in(o.test_script);
    if (!in) return fail("cannot read --test-script '" + o.test_script + "'");
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      try {
        so.test_script.push_back(chat::Json::parse(line).get<std::string>());
      } catch (const std::exception&) {
        return fail("--test-script '" + o.test_script + "': each line must be a JSON string");
      }
    }
  }
  if (!o.preset.empty()) {
    auto p = sample::preset(o.preset, so.preset_model);
    if (!p) return fail(p.error().to_string());
  }
  api::Service svc(*m, *tok, eng, so);
  api::ServerOptions sv;
  sv.host = o.host, sv.port = o.port, sv.max_body_bytes = o.max_body, sv.request_log = o.request_log;
  // A worker is held by each open connection (cpp-httplib reads a request on the worker), so slow
  // or idle clients must not be able to take them all: many cheap threads. The keep-alive timeout
  // stays at cpp-httplib's 5 s, above the 4 s after which Node's HTTP clients drop an idle socket:
  // a shorter one would close sockets those clients are about to reuse for a POST.
  sv.stream_keepalive_s = o.stream_keepalive;
  sv.read_deadlines.header_s = o.header_timeout, sv.read_deadlines.body_s = o.body_timeout;
  sv.http_threads = o.http_threads > 0 ? o.http_threads : std::max(512, 2 * eo.parallel + 4);
  if (!o.api_key.empty()) sv.api_keys.push_back(o.api_key);
  if (!o.api_key_file.empty()) {
    std::ifstream in(o.api_key_file);
    if (!in) return fail("cannot read '" + o.api_key_file + "'");
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) sv.api_keys.push_back(line);
  }
  api::Server server(svc, sv);
  g_server = &server;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::fprintf(stderr, "listening on http://%s:%d (model %s, %d slots)\n", o.host.c_str(), o.port, so.model_id.c_str(),
               eo.parallel);
  if (!server.listen()) return fail("cannot listen on " + o.host + ":" + std::to_string(o.port));
  std::fprintf(stderr, "shutting down\n");
  eng.shutdown();
  g_server = nullptr;
  return 0;
}

}  // namespace

Run add_serve(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server on a continuous-batching engine");
  auto o = std::make_shared<ServeOptions>();
  add_model_option(cmd, o->model);
  cmd->add_option("--host", o->host, "Address to bind")->capture_default_str();
  cmd->add_option("--port", o->port, "Port")->capture_default_str();
  cmd->add_option("--api-key", o->api_key,
                  "Require this key (Authorization: Bearer or x-api-key) on every route but /health");
  cmd->add_option("--api-key-file", o->api_key_file, "File of accepted keys, one per line");
  cmd->add_option("--parallel", o->engine.parallel, "Sequence slots (concurrent generations)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--ctx-size", o->engine.ctx_size, "Context tokens per slot")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--ubatch", o->engine.ubatch, "Tokens per engine step (all sequences)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_threads_option(cmd, o->engine.threads);
  add_device_options(cmd, o->device);
  cmd->add_option("--http-threads", o->http_threads,
                  "Most HTTP worker threads, one per open connection, started as connections arrive (default: 512, or "
                  "2 x parallel + 4 if more)");
  cmd->add_option("--header-timeout", o->header_timeout,
                  "Seconds a client may take to send a request's headers; then 408 and the connection closes")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--body-timeout", o->body_timeout,
                  "Seconds a client may take to send a body, plus one per 64 KiB it declares; then 408")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-queue", o->engine.max_queue, "Requests that may wait for a slot before 429")
      ->capture_default_str();
  cmd->add_option("--preempt-after", o->engine.preempt_after_s,
                  "Seconds a request may wait while every slot is busy before it takes the slot of the generation "
                  "that has run longest (at least as long), which resumes later by re-prefilling; 0: never")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--max-body", o->max_body, "Largest request body in bytes")->capture_default_str();
  cmd->add_option("--max-messages", o->max_messages, "Most messages per request")->capture_default_str();
  cmd->add_option("--max-tokens", o->max_tokens, "Default max_tokens when a request sets none")->capture_default_str();
  cmd->add_option("--preset", o->preset, "Default sampling preset: thinking-general, thinking-coding, instruct");
  cmd->add_option("--model-id", o->model_id, "Name /v1/models lists (default: onprem)");
  cmd->add_option("--alias", o->aliases,
                  "Another accepted model name (repeatable, or comma-separated); /v1/models lists them")
      ->delimiter(',');
  cmd->add_flag("--any-model", o->any_model,
                "Accept any model name a request asks for (agents use several: a main and a background model)");
  cmd->add_option("--chat-template", o->chat_template,
                  "Prompt format: builtin (the Qwen3.6 renderer), file (the model's own tokenizer.chat_template) or a "
                  ".jinja path; the last two render with onprem's Jinja interpreter")
      ->capture_default_str();
  cmd->add_option("--stream-keepalive", o->stream_keepalive,
                  "Seconds of silence in a stream (queue, long prefill) before a ping")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option_function<uint64_t>(
         "--cache-ram", [o](uint64_t mib) { o->engine.cache_ram = mib << 20; },
         "Prefix cache: MiB of DeltaNet state snapshots kept")
      ->default_str(std::to_string(o->engine.cache_ram >> 20));
  cmd->add_option("--snapshot-interval", o->engine.snapshot_interval, "Prefix cache: snapshot every N prompt tokens")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option(
      "--request-log", o->request_log,
      "Append one JSON line per request (method, path, status, body_bytes and the whole body) to this file");
  cmd->add_option(
      "--test-script", o->test_script,
      "Tests only: a file of JSON strings, one per line; requests with tools get these as the model's output, in order "
      "(the forward pass runs, the tokens are forced)");
  cmd->add_flag_callback(
      "--no-prefix-cache", [o]() { o->engine.prefix_cache = false; }, "Recompute every prompt from the start");
  cmd->add_flag(
      "--no-restore-reasoning", o->no_restore_reasoning,
      "Do not put back the reasoning clients drop from assistant turns (default: on for requests with tools)");
  return [o]() { return serve(*o); };
}

}  // namespace onprem::tools
