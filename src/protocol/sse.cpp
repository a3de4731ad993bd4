#include "protocol/sse.h"

namespace onprem::protocol {

size_t SseSplitter::find_event_end(size_t from) const {
  for (size_t i = from; i < buf_.size(); ++i) {
    if (buf_[i] != '\n') continue;
    // A blank line: "\n\n" or "\n\r\n".
    if (i + 1 < buf_.size() && buf_[i + 1] == '\n') return i + 2;
    if (i + 2 < buf_.size() && buf_[i + 1] == '\r' && buf_[i + 2] == '\n') return i + 3;
  }
  return std::string::npos;
}

SseEvent SseSplitter::parse(std::string_view raw) {
  SseEvent e;
  e.raw = std::string(raw);
  bool has_data = false;
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t nl = raw.find('\n', pos);
    if (nl == std::string_view::npos) nl = raw.size();
    std::string_view line = raw.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == ':') continue;  // blank or comment
    const size_t colon = line.find(':');
    std::string_view field = line.substr(0, colon), value;
    if (colon != std::string_view::npos) {
      value = line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    }
    if (field == "event")
      e.name = std::string(value);
    else if (field == "data") {
      if (has_data) e.data += '\n';
      e.data += value;
      has_data = true;
    }
  }
  return e;
}

}  // namespace onprem::protocol
