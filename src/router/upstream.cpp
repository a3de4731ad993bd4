#include "router/upstream.h"

#include <httplib.h>

#include <thread>

namespace onprem::router {

struct UpstreamCall::Impl {
  mutable std::mutex mu;
  std::condition_variable cv;
  int status = 0;
  std::string content_type, error;
  bool headers_seen = false, done = false, cancelled = false;
  std::deque<std::string> chunks;
  size_t queued = 0, received = 0;
  std::unique_ptr<httplib::Client> client;  // kept to stop() it from another thread
};

namespace {
constexpr size_t kMaxQueued = 4 << 20;  // bytes held for a slow client before the upstream read waits
}

std::shared_ptr<UpstreamCall> UpstreamCall::start(UpstreamRequest r) {
  std::shared_ptr<UpstreamCall> c(new UpstreamCall());
  c->impl_ = std::make_shared<Impl>();
  c->impl_->client = std::make_unique<httplib::Client>(r.base_url);
  auto impl = c->impl_;
  // The thread owns a reference to the shared state only, so it may outlive the call object.
  std::thread([impl, r = std::move(r)]() mutable {
    httplib::Client& cli = *impl->client;
    const auto to_tv = [](double s, time_t* sec, time_t* usec) {
      *sec = time_t(s);
      *usec = time_t((s - double(*sec)) * 1e6);
    };
    time_t s, us;
    to_tv(r.connect_timeout_s, &s, &us);
    cli.set_connection_timeout(s, us);
    to_tv(r.read_timeout_s, &s, &us);
    cli.set_read_timeout(s, us);
    cli.set_write_timeout(30, 0);
    cli.set_tcp_nodelay(true);
    if (!r.ca_file.empty()) cli.set_ca_cert_path(r.ca_file.c_str());
    httplib::Request req;
    req.method = "POST";
    req.path = r.path;
    req.body = std::move(r.body);
    for (auto& h : r.headers) req.headers.emplace(h.first, h.second);
    req.headers.emplace("Content-Type", "application/json");
    req.response_handler = [impl](const httplib::Response& res) {
      std::lock_guard<std::mutex> lock(impl->mu);
      impl->status = res.status;
      impl->content_type = res.get_header_value("Content-Type");
      impl->headers_seen = true;
      impl->cv.notify_all();
      return !impl->cancelled;
    };
    req.content_receiver = [impl](const char* data, size_t n, uint64_t, uint64_t) {
      std::unique_lock<std::mutex> lock(impl->mu);
      impl->cv.wait(lock, [&] { return impl->cancelled || impl->queued < kMaxQueued; });
      if (impl->cancelled) return false;
      impl->chunks.emplace_back(data, n);
      impl->queued += n, impl->received += n;
      impl->cv.notify_all();
      return true;
    };
    httplib::Response res;
    httplib::Error err = httplib::Error::Success;
    const bool ok = cli.send(req, res, err);
    std::lock_guard<std::mutex> lock(impl->mu);
    if (!ok) {
      impl->error = httplib::to_string(err);
      if (!impl->headers_seen) impl->status = 0;
    }
    impl->done = true;
    impl->cv.notify_all();
  }).detach();
  return c;
}

UpstreamCall::~UpstreamCall() { cancel(); }

UpstreamCall::Wait UpstreamCall::wait_first(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  const bool ready =
      impl_->cv.wait_for(lock, timeout, [&] { return impl_->done || (impl_->headers_seen && !impl_->chunks.empty()); });
  if (!ready) return Wait::kTimeout;
  return impl_->chunks.empty() ? Wait::kDone : Wait::kData;
}

bool UpstreamCall::take(std::vector<std::string>* out, std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait_for(lock, wait, [&] { return impl_->done || !impl_->chunks.empty(); });
  while (!impl_->chunks.empty()) {
    impl_->queued -= impl_->chunks.front().size();
    out->push_back(std::move(impl_->chunks.front()));
    impl_->chunks.pop_front();
  }
  impl_->cv.notify_all();
  return !(impl_->done && impl_->chunks.empty() && out->empty());
}

void UpstreamCall::cancel() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->done || impl_->cancelled) return;
    impl_->cancelled = true;
    impl_->cv.notify_all();
  }
  impl_->client->stop();  // unblocks a read waiting on the socket
}

int UpstreamCall::status() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->status;
}
std::string UpstreamCall::content_type() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->content_type;
}
std::string UpstreamCall::error() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->error;
}
bool UpstreamCall::done() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->done;
}
size_t UpstreamCall::bytes_received() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->received;
}

}  // namespace onprem::router
