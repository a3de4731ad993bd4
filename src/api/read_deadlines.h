// How long a client may take to send a request. cpp-httplib bounds each read (5 s) but not the
// whole: a client sending a byte every 4 s would hold a worker thread forever.
#pragma once

namespace onprem::api {

struct ReadDeadlines {
  // From the connection's start to the end of its first request's headers. Later requests on a
  // keep-alive connection count from the previous response, never less than the keep-alive idle
  // time plus a second (an idle connection is closed quietly first, see http_server.cpp).
  double header_s = 10;
  // From the end of the headers to the end of the body, plus a second per body_bytes_per_s of the
  // declared Content-Length (a large upload on a slow link is not cut).
  double body_s = 30;
  double body_bytes_per_s = 64 * 1024;
};

}  // namespace onprem::api
