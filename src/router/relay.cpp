// Forwarding: the decision's chain of backends, each tried on its replicas with retries and
// backoff until a response has started; streams relayed chunk by chunk; the ledger written once
// per request, however it ends.
#include <chrono>
#include <cmath>
#include <thread>

#include "api/responses.h"
#include "protocol/errors.h"
#include "protocol/json_text.h"
#include "protocol/translate.h"
#include "protocol/usage.h"
#include "router/core.h"
#include "protocol/sse.h"
#include "router/pii_scan.h"
#include "router/upstream.h"

namespace onprem::router {

using chat::Json;
using namespace protocol;  // the translations between the API shapes
using std::chrono::milliseconds;

void send_error(httplib::Response& res, ApiShape shape, int status, const std::string& type,
                const std::string& message) {
  const protocol::ApiError e{status, type, message, "", ""};
  res.status = status;
  res.set_content(shape == ApiShape::kAnthropic ? protocol::anthropic_error_body(e) : protocol::openai_error_body(e),
                  "application/json");
}

namespace {

enum class Mode { kPassOpenAI, kPassAnthropic, kAnthropicToOpenAI, kOpenAIToAnthropic };

struct Prepared {
  UpstreamRequest req;
  Mode mode = Mode::kPassOpenAI;
  std::string error;
  int status = 400;  // 403: the sovereignty guard refused the bytes about to leave
};

// The top-level fields an off-premises backend receives, per API shape it speaks. Anything else a
// client sent (an extension, a field this router does not know) is dropped, not forwarded: what
// leaves is what the guard was built to read. Nested fields are forwarded as they are (and scanned).
bool forwarded_off_premises(BackendKind kind, const std::string& path, const std::string& field) {
  static const char* const anthropic[] = {"model",       "messages",    "system",  "max_tokens", "stop_sequences",
                                          "stream",      "temperature", "top_p",   "top_k",      "tools",
                                          "tool_choice", "thinking",    "metadata"};
  static const char* const chat[] = {"model",
                                     "messages",
                                     "max_tokens",
                                     "max_completion_tokens",
                                     "stop",
                                     "stream",
                                     "stream_options",
                                     "temperature",
                                     "top_p",
                                     "n",
                                     "tools",
                                     "tool_choice",
                                     "parallel_tool_calls",
                                     "response_format",
                                     "seed",
                                     "presence_penalty",
                                     "frequency_penalty",
                                     "logit_bias",
                                     "logprobs",
                                     "top_logprobs",
                                     "user",
                                     "reasoning_effort",
                                     "metadata"};
  static const char* const completions[] = {
      "model",       "prompt", "max_tokens", "stop", "stream",           "stream_options",
      "temperature", "top_p",  "n",          "seed", "presence_penalty", "frequency_penalty",
      "logit_bias",  "user"};
  auto in = [&](const auto& list) {
    for (const char* f : list)
      if (field == f) return true;
    return false;
  };
  if (kind == BackendKind::kAnthropic) return in(anthropic);
  return path == "/v1/completions" ? in(completions) : in(chat);
}

Prepared prepare(const RouterCore& rc, const Inbound& in, const BackendConfig& b, const std::string& url) {
  Prepared p;
  p.req.base_url = url;
  p.req.connect_timeout_s = rc.cfg.connect_timeout_s;
  p.req.read_timeout_s = b.timeout_s;
  p.req.ca_file = b.ca_file;
  Json body = in.body;
  const bool openai_client = in.shape == ApiShape::kOpenAI;
  if (b.kind == BackendKind::kAnthropic && openai_client) {
    Json out;
    if (auto e = openai_to_anthropic_request(body, b.model, rc.cfg.default_max_tokens, &out)) p.error = *e;
    body = out;
    p.req.path = "/v1/messages";
    p.mode = Mode::kAnthropicToOpenAI;
  } else if (b.kind == BackendKind::kOpenAI && !openai_client) {
    Json out;
    if (auto e = anthropic_to_openai_request(body, b.model, &out)) p.error = *e;
    body = out;
    p.req.path = "/v1/chat/completions";
    p.mode = Mode::kOpenAIToAnthropic;
  } else {
    p.req.path = in.path;
    p.mode = openai_client ? Mode::kPassOpenAI : Mode::kPassAnthropic;
    if (!b.model.empty()) body["model"] = b.model;
    // Usage comes with the stream's last chunk only if asked for; the ledger needs it.
    if (openai_client && in.features.stream) {
      if (!body.contains("stream_options") || !body["stream_options"].is_object())
        body["stream_options"] = Json::object();
      body["stream_options"]["include_usage"] = true;
    }
  }
  if (b.kind == BackendKind::kAnthropic) {
    if (!b.api_key.empty()) p.req.headers.push_back({"x-api-key", b.api_key});
    p.req.headers.push_back({"anthropic-version", "2023-06-01"});
  } else if (!b.api_key.empty()) {
    p.req.headers.push_back({"Authorization", "Bearer " + b.api_key});
  }
  if (!b.on_premises && body.is_object()) {
    for (auto it = body.begin(); it != body.end();) {
      if (forwarded_off_premises(b.kind, p.req.path, it.key()))
        ++it;
      else
        it = body.erase(it);
    }
  }
  p.req.body = json_text(body);
  if (!b.on_premises && p.error.empty()) {
    // The second line of the guard: the body exactly as it will leave, after translation (which
    // decodes tool arguments and rewrites fields), read again. The inbound scan should already
    // have kept such a request on premises; if it did not, nothing is sent.
    const BodyScan out = scan_json(body);
    if (!out.uninspectable.empty() || pii_class(out.findings) != DataClass::kPublic) {
      p.status = 403;
      p.error = "sovereignty guard: the request as it would be sent to " + b.name + " (off premises) " +
                (out.uninspectable.empty() ? "carries personal data (" + out.findings[0].kind + ")"
                                           : "cannot be fully inspected (" + out.uninspectable + ")") +
                "; it was not sent";
    }
  }
  return p;
}

// Stream bytes in the backend's shape -> bytes in the client's shape; usage picked up on the way.
struct Transformer {
  Mode mode = Mode::kPassOpenAI;
  bool client_wants_usage = false;
  Usage usage;
  SseSplitter sse;
  AnthropicToOpenAIStream a2o;
  OpenAIToAnthropicStream o2a;
  // A Responses client: the OpenAI chat output of the stages above, as Responses events / object.
  std::unique_ptr<api::ChatChunksToResponses> responses;
  SseSplitter chat_sse;

  std::string to_responses(const std::string& chat_sse_bytes) {
    std::string out;
    chat_sse.feed(chat_sse_bytes, [&](const SseEvent& e) {
      Json j;
      if (e.data == "[DONE]")
        out += responses->on_end();
      else if (parse(e.data, &j) && j.contains("error"))
        out += sse_event("error", {{"type", "error"}, {"message", j["error"].value("message", "")}});
      else if (parse(e.data, &j))
        out += responses->on_chunk(j);
    });
    return out;
  }

  static bool parse(const std::string& s, Json* j) {
    try {
      *j = Json::parse(s);
      return j->is_object();
    } catch (const std::exception&) {
      return false;
    }
  }

  std::string feed(const std::string& bytes) {
    std::string out = feed_chat(bytes);
    return responses ? to_responses(out) : out;
  }
  std::string feed_chat(const std::string& bytes) {
    std::string out;
    sse.feed(bytes, [&](const SseEvent& e) {
      Json j;
      const bool json = parse(e.data, &j);
      switch (mode) {
        case Mode::kPassOpenAI:
          if (json && j.contains("usage") && j["usage"].is_object()) {
            usage.set(protocol::usage_from_openai(j["usage"]));
            // The usage-only chunk the router asked for, which this client did not.
            if (!client_wants_usage && j.contains("choices") && j["choices"].empty()) return;
          }
          out += e.raw;
          return;
        case Mode::kPassAnthropic:
          if (json && e.name == "message_start" && j.contains("message") && j["message"].contains("usage"))
            usage.set(protocol::usage_from_anthropic(j["message"]["usage"]));
          if (json && e.name == "message_delta" && j.contains("usage") && j["usage"].is_object())
            usage.output = j["usage"].value("output_tokens", usage.output);
          out += e.raw;
          return;
        case Mode::kAnthropicToOpenAI:
          if (json) out += a2o.on_event(e.name.empty() ? j.value("type", "") : e.name, j);
          usage = a2o.usage;
          return;
        case Mode::kOpenAIToAnthropic:
          out += o2a.on_data(e.data);
          usage = o2a.usage;
          return;
      }
    });
    return out;
  }
  std::string end() {
    if (responses)
      return to_responses(mode == Mode::kOpenAIToAnthropic ? o2a.finish() : std::string()) + responses->on_end();
    return mode == Mode::kOpenAIToAnthropic ? o2a.finish() : std::string();
  }

  // A whole (non-streamed) body; errors are re-wrapped in the client's shape by the caller.
  std::string whole(const std::string& body) {
    std::string chat = whole_chat(body);
    Json j;
    if (!responses || !parse(chat, &j)) return chat;
    return json_text(api::chat_completion_to_response(j, responses->stream.id, responses->stream.created,
                                                      responses->stream.namespaces));
  }
  std::string whole_chat(const std::string& body) {
    Json j;
    if (!parse(body, &j)) return body;
    switch (mode) {
      case Mode::kPassOpenAI:
      case Mode::kPassAnthropic:
        if (j.contains("usage") && j["usage"].is_object())
          usage.set(mode == Mode::kPassOpenAI ? protocol::usage_from_openai(j["usage"])
                                              : protocol::usage_from_anthropic(j["usage"]));
        return body;
      case Mode::kAnthropicToOpenAI:
        return json_text(anthropic_to_openai_response(j, "", &usage));
      case Mode::kOpenAIToAnthropic:
        return json_text(openai_to_anthropic_response(j, "", &usage));
    }
    return body;
  }
};

// One request's journey once a backend answered; shared with the stream's content provider.
struct Flight {
  RouterCore& rc;
  std::shared_ptr<Inbound> in;
  const BackendConfig* backend = nullptr;
  Lease lease;
  std::shared_ptr<UpstreamCall> call;
  Transformer tx;
  Clock::time_point t0;
  double ttfb_ms = 0;
  int attempts = 0;
  bool recorded = false;
  std::mutex mu;

  Flight(RouterCore& r, std::shared_ptr<Inbound> i) : rc(r), in(std::move(i)) {}

  void record(int status) {
    std::lock_guard<std::mutex> lock(mu);
    if (recorded) return;
    recorded = true;
    const double latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    LedgerEntry e;
    e.ts_ms = std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const RequestFeatures& f = in->features;
    e.key = f.key_name, e.team = f.team, e.user = f.user;
    e.backend = backend ? backend->name : "", e.rule = in->decision.rule ? in->decision.rule->name : "";
    e.data_class = data_class_name(f.data_class);
    e.api = in->responses ? "responses" : f.shape == ApiShape::kOpenAI ? "openai" : "anthropic";
    e.status = status, e.stream = f.stream, e.attempts = attempts;
    e.tokens_in = tx.usage.seen ? tx.usage.input : (status < 400 ? f.prompt_tokens : 0);
    e.tokens_out = tx.usage.seen ? tx.usage.output : 0;
    e.latency_ms = latency_ms, e.ttfb_ms = ttfb_ms;
    if (backend && status < 400) {
      // Off premises: the API's prices. On premises: the replica's hourly cost, shared by the
      // requests it serves at once (max_concurrency), for the time this one took.
      e.cost_usd =
          backend->on_premises
              ? backend->usd_per_hour * (latency_ms / 3.6e6) / double(backend->max_concurrency)
              : (double(e.tokens_in) * backend->usd_per_mtok_in + double(e.tokens_out) * backend->usd_per_mtok_out) /
                    1e6;
      e.api_cost_usd = (double(e.tokens_in) * rc.cfg.reference_usd_per_mtok_in +
                        double(e.tokens_out) * rc.cfg.reference_usd_per_mtok_out) /
                       1e6;
    }
    if (in->key) rc.limiter.settle(*in->key, in->limit_id, e.tokens_in + e.tokens_out);
    if (auto s = rc.ledger->record(e); !s) std::fprintf(stderr, "onprem route: %s\n", s.error().to_string().c_str());
  }
};

void drain(UpstreamCall& call, std::string* body) {
  for (;;) {
    std::vector<std::string> parts;
    const bool more = call.take(&parts, milliseconds(1000));
    for (auto& p : parts) *body += p;
    if (!more) return;
  }
}

// The upstream's error message, whatever its shape.
std::string upstream_message(const std::string& body, int status) {
  try {
    const Json j = Json::parse(body);
    if (j.contains("error") && j["error"].is_object() && j["error"].contains("message") &&
        j["error"]["message"].is_string())
      return j["error"]["message"].get<std::string>();
  } catch (const std::exception&) {
  }
  return "upstream returned HTTP " + std::to_string(status);
}

void set_route_headers(httplib::Response& res, const Inbound& in, const BackendConfig& b) {
  res.set_header("x-onprem-backend", b.name);
  res.set_header("x-onprem-rule", in.decision.rule ? in.decision.rule->name : "");
  res.set_header("x-onprem-data-class", data_class_name(in.features.data_class));
}

void relay_stream(std::shared_ptr<Flight> fl, httplib::Response& res) {
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [fl](size_t, httplib::DataSink& sink) {
        std::vector<std::string> chunks;
        const bool more = fl->call->take(&chunks, milliseconds(200));
        std::string out;
        for (const auto& c : chunks) out += fl->tx.feed(c);
        if (!more) out += fl->tx.end();
        if (!sink.is_writable() || (!out.empty() && !sink.write(out.data(), out.size()))) {
          fl->call->cancel();  // the client left: stop the upstream generation too
          fl->record(499);
          return false;
        }
        if (!more) {
          // Ended by the upstream: cleanly, or cut after the stream had started (not retryable):
          // then the client gets an error event, so a truncated answer never looks complete.
          if (fl->call->error().empty()) {
            fl->lease.success();
          } else {
            fl->lease.failure();
            const std::string m = "the backend " + fl->backend->name + " failed mid-stream: " + fl->call->error();
            const std::string ev =
                fl->in->responses ? sse_event("error", {{"type", "error"}, {"message", m}})
                : fl->in->shape == ApiShape::kAnthropic
                    ? sse_event("error", {{"type", "error"}, {"error", {{"type", "api_error"}, {"message", m}}}})
                    : sse_data({{"error",
                                 {{"message", m}, {"type", "server_error"}, {"param", nullptr}, {"code", nullptr}}}});
            sink.write(ev.data(), ev.size());
          }
          fl->record(fl->call->error().empty() ? 200 : 502);
          sink.done();
        }
        return true;
      },
      [fl](bool success) {
        if (!success) fl->call->cancel();
        fl->record(success ? 200 : 499);
      });
}

// Outcome of one pass down the chain.
enum class Pass { kServed, kSaturated, kFailed };

Pass try_chain(RouterCore& rc, const std::shared_ptr<Inbound>& in, httplib::Response& res, Clock::time_point t0,
               int* attempts, std::vector<std::string>* notes);

}  // namespace

void forward(RouterCore& rc, std::shared_ptr<Inbound> in, httplib::Response& res) {
  const RequestFeatures& f = in->features;
  const auto t0 = Clock::now();
  const auto deadline = t0 + milliseconds(int64_t(rc.cfg.queue_timeout_s * 1000));
  std::vector<std::string> notes;
  int attempts = 0;
  Pass pass;
  // Every backend busy is not an error yet: wait for a slot (a lease returned, a replica back up).
  while ((pass = try_chain(rc, in, res, t0, &attempts, &notes)) == Pass::kSaturated && Clock::now() < deadline) {
    rc.pool.wait_for_capacity(std::min(deadline, Clock::now() + milliseconds(500)));
    notes.clear();
  }
  if (pass == Pass::kServed) return;
  std::string why;
  for (const auto& n : notes) why += (why.empty() ? "" : "; ") + n;
  Flight fl(rc, in);
  fl.t0 = t0, fl.attempts = attempts;
  if (pass == Pass::kSaturated) {
    fl.record(429);
    res.set_header("retry-after", "1");
    return send_error(res, f.shape, 429, "rate_limit_error", "every backend for this request stayed saturated: " + why);
  }
  fl.record(attempts ? 502 : 503);
  send_error(res, f.shape, attempts ? 502 : 503, attempts ? "api_error" : "overloaded_error",
             "no backend could serve this request: " + why);
}

namespace {

Pass try_chain(RouterCore& rc, const std::shared_ptr<Inbound>& in, httplib::Response& res, Clock::time_point t0,
               int* attempts, std::vector<std::string>* notes) {
  const RequestFeatures& f = in->features;
  bool saturated = false;
  size_t unservable = 0;
  for (const std::string& name : in->decision.chain) {
    const BackendConfig* b = rc.cfg.backend(name);
    if (in->path == "/v1/completions" && b->kind == BackendKind::kAnthropic) {
      notes->push_back(name + ": the Anthropic API has no /v1/completions");
      ++unservable;
      continue;
    }
    std::vector<const Replica*> tried;
    for (int attempt = 0; attempt <= rc.cfg.retries; ++attempt) {
      PickStatus why;
      Lease lease = rc.pool.pick(name, f.affinity, tried, &why);
      if (!lease && why == PickStatus::kUnavailable && !tried.empty() && attempt < rc.cfg.retries) {
        // Every replica failed once: back off, then give them another chance.
        std::this_thread::sleep_for(milliseconds(int64_t(rc.cfg.backoff_ms) << attempt));
        tried.clear();
        lease = rc.pool.pick(name, f.affinity, tried, &why);
      }
      if (!lease) {
        saturated = saturated || why == PickStatus::kSaturated;
        notes->push_back(name + (why == PickStatus::kSaturated ? ": saturated"
                                                               : ": no replica up (health checks or open breakers)"));
        break;
      }
      Replica* r = lease.replica();
      Prepared p = prepare(rc, *in, *b, r->url);
      if (!p.error.empty()) {
        send_error(res, f.shape, p.status, p.status == 403 ? "permission_error" : "invalid_request_error", p.error);
        return Pass::kServed;
      }
      ++*attempts;
      auto call = UpstreamCall::start(std::move(p.req));
      const auto w = call->wait_first(milliseconds(int64_t(b->timeout_s * 1000) + 2000));
      const int status = call->status();
      const double ttfb_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      std::string body;
      const bool streaming = f.stream && w == UpstreamCall::Wait::kData && status >= 200 && status < 300;
      if (!streaming && w != UpstreamCall::Wait::kTimeout) drain(*call, &body);
      const bool broken =
          w == UpstreamCall::Wait::kTimeout || status == 0 || status >= 500 || (!streaming && !call->error().empty());
      if (broken) {
        // Nothing reached the client yet: safe to try again elsewhere.
        // The breaker counts what says "this replica is in trouble" (no answer, 502-504), not a
        // 500 that one odd request may provoke; both are retried.
        call->cancel();
        if (status == 500)
          lease.success();
        else
          lease.failure();
        tried.push_back(r);
        notes->push_back(name + " " + r->url + ": " +
                         (w == UpstreamCall::Wait::kTimeout ? "timeout"
                          : status == 0 || status < 500     ? call->error()
                                                            : "HTTP " + std::to_string(status)));
        if (attempt < rc.cfg.retries) std::this_thread::sleep_for(milliseconds(int64_t(rc.cfg.backoff_ms) << attempt));
        continue;
      }
      if (status == 429) {  // the backend's own queue is full: saturated, go down the fallback chain
        saturated = true;
        notes->push_back(name + " " + r->url + ": 429");
        break;
      }
      auto fl = std::make_shared<Flight>(rc, in);
      fl->backend = b, fl->lease = std::move(lease), fl->call = call, fl->t0 = t0, fl->ttfb_ms = ttfb_ms,
      fl->attempts = *attempts;
      fl->tx.mode = p.mode;
      const Json so = in->body.contains("stream_options") && in->body["stream_options"].is_object()
                          ? in->body["stream_options"]
                          : Json::object();
      fl->tx.client_wants_usage = so.contains("include_usage") && so["include_usage"] == true;
      fl->tx.a2o.id = "chatcmpl-" + std::to_string(rc.next_id++),
      fl->tx.a2o.model = b->model.empty() ? f.model : b->model;
      fl->tx.a2o.created =
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      fl->tx.a2o.include_usage = fl->tx.client_wants_usage;
      fl->tx.o2a.model = fl->tx.a2o.model;
      if (in->responses) {
        fl->tx.client_wants_usage = true;  // a response reports usage
        fl->tx.a2o.include_usage = true;
        fl->tx.responses = std::make_unique<api::ChatChunksToResponses>();
        fl->tx.responses->stream.id = "resp_" + std::to_string(rc.next_id++);
        fl->tx.responses->stream.created = fl->tx.a2o.created;
        fl->tx.responses->stream.model = f.model;
        fl->tx.responses->stream.namespaces = in->tool_namespaces;
      }
      set_route_headers(res, *in, *b);
      if (streaming) {
        relay_stream(fl, res);
        return Pass::kServed;
      }
      fl->lease.success();
      if (status >= 400) {
        const bool same_shape = p.mode == Mode::kPassOpenAI || p.mode == Mode::kPassAnthropic;
        if (same_shape)
          res.status = status, res.set_content(body, "application/json");
        else
          send_error(res, f.shape, status,
                     status == 401 || status == 403 ? "authentication_error" : "invalid_request_error",
                     upstream_message(body, status));
        fl->record(status);
        return Pass::kServed;
      }
      res.status = status;
      res.set_content(fl->tx.whole(body), "application/json");
      fl->record(status);
      return Pass::kServed;
    }
  }
  if (unservable == in->decision.chain.size()) {
    send_error(res, f.shape, 400, "invalid_request_error",
               "/v1/completions cannot be served by this request's backends (they speak only the Anthropic Messages "
               "API); use /v1/chat/completions");
    return Pass::kServed;
  }
  // Saturation (and failures that left only busy replicas) is worth waiting for; plain failure is not.
  return saturated ? Pass::kSaturated : Pass::kFailed;
}

}  // namespace

}  // namespace onprem::router
