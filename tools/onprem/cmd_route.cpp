#include <csignal>
#include <cstdio>

#include "commands.h"
#include "core/heap.h"
#include "gguf/file.h"
#include "router/router_server.h"
#include "text/tokenizer.h"

namespace onprem::tools {

namespace {

router::Router* g_router = nullptr;  // for the signal handler only
void on_signal(int) {
  if (g_router) g_router->stop();
}

struct RouteOptions {
  std::string config, host, ledger;
  int port = 0;
  bool check = false;
};

int route(const RouteOptions& o) {
  auto cfg = router::load_config(o.config);
  if (!cfg) return fail(cfg.error().to_string());
  if (!o.host.empty()) cfg->host = o.host;
  if (o.port > 0) cfg->port = o.port;
  if (!o.ledger.empty()) cfg->ledger_path = o.ledger;
  if (o.check) {
    std::printf("%s: %zu backends, %zu rules, %zu keys: ok\n", o.config.c_str(), cfg->backends.size(),
                cfg->rules.size(), cfg->keys.size());
    return 0;
  }
  // No glibc per-thread malloc caches for the router (core/heap.h): only the environment at start
  // can turn them off, so it re-executes itself once, before any thread starts.
  core::restart_without_thread_caches();
  for (const auto& b : cfg->backends)
    if (!b.api_key_env.empty() && b.api_key.empty())
      std::fprintf(stderr, "onprem route: warning: %s has no API key (%s is not set)\n", b.name.c_str(),
                   b.api_key_env.c_str());
  // Exact prompt-token counts when the config names a vocabulary; estimates otherwise.
  router::TokenCounter count;
  if (!cfg->tokenizer.empty()) {
    auto file = gguf::File::open(cfg->tokenizer);
    if (!file) return fail(file.error().to_string());
    auto vocab = text::load_vocab(*file);
    if (!vocab) return fail(cfg->tokenizer + ": " + vocab.error().to_string());
    auto tok = text::Tokenizer::create(std::move(*vocab));
    if (!tok) return fail(tok.error().to_string());
    auto shared = std::make_shared<text::Tokenizer>(std::move(*tok));
    count = [shared](std::string_view s) { return int64_t(shared->encode(s, false).size()); };
  }
  auto ledger = router::Ledger::open(cfg->ledger_path);
  if (!ledger) return fail(ledger.error().to_string());
  const std::string host = cfg->host;
  const int port = cfg->port;
  std::fprintf(stderr, "onprem route: %zu backends, %zu rules, ledger %s\n", cfg->backends.size(), cfg->rules.size(),
               cfg->ledger_path.c_str());
  router::Router r(std::move(*cfg), std::move(*ledger), count);
  g_router = &r;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::fprintf(stderr, "listening on http://%s:%d\n", host.c_str(), port);
  if (!r.listen()) return fail("cannot listen on " + host + ":" + std::to_string(port));
  std::fprintf(stderr, "shutting down\n");
  g_router = nullptr;
  return 0;
}

}  // namespace

Run add_route(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "route", "One OpenAI/Anthropic endpoint in front of local replicas and a frontier API, by policy");
  auto o = std::make_shared<RouteOptions>();
  cmd->add_option("-c,--config", o->config,
                  "Router config (JSON): backends, rules, keys; see config/route.default.json")
      ->required();
  cmd->add_option("--host", o->host, "Address to bind (overrides the config's listen.host)");
  cmd->add_option("--port", o->port, "Port (overrides the config's listen.port)");
  cmd->add_option("--ledger", o->ledger, "SQLite ledger file (overrides the config's ledger)");
  cmd->add_flag("--check", o->check, "Validate the config and exit");
  return [o]() { return route(*o); };
}

}  // namespace onprem::tools
