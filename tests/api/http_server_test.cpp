// The read deadlines of api::HttpServer, over real sockets: what is cut (headers or a body sent
// too slowly) and what is not (a slow handler, a slow but timely body, a keep-alive pause).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "api/http_server.h"

namespace onprem::api {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Running {
  HttpServer http;
  int port = 0;
  std::thread thread;
  explicit Running(ReadDeadlines d) : http(d, 16) {
    http.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(std::to_string(req.body.size()), "text/plain");
    });
    http.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(2500ms);
      res.set_content("done", "text/plain");
    });
    http.Get("/ok", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
    port = http.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { http.listen_after_bind(); });
    while (!http.is_running()) std::this_thread::sleep_for(5ms);
  }
  ~Running() {
    http.stop();
    thread.join();
  }
};

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  timeval tv{10, 0};  // no test waits longer for a byte
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

void send_str(int fd, const std::string& s) {
  EXPECT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), ssize_t(s.size()));
}

// Everything until the server closes (or 10 s pass without a byte).
std::string read_to_close(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, size_t(n));
  return out;
}

// Sends `text` a byte per `gap` until done or the server closes; returns the server's bytes and
// how long it took to close.
std::pair<std::string, double> trickle(int fd, const std::string& text, std::chrono::milliseconds gap) {
  const auto t0 = Clock::now();
  std::thread writer([&] {
    for (char ch : text) {
      if (::send(fd, &ch, 1, MSG_NOSIGNAL) != 1) return;
      std::this_thread::sleep_for(gap);
    }
  });
  std::string got = read_to_close(fd);
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  ::shutdown(fd, SHUT_RDWR);  // the writer's next send fails
  writer.join();
  ::close(fd);
  return {got, s};
}

TEST(HttpServer, HeadersSentTooSlowlyAre408) {
  Running srv({.header_s = 1, .body_s = 30});
  // A byte every 200 ms: each read is quick, so only a deadline on the whole stops it.
  auto [got, s] =
      trickle(connect_to(srv.port), "GET /ok HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(200, 'a'), 200ms);
  EXPECT_EQ(got.rfind("HTTP/1.1 408", 0), 0u) << got;
  EXPECT_NE(got.find("request_timeout"), std::string::npos);
  EXPECT_GE(s, 0.9);
  EXPECT_LT(s, 5.0);  // well before the 40 s the trickle would take
  EXPECT_EQ(srv.http.timed_out(), 1u);
}

TEST(HttpServer, BodySentTooSlowlyIs408) {
  Running srv({.header_s = 30, .body_s = 1});
  const int fd = connect_to(srv.port);
  send_str(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n");
  auto [got, s] = trickle(fd, std::string(200, 'b'), 200ms);
  EXPECT_EQ(got.rfind("HTTP/1.1 408", 0), 0u) << got;
  EXPECT_GE(s, 0.9);
  EXPECT_LT(s, 5.0);
  EXPECT_EQ(srv.http.timed_out(), 1u);
}

TEST(HttpServer, BodySlowerThanTheHeaderDeadlineButWithinItsOwnIsServed) {
  // The body deadline starts when the headers are in (cpp-httplib's pre-routing call comes before
  // it reads the body); had the header deadline still run, this would be cut at 1 s.
  Running srv({.header_s = 1, .body_s = 4});
  const int fd = connect_to(srv.port);
  send_str(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n");
  auto [got, s] = trickle(fd, std::string(10, 'c'), 200ms);  // 2 s
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;
  EXPECT_EQ(got.substr(got.size() - 2), "10");
  EXPECT_GE(s, 1.5);
  EXPECT_EQ(srv.http.timed_out(), 0u);
}

TEST(HttpServer, HandlersRunPastTheDeadlines) {
  Running srv({.header_s = 1, .body_s = 1});
  const int fd = connect_to(srv.port);
  send_str(fd, "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string got = read_to_close(fd);
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;
  EXPECT_EQ(got.substr(got.size() - 4), "done");
  EXPECT_EQ(srv.http.timed_out(), 0u);
}

TEST(HttpServer, KeepAlivePauseShorterThanTheIdleTimeIsNotCut) {
  // Later requests on a connection have at least the keep-alive idle time (5 s) plus one.
  Running srv({.header_s = 1, .body_s = 1});
  const int fd = connect_to(srv.port);
  send_str(fd, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
  // The whole first response (headers and body may come in separate segments): it ends in "ok".
  std::string first;
  char buf[512];
  for (ssize_t n; first.size() < 2 || first.compare(first.size() - 2, 2, "ok") != 0;) {
    ASSERT_GT(n = ::recv(fd, buf, sizeof buf, 0), 0) << first;
    first.append(buf, size_t(n));
  }
  EXPECT_EQ(first.rfind("HTTP/1.1 200", 0), 0u);
  std::this_thread::sleep_for(1500ms);
  send_str(fd, "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string got = read_to_close(fd);
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;
  EXPECT_EQ(srv.http.timed_out(), 0u);
}

std::string gzip(const std::string& s) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, uLong(s.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  z.avail_in = uInt(s.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string post(int port, const std::string& encoding, const std::string& body) {
  const int fd = connect_to(port);
  send_str(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Encoding: " + encoding +
                   "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  std::string got = read_to_close(fd);
  ::close(fd);
  return got;
}

TEST(HttpServer, CompressedBodiesAreDecodedWithinTheBodyLimit) {
  Running srv({});
  srv.http.set_payload_max_length(1 << 20);
  const std::string body(1000, 'a');
  std::string z(ZSTD_compressBound(body.size()), '\0');
  z.resize(ZSTD_compress(z.data(), z.size(), body.data(), body.size(), 3));
  std::string got = post(srv.port, "zstd", z);
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;
  EXPECT_EQ(got.substr(got.size() - 4), "1000");  // the handler saw the decoded body
  got = post(srv.port, "gzip", gzip(body));
  EXPECT_EQ(got.substr(got.size() - 4), "1000");
  // 64 MiB of zeros in a 64 KB gzip: refused at the 1 MiB limit, not inflated whole.
  const std::string bomb = gzip(std::string(64 << 20, '\0'));
  ASSERT_LT(bomb.size(), size_t(1) << 20);
  got = post(srv.port, "gzip", bomb);
  EXPECT_EQ(got.rfind("HTTP/1.1 413", 0), 0u) << got.substr(0, 200);
  got = post(srv.port, "zstd", "not zstd at all");
  EXPECT_EQ(got.rfind("HTTP/1.1 400", 0), 0u) << got.substr(0, 200);
  got = post(srv.port, "compress", "x");
  EXPECT_EQ(got.rfind("HTTP/1.1 415", 0), 0u) << got.substr(0, 200);
}

}  // namespace
}  // namespace onprem::api
