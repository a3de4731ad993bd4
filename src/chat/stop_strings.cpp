#include "chat/stop_strings.h"

#include <algorithm>

namespace onprem::chat {

StopStrings::StopStrings(std::vector<std::string> stops) {
  for (auto& s : stops)
    if (!s.empty()) stops_.push_back(std::move(s));
}

std::string StopStrings::push(std::string_view text) {
  if (stopped_) return {};
  held_.append(text);
  // The first stop string to be complete wins (a stream cannot wait for a longer one that might
  // start earlier); of those ending at the same place, the longest.
  size_t at = std::string::npos, end = std::string::npos;
  for (const auto& s : stops_)
    if (const size_t p = held_.find(s);
        p != std::string::npos && (p + s.size() < end || (p + s.size() == end && p < at)))
      at = p, end = p + s.size(), matched_ = s;
  if (at != std::string::npos) {
    stopped_ = true;
    std::string out = held_.substr(0, at);
    held_.clear();
    return out;
  }
  // Hold back the longest tail that begins some stop string. A stop string is whole UTF-8, so
  // the cut never splits a character.
  size_t keep = 0;
  for (const auto& s : stops_)
    for (size_t n = std::min(s.size() - 1, held_.size()); n > keep; --n)
      if (held_.compare(held_.size() - n, n, s, 0, n) == 0) {
        keep = n;
        break;
      }
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopStrings::flush() {
  std::string out;
  out.swap(held_);
  return stopped_ ? std::string() : out;
}

}  // namespace onprem::chat
