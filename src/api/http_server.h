// cpp-httplib's server with a deadline on reading each request. A watchdog thread sends 408 and
// shuts down a connection whose headers or body take longer than ReadDeadlines allow; once a
// handler runs, the request is read and nothing is cut (a generation may stream for minutes).
// Both servers use it; handlers are registered as on httplib::Server. Connections are served by
// HttpWorkers, up to max_threads at once. Compressed request bodies are decoded with a bound.
#pragma once

#include <httplib.h>

#include <memory>

#include "api/read_deadlines.h"

namespace onprem::api {

class HttpServer : public httplib::Server {
 public:
  HttpServer(ReadDeadlines d, int max_threads);
  ~HttpServer() override;

  // These hide httplib::Server's: each handler first marks its request as read, so registering
  // through this class is what keeps a long handler from being cut.
  HttpServer& Get(const std::string& pattern, Handler h);
  HttpServer& Post(const std::string& pattern, Handler h);
  HttpServer& Delete(const std::string& pattern, Handler h);
  HttpServer& Options(const std::string& pattern, Handler h);
  HttpServer& set_pre_routing_handler(HandlerWithResponse h);
  HttpServer& set_logger(httplib::Logger l);
  // The largest body, sent and decoded: compressed bodies (gzip, deflate, br, zstd) are decoded
  // here, within this bound, before the handler runs (api/body_encoding.h says why).
  HttpServer& set_payload_max_length(size_t bytes);

  // Connections cut so far for taking too long to send a request.
  uint64_t timed_out() const;

 private:
  struct Watch;
  std::unique_ptr<Watch> watch_;
};

}  // namespace onprem::api
