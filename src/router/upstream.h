// One HTTP call to a backend replica, on its own thread, bridged to the client's handler by a
// small queue: the handler waits for the response status and the first body bytes (so a failure
// before them can still be retried elsewhere), then drains body chunks as they arrive. The queue
// is bounded: a slow client slows the upstream read instead of growing memory. cpp-httplib stays
// behind this file.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace onprem::router {

struct UpstreamRequest {
  std::string base_url;  // http(s)://host:port
  std::string path;      // /v1/...
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  double connect_timeout_s = 2, read_timeout_s = 600;
  std::string ca_file;  // https: trust this PEM bundle instead of the system's
};

class UpstreamCall {
 public:
  static std::shared_ptr<UpstreamCall> start(UpstreamRequest r);
  ~UpstreamCall();

  enum class Wait { kData, kDone, kTimeout };
  // Waits until the status is known and a body chunk (or the end) is there, up to `timeout`.
  Wait wait_first(std::chrono::milliseconds timeout);
  // Moves out the chunks received so far; false once everything was taken and the call ended.
  bool take(std::vector<std::string>* out, std::chrono::milliseconds wait);
  void cancel();  // the client went away: stop reading (closes the upstream connection)

  int status() const;  // 0 while unknown or when the connection failed
  std::string content_type() const;
  std::string error() const;  // transport error ("" if none)
  bool done() const;
  size_t bytes_received() const;

 private:
  UpstreamCall() = default;
  void run(UpstreamRequest r);
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace onprem::router
