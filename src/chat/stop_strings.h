// Stop strings on streamed answer text, as the OpenAI and Anthropic APIs define them: the answer
// ends before the stop string and never contains it, even when it arrives split across tokens.
// Text that could still be the start of a stop string is held back until it is known. The first
// stop string to be complete ends the answer (of two ending at once, the longer), so the result
// does not depend on how the text was split.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace onprem::chat {

class StopStrings {
 public:
  explicit StopStrings(std::vector<std::string> stops);
  // The part of the answer so far that is safe to release. Once a stop string matched, matched()
  // names it and every later push releases nothing.
  std::string push(std::string_view text);
  // The end of the answer with no match: what was held back.
  std::string flush();
  bool stopped() const { return stopped_; }
  const std::string& matched() const { return matched_; }

 private:
  std::vector<std::string> stops_;  // the non-empty ones
  std::string held_;
  bool stopped_ = false;
  std::string matched_;
};

}  // namespace onprem::chat
