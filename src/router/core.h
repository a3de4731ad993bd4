// The router's shared state, private to src/router (it names cpp-httplib types, so only files
// compiled with its pkg-config flags include it).
#pragma once

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <thread>

#include "api/http_server.h"
#include "router/features.h"
#include "router/ledger.h"
#include "router/limits.h"
#include "router/policy.h"
#include "router/pool.h"

namespace onprem::router {

struct RouterCore {
  RouterConfig cfg;
  std::unique_ptr<Ledger> ledger;
  TokenCounter count;
  Pool pool;
  RateLimiter limiter;
  api::HttpServer http;
  std::atomic<uint64_t> next_id{1};
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread health;

  RouterCore(RouterConfig c, std::unique_ptr<Ledger> l, TokenCounter t)
      : cfg(std::move(c)),
        ledger(std::move(l)),
        count(std::move(t)),
        pool(cfg),
        http(cfg.read_deadlines, cfg.http_threads) {}
};

// What the client sent, already authenticated, parsed and classified.
struct Inbound {
  ApiShape shape = ApiShape::kOpenAI;
  std::string path;            // the client's route (/v1/responses arrives as /v1/chat/completions)
  bool responses = false;      // the client speaks OpenAI Responses: its body was translated to chat
  chat::Json tool_namespaces;  // Responses: {flattened tool: its namespace}, put back on calls
  chat::Json body;
  RequestFeatures features;
  Decision decision;
  const KeyConfig* key = nullptr;
  uint64_t limit_id = 0;
};

void send_error(httplib::Response& res, ApiShape shape, int status, const std::string& type,
                const std::string& message);
// Forwards along the decision's chain with retries and fallbacks; writes the ledger.
void forward(RouterCore& rc, std::shared_ptr<Inbound> in, httplib::Response& res);

}  // namespace onprem::router
