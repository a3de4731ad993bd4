// Incremental server-sent-events splitter: bytes in as they arrive from upstream, whole events
// out (name, joined data lines, and the raw text so a pass-through forwards it byte for byte).
#pragma once

#include <string>
#include <string_view>

namespace onprem::protocol {

struct SseEvent {
  std::string name;  // "event:" line, "" if none
  std::string data;  // "data:" lines joined by '\n'
  std::string raw;   // the event as received, with its blank-line terminator
};

class SseSplitter {
 public:
  // Calls on_event(const SseEvent&) for every complete event in the bytes seen so far.
  template <typename F>
  void feed(std::string_view bytes, F&& on_event) {
    buf_.append(bytes.data(), bytes.size());
    size_t start = 0;
    for (;;) {
      const size_t end = find_event_end(start);
      if (end == std::string::npos) break;
      SseEvent e = parse(std::string_view(buf_).substr(start, end - start));
      start = end;
      if (!e.raw.empty()) on_event(e);
    }
    buf_.erase(0, start);
  }
  size_t pending() const { return buf_.size(); }

 private:
  size_t find_event_end(size_t from) const;  // index just past "\n\n" (or "\r\n\r\n"), npos if none yet
  static SseEvent parse(std::string_view raw);
  std::string buf_;
};

}  // namespace onprem::protocol
