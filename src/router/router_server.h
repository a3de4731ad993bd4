// onprem route: the HTTP front. OpenAI (/v1/chat/completions, /v1/completions) and Anthropic
// (/v1/messages, /v1/messages/count_tokens) routes forwarded by the policy; /v1/route/explain;
// /v1/ledger; /v1/route/status; /health. Construct, listen() (blocks), stop() from any thread.
#pragma once

#include <memory>
#include <string>

#include "router/router_config.h"
#include "router/features.h"
#include "router/ledger.h"

namespace onprem::router {

class Router {
 public:
  Router(RouterConfig cfg, std::unique_ptr<Ledger> ledger, TokenCounter count);
  ~Router();
  bool listen();  // false if the address could not be bound
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace onprem::router
