// The HTTP front: routes, authentication, limits, SSE streaming. cpp-httplib stays behind this
// file (compiled with its pkg-config flags, see design.md).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/read_deadlines.h"
#include "api/service.h"

namespace onprem::api {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::vector<std::string> api_keys;  // empty: no authentication
  size_t max_body_bytes = 8 << 20;
  int http_threads = 16;
  ReadDeadlines read_deadlines;
  double stream_keepalive_s = 5;  // a stream silent this long (prefill, queue) gets a ping / SSE comment
  std::string request_log;        // "" = none; else one JSON line per request, body included (an audit trail)
};

class Server {
 public:
  Server(Service& svc, ServerOptions o);
  ~Server();
  // Blocks until stop(); false if the port could not be bound.
  bool listen();
  void stop();
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace onprem::api
