// Stop strings against the whole-text rule, under every way of splitting the text: the answer is
// the text before the first stop string to be complete, and the stream never releases more.
#include <random>

#include <gtest/gtest.h>

#include "chat/stop_strings.h"

namespace onprem::chat {
namespace {

// The whole-text rule, written independently: of all first occurrences, the one that ends first
// (then the longer one); the answer is the text before it.
std::string expected(const std::string& text, const std::vector<std::string>& stops, std::string* which) {
  size_t best_end = std::string::npos, best_at = std::string::npos;
  which->clear();
  for (const auto& s : stops) {
    if (s.empty()) continue;
    const size_t p = text.find(s);
    if (p == std::string::npos) continue;
    const size_t e = p + s.size();
    if (e < best_end || (e == best_end && p < best_at)) best_end = e, best_at = p, *which = s;
  }
  return best_at == std::string::npos ? text : text.substr(0, best_at);
}

TEST(StopStrings, EverySplitGivesTheWholeTextAnswer) {
  std::mt19937 rng(7);
  const std::vector<std::vector<std::string>> sets = {{"abc"},        {"ab", "bca"}, {"cc", "abcab", ""},
                                                      {"bc", "abcd"}, {"a"},         {"dcb", "cbd", "bdc"}};
  for (const auto& stops : sets)
    for (int trial = 0; trial < 400; ++trial) {
      std::string text;
      const int len = int(rng() % 24);
      for (int i = 0; i < len; ++i) text += char('a' + rng() % 4);
      std::string which;
      const std::string want = expected(text, stops, &which);
      StopStrings st(stops);
      std::string got;
      size_t i = 0;
      while (i < text.size()) {
        const size_t n = 1 + rng() % 5;
        const std::string released = st.push(std::string_view(text).substr(i, n));
        got += released;
        // Never more than the answer, never a stop string in what was released.
        ASSERT_EQ(want.compare(0, got.size(), got), 0) << text;
        i += n;
      }
      got += st.flush();
      EXPECT_EQ(got, want) << "text " << text;
      EXPECT_EQ(st.stopped(), !which.empty()) << text;
      EXPECT_EQ(st.matched(), which) << text;
      if (st.stopped()) {
        EXPECT_TRUE(st.push("abcd").empty());  // nothing after the stop
      }
    }
}

TEST(StopStrings, MultibyteTextIsHeldOnlyWhereAStopStringCouldStart) {
  StopStrings st({"끝.", "END"});
  EXPECT_EQ(st.push("서울은 맑"), "서울은 맑");
  EXPECT_EQ(st.push("음 E"), "음 ");  // "E" could begin "END"
  EXPECT_EQ(st.push("XIT 끝"), "EXIT ");
  EXPECT_EQ(st.push("."), "");
  EXPECT_TRUE(st.stopped());
  EXPECT_EQ(st.matched(), "끝.");
  EXPECT_EQ(st.flush(), "");
}

}  // namespace
}  // namespace onprem::chat
