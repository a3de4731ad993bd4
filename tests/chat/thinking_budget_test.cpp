#include <gtest/gtest.h>

#include "chat/output_parser.h"
#include "chat/thinking_budget.h"
#include "gguf/file.h"

namespace onprem::chat {
namespace {

text::Tokenizer tokenizer() {
  auto f = gguf::File::open(std::string(ONPREM_SHARED_DIR) + "/conformance/models/qwen35-tiny-F32.gguf");
  return *text::Tokenizer::create(*text::load_vocab(*f));
}

// A fake model that never closes its reasoning: the budget must close it after exactly N tokens,
// and the parser then sees reasoning of N tokens followed by the answer.
TEST(ThinkingBudget, ClosesTheReasoningAfterNTokens) {
  const auto tok = tokenizer();
  const int32_t word = tok.encode("a", false)[0];
  for (int64_t budget : {0, 1, 5, 17}) {
    ThinkingBudget b(tok, budget, true);
    std::vector<int32_t> out;
    for (int step = 0; step < 40; ++step) {
      auto forced = b.before_sampling();
      for (int32_t id : forced) out.push_back(id), b.accept(id);
      out.push_back(word);  // the "model" keeps writing
      b.accept(word);
    }
    EXPECT_TRUE(b.forced());
    EXPECT_FALSE(b.in_reasoning());
    const auto parsed = parse_output(tok.decode(out, true), Json::array(), ParserOptions{});
    EXPECT_EQ(int64_t(parsed.reasoning.size()), budget) << budget;  // one "a" per reasoning token
    EXPECT_TRUE(parsed.reasoning_closed);
    EXPECT_EQ(parsed.content, std::string(size_t(40 - budget), 'a'));
  }
}

TEST(ThinkingBudget, NeverForcesWhenTheModelClosesInTime) {
  const auto tok = tokenizer();
  ThinkingBudget b(tok, 10, true);
  const int32_t close = tok.vocab().find("</think>");
  for (int i = 0; i < 3; ++i) b.accept(5);
  b.accept(close);
  for (int i = 0; i < 30; ++i) {
    EXPECT_TRUE(b.before_sampling().empty());
    b.accept(5);
  }
  EXPECT_FALSE(b.forced());
  ThinkingBudget unlimited(tok, -1, true);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(unlimited.before_sampling().empty()), unlimited.accept(5);
}

}  // namespace
}  // namespace onprem::chat
