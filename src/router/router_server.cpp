#include "router/router_server.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "protocol/auth.h"
#include "protocol/chat_body.h"
#include "protocol/errors.h"
#include "protocol/json_text.h"
#include "protocol/responses_request.h"
#include "api/responses.h"
#include "core/heap.h"
#include "core/json_bounds.h"
#include "router/core.h"

namespace onprem::router {

using chat::Json;

struct Router::Impl {
  RouterCore rc;
  Impl(RouterConfig c, std::unique_ptr<Ledger> l, TokenCounter t) : rc(std::move(c), std::move(l), std::move(t)) {}

  static HeaderMap headers_of(const httplib::Request& req) {
    HeaderMap h;
    for (const auto& [k, v] : req.headers) {
      std::string lk = k;
      std::transform(lk.begin(), lk.end(), lk.begin(), [](unsigned char c) { return char(std::tolower(c)); });
      h[lk] = v;
    }
    return h;
  }

  static std::string presented_key(const httplib::Request& req) {
    return protocol::presented_api_key(req.get_header_value("Authorization"), req.get_header_value("x-api-key"));
  }

  // Authenticates; false (and the 401 written) when keys are configured and this one is unknown.
  bool authenticate(const httplib::Request& req, httplib::Response& res, ApiShape shape, const KeyConfig** key) {
    *key = nullptr;
    if (rc.cfg.keys.empty()) return true;
    *key = rc.cfg.key(presented_key(req));
    if (*key) return true;
    send_error(res, shape, 401, "authentication_error", "missing or invalid API key");
    return false;
  }

  std::shared_ptr<Inbound> classify(const httplib::Request& req, httplib::Response& res, ApiShape shape,
                                    const std::string& path, bool responses) {
    auto in = std::make_shared<Inbound>();
    in->shape = shape, in->path = path, in->responses = responses;
    if (!authenticate(req, res, shape, &in->key)) return nullptr;
    if (auto e = core::json_bounds_error(req.body)) {
      send_error(res, shape, 400, "invalid_request_error", *e);
      return nullptr;
    }
    try {
      in->body = Json::parse(req.body);
    } catch (const std::exception&) {
      send_error(res, shape, 400, "invalid_request_error", "the request body is not valid JSON");
      return nullptr;
    }
    if (!in->body.is_object()) {
      send_error(res, shape, 400, "invalid_request_error", "the request body is not a JSON object");
      return nullptr;
    }
    // A Responses request is routed, guarded and forwarded as the chat request it translates to
    // (so every backend kind can serve it); the answer is translated back in forward.cpp. What the
    // translation drops (client metadata, hosted tools) goes nowhere.
    if (responses) {
      protocol::ChatRequest request;
      if (auto e = protocol::parse_responses(in->body, &request, &in->tool_namespaces)) {
        send_error(res, shape, e->status, e->type, e->message);
        return nullptr;
      }
      in->body = protocol::chat_body(request);
      in->path = "/v1/chat/completions";
    }
    const bool has_messages =
        in->body.contains("messages") && in->body["messages"].is_array() && !in->body["messages"].empty();
    const bool has_prompt = path == "/v1/completions" && in->body.contains("prompt");
    if (!has_messages && !has_prompt) {
      send_error(res, shape, 400, "invalid_request_error", "messages: must be a non-empty array");
      return nullptr;
    }
    in->features = extract_features(in->body, shape, headers_of(req), in->key, rc.count);
    if (!in->features.error.empty()) {
      send_error(res, shape, 400, "invalid_request_error", in->features.error);
      return nullptr;
    }
    in->decision = decide(rc.cfg, in->features, in->key);
    return in;
  }

  Json explain(const Inbound& in) {
    Json e = explain_json(in.features, in.decision);
    // Where it would go now, given health, breakers and load.
    Json live = Json::array();
    for (const auto& name : in.decision.chain)
      for (Replica* r : rc.pool.replicas_of(name)) {
        Json row = {{"backend", name}, {"healthy", r->healthy.load()}, {"outstanding", r->outstanding.load()}};
        if (!in.key || in.key->admin) row["url"] = r->url;  // addresses are for operators
        live.push_back(row);
      }
    e["replicas"] = live;
    return e;
  }

  void proxy(const httplib::Request& req, httplib::Response& res, ApiShape shape, bool responses = false) {
    auto in = classify(req, res, shape, req.path, responses);
    if (!in) return;
    const RequestFeatures& f = in->features;
    if (req.get_header_value("x-onprem-dry-run") == "1") {
      res.set_content(protocol::json_text(explain(*in)), "application/json");
      return;
    }
    if (in->decision.error_status) {
      const bool sovereignty = in->decision.error_status == 403;
      return send_error(res, shape, in->decision.error_status,
                        sovereignty ? "permission_error" : "invalid_request_error", in->decision.error);
    }
    if (in->key) {
      const KeyConfig& k = *in->key;
      if (k.budget_usd > 0) {
        const double spent = rc.ledger->spent_by_key(k.name);
        if (spent >= k.budget_usd) {
          char msg[160];
          std::snprintf(msg, sizeof msg, "key %s has spent its budget (%.4f of %.4f USD)", k.name.c_str(), spent,
                        k.budget_usd);
          return send_error(res, shape, 429, "rate_limit_error", msg);
        }
      }
      const LimitVerdict v = rc.limiter.admit(k, f.prompt_tokens + f.output_tokens, &in->limit_id);
      if (!v.ok) {
        res.set_header("retry-after", std::to_string(int64_t(std::ceil(std::max(v.retry_after_s, 0.001)))));
        return send_error(res, shape, 429, "rate_limit_error", v.reason);
      }
    }
    forward(rc, in, res);
  }

  void routes() {
    auto& http = rc.http;
    http.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
      const protocol::ApiError e = protocol::from_exception(ep);
      if (e.status >= 500) std::fprintf(stderr, "onprem route: handler error: %s\n", e.message.c_str());
      send_error(res, req.path.rfind("/v1/messages", 0) == 0 ? ApiShape::kAnthropic : ApiShape::kOpenAI, e.status,
                 e.type, e.message);
    });
    http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      const ApiShape shape = req.path.rfind("/v1/messages", 0) == 0 ? ApiShape::kAnthropic : ApiShape::kOpenAI;
      if (res.status == 404)
        send_error(res, shape, 404, "not_found_error", "no route " + req.method + " " + req.path);
      else if (res.status == 413)
        send_error(res, shape, 413, "invalid_request_error", "the request body is too large");
      else
        send_error(res, shape, res.status, "invalid_request_error", "error");
    });
    http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status":"ok"})", "application/json");
    });
    // Clients probe the base URL (Claude Code sends HEAD / first); cpp-httplib answers HEAD from GET.
    http.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status":"ok"})", "application/json");
    });
    http.Post("/v1/chat/completions",
              [this](const httplib::Request& req, httplib::Response& res) { proxy(req, res, ApiShape::kOpenAI); });
    http.Post("/v1/completions",
              [this](const httplib::Request& req, httplib::Response& res) { proxy(req, res, ApiShape::kOpenAI); });
    http.Post("/v1/responses", [this](const httplib::Request& req, httplib::Response& res) {
      proxy(req, res, ApiShape::kOpenAI, true);
    });
    http.Post("/v1/messages",
              [this](const httplib::Request& req, httplib::Response& res) { proxy(req, res, ApiShape::kAnthropic); });
    http.Post("/v1/messages/count_tokens", [this](const httplib::Request& req, httplib::Response& res) {
      auto in = classify(req, res, ApiShape::kAnthropic, req.path, false);
      if (in) res.set_content(Json{{"input_tokens", in->features.prompt_tokens}}.dump(), "application/json");
    });
    http.Post("/v1/route/explain", [this](const httplib::Request& req, httplib::Response& res) {
      const bool anthropic = req.get_param_value("api") == "anthropic" ||
                             (req.get_param_value("api").empty() && req.has_header("anthropic-version"));
      auto in = classify(req, res, anthropic ? ApiShape::kAnthropic : ApiShape::kOpenAI,
                         anthropic ? "/v1/messages" : "/v1/chat/completions", false);
      if (in) res.set_content(protocol::json_text(explain(*in)), "application/json");
    });
    http.Get("/v1/ledger", [this](const httplib::Request& req, httplib::Response& res) {
      const KeyConfig* key = nullptr;
      if (!authenticate(req, res, ApiShape::kOpenAI, &key)) return;
      int64_t since = 0;
      if (req.has_param("since_ms")) since = std::atoll(req.get_param_value("since_ms").c_str());
      // Scoped: without keys configured, or with an admin key, everything; any other key sees
      // only its own requests (no other key's name, team or spend).
      const bool admin = !key || key->admin;
      auto s = rc.ledger->summary(since, admin ? std::string() : key->name);
      if (!s) return send_error(res, ApiShape::kOpenAI, 500, "server_error", s.error().to_string());
      (*s)["reference_api"] = {{"usd_per_mtok_in", rc.cfg.reference_usd_per_mtok_in},
                               {"usd_per_mtok_out", rc.cfg.reference_usd_per_mtok_out}};
      res.set_content(protocol::json_text(*s), "application/json");
    });
    http.Get("/v1/route/status", [this](const httplib::Request& req, httplib::Response& res) {
      const KeyConfig* key = nullptr;
      if (!authenticate(req, res, ApiShape::kOpenAI, &key)) return;
      Json replicas = rc.pool.status_json();
      if (key && !key->admin)  // the backends' addresses are for operators
        for (auto& r : replicas) r.erase("url");
      res.set_content(Json{{"replicas", replicas}}.dump(), "application/json");
    });
    http.Get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
      const KeyConfig* key = nullptr;
      if (!authenticate(req, res, ApiShape::kOpenAI, &key)) return;
      std::vector<std::string> names;
      for (const auto& r : rc.cfg.rules)
        for (const auto& m : r.when.model)
          if (std::find(names.begin(), names.end(), m) == names.end()) names.push_back(m);
      Json data = Json::array();
      for (const auto& n : names)
        data.push_back({{"id", n}, {"object", "model"}, {"created", 0}, {"owned_by", "onprem-route"}});
      res.set_content(Json{{"object", "list"}, {"data", data}}.dump(), "application/json");
    });
  }

  // Active health checks: GET health_path on every replica that has one.
  void health_loop() {
    for (;;) {
      for (auto& r : rc.pool.all()) {
        if (r->backend->health_path.empty()) continue;
        httplib::Client cli(r->url);
        cli.set_connection_timeout(1, 0);
        cli.set_read_timeout(2, 0);
        if (!r->backend->ca_file.empty()) cli.set_ca_cert_path(r->backend->ca_file.c_str());
        auto res = cli.Get(r->backend->health_path.c_str());
        const bool ok = res && res->status == 200;
        if (ok != r->healthy.load() && (ok || r->failed_checks + 1 >= rc.cfg.health_failures))
          std::fprintf(stderr, "onprem route: %s %s is %s\n", r->backend->name.c_str(), r->url.c_str(),
                       ok ? "up" : "down");
        rc.pool.health_check_result(r.get(), ok);
      }
      std::unique_lock<std::mutex> lock(rc.stop_mu);
      if (rc.stop_cv.wait_for(lock, std::chrono::milliseconds(int64_t(rc.cfg.health_interval_s * 1000)),
                              [&] { return rc.stopping; }))
        return;
    }
  }
};

Router::Router(RouterConfig cfg, std::unique_ptr<Ledger> ledger, TokenCounter count)
    : impl_(std::make_unique<Impl>(std::move(cfg), std::move(ledger), std::move(count))) {
  impl_->rc.http.set_payload_max_length(32 << 20);
  impl_->rc.http.set_tcp_nodelay(true);  // see api/server.cpp: no Nagle delay on small writes
  core::use_router_heap_policy();        // see core/heap.h: what a burst of requests used goes back to the OS
  impl_->rc.http.set_logger([](const httplib::Request& req, const httplib::Response&) {  // after the response
    if (req.body.size() >= core::kLargeBodyBytes) core::release_freed_heap();
  });
  impl_->routes();
}

Router::~Router() {
  stop();
  if (impl_->rc.health.joinable()) impl_->rc.health.join();
}

bool Router::listen() {
  impl_->rc.health = std::thread([this] { impl_->health_loop(); });
  return impl_->rc.http.listen(impl_->rc.cfg.host, impl_->rc.cfg.port);
}

void Router::stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->rc.stop_mu);
    impl_->rc.stopping = true;
  }
  impl_->rc.stop_cv.notify_all();
  impl_->rc.http.stop();
}

}  // namespace onprem::router
