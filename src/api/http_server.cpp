#include "api/http_server.h"

#include "api/body_encoding.h"
#include "api/http_workers.h"
#include "protocol/errors.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>

namespace onprem::api {
namespace {

using Clock = std::chrono::steady_clock;

// cpp-httplib's default, set explicitly because the header deadline of a keep-alive connection's
// later requests must outlast it: an idle connection is then closed quietly by cpp-httplib, never
// sent a 408 that a client about to reuse it would read as the answer to its next request.
constexpr int kKeepAliveS = 5;

enum class Phase { kHeaders, kBody, kHandling, kCut };

struct Connection {
  int fd;  // a dup of the socket: the number stays ours until we close it, so a cut never hits a reused one
  Phase phase;
  Clock::time_point deadline;
};

// The connection this worker thread is serving (cpp-httplib serves each one on one thread).
thread_local Connection* tl_conn = nullptr;

// The socket the last accept() on this thread returned; see accept() below.
thread_local int tl_accepted = -1;

Clock::time_point after(double s) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// Each connection holds two descriptors (the socket and the watchdog's dup), and the soft limit is
// often 1,024: raise it to the hard limit so that the thread maximum, not the descriptors, binds.
void raise_open_file_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

// The header a request's Content-Encoding is moved to, so that cpp-httplib reads the body as it
// came and the handler wrapper decodes it within the size bound.
constexpr char kEncodingHeader[] = "X-Onprem-Content-Encoding";

std::string timeout_response() {
  const std::string body = R"({"type":"error","error":{"type":"request_timeout",)"
                           R"("message":"the request was not received within the deadline"}})";
  return "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace
}  // namespace onprem::api

// cpp-httplib 0.11 hands a worker its socket only inside a private member function, so the
// watchdog learns each connection's socket here: this definition takes the place of the C
// library's for the process (the library calls accept() just before it queues the connection, on
// the same thread), and records what it returns. It is accept4 with no flags, which is what
// accept is.
extern "C" int accept(int fd, sockaddr* __restrict addr, socklen_t* __restrict len) {
  const int s = ::accept4(fd, addr, len, 0);
  onprem::api::tl_accepted = s;
  return s;
}

namespace onprem::api {

struct HttpServer::Watch {
  ReadDeadlines d;
  std::mutex mu;
  std::condition_variable cv;
  std::unordered_set<Connection*> conns;
  bool stopping = false;
  uint64_t cut = 0;
  HandlerWithResponse pre;
  httplib::Logger log;
  size_t max_body = 8 << 20;
  std::thread thread;
  const std::string response408 = timeout_response();

  void set(Phase p, Clock::time_point deadline) {
    Connection* c = tl_conn;
    if (!c) return;
    std::lock_guard<std::mutex> lock(mu);
    if (c->phase == Phase::kCut) return;
    c->phase = p, c->deadline = deadline;
  }

  void run() {
    std::unique_lock<std::mutex> lock(mu);
    while (!stopping) {
      const auto now = Clock::now();
      for (Connection* c : conns) {
        if ((c->phase != Phase::kHeaders && c->phase != Phase::kBody) || now < c->deadline) continue;
        // The worker is blocked reading; after the shutdown its read returns at once and
        // cpp-httplib closes the connection.
        [[maybe_unused]] const ssize_t sent =
            ::send(c->fd, response408.data(), response408.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        ::shutdown(c->fd, SHUT_RDWR);
        c->phase = Phase::kCut;
        ++cut;
      }
      // Deadlines are whole seconds by default: a fifth of a second late is precise enough.
      cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping; });
    }
  }

  // On the worker thread: serves one connection under the watchdog.
  void serve(int sock, const std::function<void()>& fn) {
    Connection c{sock >= 0 ? ::dup(sock) : -1, Phase::kHeaders, after(d.header_s)};
    if (c.fd < 0) {  // no socket known, or out of descriptors: serve without a deadline rather than drop the client
      fn();
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      conns.insert(&c);
    }
    tl_conn = &c;
    fn();  // cpp-httplib reads, answers and closes the socket; the dup keeps its number ours
    tl_conn = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu);
      conns.erase(&c);
    }
    ::close(c.fd);
  }

  Handler wrap(Handler h) {
    return [this, h = std::move(h)](const httplib::Request& req, httplib::Response& res) {
      set(Phase::kHandling, {});
      if (req.has_header(kEncodingHeader) && !decode(const_cast<httplib::Request&>(req), res)) return;
      h(req, res);
    };
  }

  // Replaces a compressed body by its decoding; false (and the error written) when it cannot.
  bool decode(httplib::Request& req, httplib::Response& res) const {
    const std::string enc = req.get_header_value(kEncodingHeader);
    std::string body;
    switch (decode_body(enc, req.body, max_body, &body)) {
      case BodyDecode::kOk:
        req.body = std::move(body);
        return true;
      case BodyDecode::kTooLarge:
        res.status = 413;
        res.set_content(protocol::either_shape_error_body(
                            "invalid_request_error", "the decoded request body is larger than the server accepts (" +
                                                         std::to_string(max_body) + " bytes)"),
                        "application/json");
        return false;
      case BodyDecode::kCorrupt:
        res.status = 400;
        res.set_content(
            protocol::either_shape_error_body("invalid_request_error", "the request body is not valid " + enc),
            "application/json");
        return false;
      case BodyDecode::kUnsupported:
        break;
    }
    res.status = 415;
    res.set_content(protocol::either_shape_error_body("invalid_request_error",
                                                      "unsupported Content-Encoding; use gzip, deflate, br or zstd"),
                    "application/json");
    return false;
  }
};

namespace {

// cpp-httplib queues each accepted connection from its accept loop: the socket is the one the
// accept() just before returned on that thread.
class WatchedWorkers : public HttpWorkers {
 public:
  WatchedWorkers(int max, std::function<void(int, const std::function<void()>&)> serve)
      : HttpWorkers(max), serve_(std::move(serve)) {}
  void enqueue(std::function<void()> fn) override {
    const int sock = std::exchange(tl_accepted, -1);
    HttpWorkers::enqueue([this, sock, fn = std::move(fn)] { serve_(sock, fn); });
  }

 private:
  std::function<void(int, const std::function<void()>&)> serve_;
};

}  // namespace

HttpServer::HttpServer(ReadDeadlines d, int max_threads) : watch_(std::make_unique<Watch>()) {
  watch_->d = d;
  raise_open_file_limit();
  new_task_queue = [w = watch_.get(), max_threads] {
    return new WatchedWorkers(max_threads, [w](int sock, const std::function<void()>& fn) { w->serve(sock, fn); });
  };
  httplib::Server::set_keep_alive_timeout(kKeepAliveS);
  // cpp-httplib calls this once the headers are in, before it reads the body.
  httplib::Server::set_pre_routing_handler([w = watch_.get()](const httplib::Request& req, httplib::Response& res) {
    // cpp-httplib decides whether to decompress when it reads the body, just after this: move the
    // encoding aside, and the handler wrapper decodes within the bound instead.
    if (req.has_header("Content-Encoding")) {
      auto& r = const_cast<httplib::Request&>(req);  // cpp-httplib's own, non-const request
      r.headers.emplace(kEncodingHeader, r.get_header_value("Content-Encoding"));
      r.headers.erase("Content-Encoding");
    }
    const std::string len = req.get_header_value("Content-Length");
    const double bytes = len.empty() ? 0 : std::strtod(len.c_str(), nullptr);
    if (bytes > 0 || req.get_header_value("Transfer-Encoding") == "chunked")
      w->set(Phase::kBody, after(w->d.body_s + std::min(bytes, 1e12) / w->d.body_bytes_per_s));
    else
      w->set(Phase::kHandling, {});
    return w->pre ? w->pre(req, res) : HandlerResponse::Unhandled;
  });
  // cpp-httplib calls this after the response's last byte: the next request's headers may start.
  httplib::Server::set_logger([w = watch_.get()](const httplib::Request& req, const httplib::Response& res) {
    w->set(Phase::kHeaders, after(std::max(w->d.header_s, kKeepAliveS + 1.0)));
    if (w->log) w->log(req, res);
  });
  watch_->thread = std::thread([w = watch_.get()] { w->run(); });
}

HttpServer::~HttpServer() {
  {
    std::lock_guard<std::mutex> lock(watch_->mu);
    watch_->stopping = true;
  }
  watch_->cv.notify_all();
  watch_->thread.join();
}

HttpServer& HttpServer::Get(const std::string& pattern, Handler h) {
  httplib::Server::Get(pattern, watch_->wrap(std::move(h)));
  return *this;
}
HttpServer& HttpServer::Post(const std::string& pattern, Handler h) {
  httplib::Server::Post(pattern, watch_->wrap(std::move(h)));
  return *this;
}
HttpServer& HttpServer::Delete(const std::string& pattern, Handler h) {
  httplib::Server::Delete(pattern, watch_->wrap(std::move(h)));
  return *this;
}
HttpServer& HttpServer::Options(const std::string& pattern, Handler h) {
  httplib::Server::Options(pattern, watch_->wrap(std::move(h)));
  return *this;
}
HttpServer& HttpServer::set_pre_routing_handler(HandlerWithResponse h) {
  watch_->pre = std::move(h);
  return *this;
}
HttpServer& HttpServer::set_payload_max_length(size_t bytes) {
  watch_->max_body = bytes;
  httplib::Server::set_payload_max_length(bytes);
  return *this;
}

HttpServer& HttpServer::set_logger(httplib::Logger l) {
  watch_->log = std::move(l);
  return *this;
}

uint64_t HttpServer::timed_out() const {
  std::lock_guard<std::mutex> lock(watch_->mu);
  return watch_->cut;
}

}  // namespace onprem::api
