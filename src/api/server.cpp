#include "api/server.h"

#include "core/heap.h"
#include "core/json_bounds.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <mutex>

#include "api/http_server.h"
#include "api/anthropic.h"
#include "api/openai.h"
#include "api/responses.h"
#include "protocol/anthropic_request.h"
#include "protocol/auth.h"
#include "protocol/openai_request.h"
#include "protocol/responses_request.h"
#include "protocol/json_text.h"

namespace onprem::api {

using chat::Json;
using protocol::anthropic_error_body;
using protocol::from_exception;
using protocol::from_status;
using protocol::json_text;
using protocol::openai_error_body;

struct Server::Impl {
  Service& svc;
  ServerOptions o;
  HttpServer http;
  std::atomic<uint64_t> next{1};
  std::FILE* request_log = nullptr;
  std::mutex log_mu;

  Impl(Service& s, ServerOptions opt) : svc(s), o(std::move(opt)), http(o.read_deadlines, o.http_threads) {}

  void send_error(httplib::Response& res, const ApiError& e, bool anthropic) {
    res.status = e.status;
    res.set_content(anthropic ? anthropic_error_body(e) : openai_error_body(e), "application/json");
  }

  bool authorized(const httplib::Request& req) const {
    if (o.api_keys.empty()) return true;
    const std::string key =
        protocol::presented_api_key(req.get_header_value("Authorization"), req.get_header_value("x-api-key"));
    for (const auto& k : o.api_keys)
      if (!key.empty() && key == k) return true;
    return false;
  }

  std::optional<Json> parse_body(const httplib::Request& req, httplib::Response& res, bool anthropic) {
    if (auto e = core::json_bounds_error(req.body)) {
      send_error(res, bad_request(*e), anthropic);
      return std::nullopt;
    }
    try {
      Json j = Json::parse(req.body);
      if (!j.is_object()) throw std::runtime_error("not an object");
      return j;
    } catch (const std::exception&) {
      send_error(res, bad_request("the request body is not a JSON object"), anthropic);
      return std::nullopt;
    }
  }

  static std::string new_id(const char* prefix, uint64_t n) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%016llx", prefix, (unsigned long long)(n * 0x9e3779b97f4a7c15ull));
    return buf;
  }

  // An over-long prompt in each API's own form: clients compact on it. Claude Code keys on
  // "prompt is too long: N tokens > M", OpenAI clients on the code context_length_exceeded.
  // (max_tokens beyond the room left is not an error: the engine clamps it.)
  std::optional<ApiError> context_error(const ChatPlan& plan, bool anthropic) const {
    const int64_t n = int64_t(plan.prompt.size()), ctx = svc.engine.context_size();
    if (n < ctx) return std::nullopt;
    if (anthropic)  // at least one token must be left for the answer
      return bad_request(
          "prompt is too long: " + std::to_string(n) + " tokens > " + std::to_string(ctx - 1) + " maximum", "messages");
    ApiError e = bad_request("This model's maximum context length is " + std::to_string(ctx) +
                                 " tokens. However, your messages resulted in " + std::to_string(n) +
                                 " tokens. Please reduce the length of the messages.",
                             "messages");
    e.code = "context_length_exceeded";
    return e;
  }

  // Runs a planned generation: buffered JSON, or SSE through a chunked content provider that
  // cancels the engine request when the client goes away.
  template <typename Buffered, typename Stream>
  void run(const ChatPlan& plan, httplib::Response& res, bool anthropic, Buffered buffered, Stream stream) {
    if (auto e = context_error(plan, anthropic)) return send_error(res, *e, anthropic);
    GenerationOptions go = plan.gen;
    go.scripted_output = svc.next_scripted_output(!go.tools.empty());
    auto g = std::make_shared<Generation>(svc, std::move(go));
    auto submitted = svc.engine.submit(g->request(plan.prompt, plan.sampling, plan.max_tokens));
    if (!submitted) return send_error(res, from_status(submitted.error()), anthropic);
    g->set_id(*submitted);
    if (!plan.stream) {
      g->wait();
      if (g->finish().reason == engine::FinishReason::kError)
        return send_error(res, ApiError{500, "server_error", g->finish().error, "", ""}, anthropic);
      if (g->loop_guard_stopped()) res.set_header("X-Onprem-Stop", "loop_guard");
      res.set_content(json_text(buffered(*g)), "application/json");
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    using Clock = std::chrono::steady_clock;
    auto last_write = std::make_shared<Clock::time_point>(Clock::now());
    const auto keepalive = std::chrono::duration<double>(o.stream_keepalive_s);
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, g, stream, anthropic, last_write, keepalive](size_t, httplib::DataSink& sink) {
          std::vector<GenerationEvent> events;
          const bool more = g->next(events, 200);
          if (!sink.is_writable()) {
            svc.engine.cancel(g->id());  // the client left: free the slot
            return false;
          }
          // The first call writes the stream's opening (message_start, the role chunk) without
          // waiting for a token. While the prompt is queued or prefilled, a long silence gets a ping
          // (Anthropic's event; an SSE comment for OpenAI clients), so that clients and proxies do not
          // take a slow first token for a dead connection.
          std::string text = stream(*g, events);
          if (text.empty() && Clock::now() - *last_write >= keepalive)
            text = anthropic ? "event: ping\ndata: {\"type\": \"ping\"}\n\n" : ": keep-alive\n\n";
          if (!text.empty()) {
            if (!sink.write(text.data(), text.size())) {
              svc.engine.cancel(g->id());
              return false;
            }
            *last_write = Clock::now();
          }
          if (!more) sink.done();
          return true;
        },
        [this, g](bool success) {
          if (!success) svc.engine.cancel(g->id());
        });
  }

  // The one place refusals are counted: every response passes here before it is written, whoever
  // refused it (a handler, authentication, routing, the body limit, body decoding).
  void count_refusal(const httplib::Request& req, const httplib::Response& res) {
    if (res.status < 400) return;
    static const char* const kRoutes[] = {"/v1/chat/completions",
                                          "/v1/completions",
                                          "/v1/messages",
                                          "/v1/messages/count_tokens",
                                          "/v1/responses",
                                          "/v1/models",
                                          "/metrics",
                                          "/health",
                                          "/"};
    std::string route = "other";
    for (const char* r : kRoutes)
      if (req.path == r) route = r;
    std::lock_guard<std::mutex> lock(svc.metrics.mu);
    svc.metrics.rejected[{route, res.status}]++;
  }

  void routes() {
    http.set_post_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) { count_refusal(req, res); });
    // Whatever escapes a handler never crashes the server: a wrong-typed field is a 400, the rest a 500.
    http.set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
      const ApiError e = from_exception(ep);
      if (e.status >= 500) std::fprintf(stderr, "onprem: handler error: %s\n", e.message.c_str());
      send_error(res, e, req.path.rfind("/v1/messages", 0) == 0);
    });
    // httplib's own refusals (unknown route, body over the limit) get the API's error body too.
    http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      const bool anthropic = req.path.rfind("/v1/messages", 0) == 0;
      ApiError e{res.status, "invalid_request_error", "error", "", ""};
      if (res.status == 404)
        e.type = "not_found_error", e.message = "no route " + req.method + " " + req.path;
      else if (res.status == 413)
        e.message = "the request body is larger than the server accepts (--max-body)";
      else if (res.status == 405)
        e.message = "method not allowed";
      send_error(res, e, anthropic);
    });
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (req.path == "/health" || req.path == "/" || authorized(req))
        return httplib::Server::HandlerResponse::Unhandled;
      send_error(res, ApiError{401, "authentication_error", "missing or invalid API key", "", ""},
                 req.path.rfind("/v1/messages", 0) == 0);
      return httplib::Server::HandlerResponse::Handled;
    });
    http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status":"ok"})", "application/json");
    });
    // Clients probe the base URL (Claude Code sends HEAD / first); cpp-httplib answers HEAD from GET.
    http.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status":"ok"})", "application/json");
    });
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      Json data = Json::array();
      data.push_back({{"id", svc.opt.model_id}, {"object", "model"}, {"created", 0}, {"owned_by", "onprem"}});
      for (const auto& a : svc.opt.aliases)
        data.push_back({{"id", a}, {"object", "model"}, {"created", 0}, {"owned_by", "onprem"}});
      res.set_content(json_text(Json{{"object", "list"}, {"data", data}}), "application/json");
    });
    http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      auto body = parse_body(req, res, false);
      if (!body) return;
      protocol::ChatRequest request;
      if (auto e = protocol::parse_openai_chat(*body, &request)) return send_error(res, *e, false);
      auto plan = std::make_shared<ChatPlan>();
      if (auto e = plan_chat(svc, request, plan.get())) return send_error(res, *e, false);
      const std::string id = new_id("chatcmpl-", next++);
      const int64_t created =
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      auto role_sent = std::make_shared<bool>(false);
      run(
          *plan, res, false, [&](const Generation& g) { return chat_response(svc, *plan, g, id, created); },
          [plan, id, created, role_sent](const Generation& g, const std::vector<GenerationEvent>& ev) {
            return chat_chunks(*plan, id, created, ev, g, role_sent.get());
          });
    });
    http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
      auto body = parse_body(req, res, false);
      if (!body) return;
      protocol::ChatRequest request;
      if (auto e = protocol::parse_openai_completion(*body, &request)) return send_error(res, *e, false);
      auto plan = std::make_shared<ChatPlan>();
      if (auto e = plan_completion(svc, request, plan.get())) return send_error(res, *e, false);
      const std::string id = new_id("cmpl-", next++);
      const int64_t created =
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      run(
          *plan, res, false, [&](const Generation& g) { return completion_response(*plan, g, id, created); },
          [plan, id, created](const Generation& g, const std::vector<GenerationEvent>& ev) {
            return completion_chunks(*plan, id, created, ev, g);
          });
    });
    http.Post("/v1/messages", [this](const httplib::Request& req, httplib::Response& res) {
      auto body = parse_body(req, res, true);
      if (!body) return;
      protocol::ChatRequest request;
      if (auto e = protocol::parse_anthropic(*body, {}, &request)) return send_error(res, *e, true);
      auto plan = std::make_shared<ChatPlan>();
      if (auto e = plan_chat(svc, request, plan.get())) return send_error(res, *e, true);
      const std::string id = new_id("msg_", next++);
      auto st = std::make_shared<MessagesStream>();
      st->plan = plan.get(), st->id = id;
      run(
          *plan, res, true, [&](const Generation& g) { return messages_response(*plan, g, id); },
          [plan, st](const Generation& g, const std::vector<GenerationEvent>& ev) { return st->events(g, ev); });
    });
    http.Post("/v1/responses", [this](const httplib::Request& req, httplib::Response& res) {
      auto body = parse_body(req, res, false);
      if (!body) return;
      protocol::ChatRequest request;
      Json namespaces;
      if (auto e = protocol::parse_responses(*body, &request, &namespaces)) return send_error(res, *e, false);
      auto plan = std::make_shared<ChatPlan>();
      if (auto e = plan_chat(svc, request, plan.get())) return send_error(res, *e, false);
      const std::string id = new_id("resp_", next++);
      const int64_t created =
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      auto st = std::make_shared<ResponsesStream>();
      st->model = plan->model, st->id = id, st->created = created, st->namespaces = namespaces;
      run(
          *plan, res, false, [&](const Generation& g) { return responses_response(*plan, g, id, created, namespaces); },
          [plan, st](const Generation& g, const std::vector<GenerationEvent>& ev) { return st->events(g, ev); });
    });
    http.Post("/v1/messages/count_tokens", [this](const httplib::Request& req, httplib::Response& res) {
      auto body = parse_body(req, res, true);
      if (!body) return;
      protocol::ChatRequest request;
      if (auto e = protocol::parse_anthropic(*body, {.count_only = true}, &request)) return send_error(res, *e, true);
      ChatPlan plan;
      if (auto e = plan_chat(svc, request, &plan)) return send_error(res, *e, true);
      res.set_content(json_text({{"input_tokens", int64_t(plan.prompt.size())}}), "application/json");
    });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_text(), "text/plain; version=0.0.4");
    });
  }

  std::string metrics_text() {
    const engine::EngineStats st = svc.engine.stats();
    std::string m;
    auto line = [&](const std::string& name, double v, const char* help, const char* type) {
      m += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " + std::to_string(v) +
           "\n";
    };
    std::lock_guard<std::mutex> lock(svc.metrics.mu);
    const Metrics& x = svc.metrics;
    line("onprem_requests_total", double(x.requests_total), "Requests finished", "counter");
    line("onprem_requests_failed_total", double(x.requests_failed), "Requests that failed", "counter");
    m += "# HELP onprem_requests_rejected_total Requests refused with an error status, by route and status\n# TYPE "
         "onprem_requests_rejected_total counter\n";
    for (const auto& [key, n] : x.rejected)
      m += "onprem_requests_rejected_total{route=\"" + key.first + "\",status=\"" + std::to_string(key.second) +
           "\"} " + std::to_string(n) + "\n";
    line("onprem_prompt_tokens_total", double(x.prompt_tokens), "Prompt tokens of finished requests", "counter");
    line("onprem_completion_tokens_total", double(x.completion_tokens), "Generated tokens of finished requests",
         "counter");
    line("onprem_http_requests_timed_out_total", double(http.timed_out()),
         "Connections closed with 408 for sending a request too slowly", "counter");
    line("onprem_queue_depth", double(st.queued), "Requests waiting for a slot", "gauge");
    line("onprem_slots_busy", double(st.active), "Sequence slots in use", "gauge");
    line("onprem_engine_steps_total", double(st.steps), "Engine steps", "counter");
    line("onprem_engine_preemptions_total", double(st.preemptions),
         "Generations paused for a waiting request (--preempt-after)", "counter");
    line("onprem_engine_step_seconds_total", st.step_seconds, "Engine thread time in steps", "counter");
    line("onprem_engine_forward_seconds_total", st.prefill_seconds + st.decode_seconds,
         "Engine thread time in forward passes (the rest of a step is scheduling, sampling and callbacks)", "counter");
    line("onprem_engine_step_cpu_seconds_total", st.step_cpu_seconds, "Engine thread CPU time in steps", "counter");
    line("onprem_engine_forward_cpu_seconds_total", st.forward_cpu_seconds, "Engine thread CPU time in forward passes",
         "counter");
    line("onprem_prefill_tokens_per_second", st.prefill_seconds > 0 ? double(st.prompt_tokens) / st.prefill_seconds : 0,
         "Prompt tokens per second of engine time", "gauge");
    line("onprem_decode_tokens_per_second", st.decode_seconds > 0 ? double(st.generated_tokens) / st.decode_seconds : 0,
         "Generated tokens per second of engine time", "gauge");
    line("onprem_prompt_tokens_submitted_total", double(st.submitted_prompt_tokens),
         "Prompt tokens of admitted requests", "counter");
    line("onprem_prefix_cache_reused_tokens_total", double(st.reused_prompt_tokens),
         "Prompt tokens served from the prefix cache", "counter");
    line("onprem_prefix_cache_snapshot_bytes", double(st.snapshot_bytes), "Memory held by DeltaNet state snapshots",
         "gauge");
    line("onprem_prefix_cache_snapshot_device_bytes", double(st.snapshot_device_bytes),
         "Of which on the GPU (--device vulkan:N)", "gauge");
    auto hist = [&](const std::string& name, const char* help, const std::vector<double>& bounds,
                    const std::vector<uint64_t>& counts, double sum, uint64_t n) {
      m += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
      uint64_t acc = 0;
      for (size_t i = 0; i < bounds.size(); ++i) {
        acc += counts[i];
        m += name + "_bucket{le=\"" + std::to_string(bounds[i]) + "\"} " + std::to_string(acc) + "\n";
      }
      acc += counts.back();
      m += name + "_bucket{le=\"+Inf\"} " + std::to_string(acc) + "\n" + name + "_sum " + std::to_string(sum) + "\n" +
           name + "_count " + std::to_string(n) + "\n";
    };
    uint64_t ttft_n = 0;
    for (auto c : x.ttft_counts) ttft_n += c;
    hist("onprem_time_to_first_token_seconds", "From submission to the first token", x.ttft_bounds, x.ttft_counts,
         x.ttft_sum, ttft_n);
    hist("onprem_inter_token_latency_seconds", "Mean time between tokens per request", x.itl_bounds, x.itl_counts,
         x.itl_sum, x.itl_n);
    return m;
  }
};

Server::Server(Service& svc, ServerOptions o) : impl_(std::make_unique<Impl>(svc, std::move(o))) {
  impl_->http.set_payload_max_length(impl_->o.max_body_bytes);
  // Headers and body go out in separate writes: without TCP_NODELAY, Nagle and the client's
  // delayed ACK add ~40 ms to every buffered response.
  impl_->http.set_tcp_nodelay(true);
  impl_->routes();
  // A large body leaves its parse's memory in the worker thread's malloc arena, and glibc keeps
  // freed arena memory: with hundreds of workers that is hundreds of MB after a burst of large (or
  // hostile) requests. Give it back after each large one, once its response is out: cpp-httplib
  // calls the logger after the last byte (a post-routing handler would delay the first).
  core::use_server_heap_policy();
  if (!impl_->o.request_log.empty()) {
    impl_->request_log = std::fopen(impl_->o.request_log.c_str(), "a");
    if (!impl_->request_log)
      std::fprintf(stderr, "onprem: cannot open request log '%s'\n", impl_->o.request_log.c_str());
  }
  impl_->http.set_logger([impl = impl_.get()](const httplib::Request& req, const httplib::Response& res) {
    if (impl->request_log) {
      const int64_t ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count();
      // The whole body: an audit must see everything sent.
      const std::string line = json_text({{"ts_ms", ms},
                                          {"method", req.method},
                                          {"path", req.path},
                                          {"status", res.status},
                                          {"body_bytes", req.body.size()},
                                          {"body", req.body}});
      std::lock_guard<std::mutex> lock(impl->log_mu);
      std::fprintf(impl->request_log, "%s\n", line.c_str());
      std::fflush(impl->request_log);
    }
    if (req.body.size() >= core::kLargeBodyBytes) core::release_freed_heap();
  });
}

Server::~Server() {
  stop();
  if (impl_->request_log) std::fclose(impl_->request_log);
}

bool Server::listen() { return impl_->http.listen(impl_->o.host, impl_->o.port); }
void Server::stop() { impl_->http.stop(); }
int Server::port() const { return impl_->o.port; }

}  // namespace onprem::api
