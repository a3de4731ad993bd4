// The engine's per-request output queue: every token arrives once and in order, the finish once
// and after the last token, however the producer's pushes and the consumer's takes interleave.
#include <thread>

#include <gtest/gtest.h>

#include "engine/token_stream.h"

namespace onprem::engine {
namespace {

TEST(TokenStream, EveryTokenOnceInOrderThenTheFinish) {
  for (int timeout_ms : {-1, 0, 1}) {
    auto s = std::make_shared<TokenStream>();
    constexpr int kTokens = 20000;
    std::thread producer([&] {
      for (int i = 0; i < kTokens; ++i) {
        TokenEvent e;
        e.id = i;
        s->push(e);
        if (i % 1000 == 0) std::this_thread::yield();
      }
      Finish f;
      f.completion_tokens = kTokens;
      s->close(f);
    });
    int next = 0, finishes = 0;
    while (finishes == 0) {
      TokenStream::Batch b = s->take(timeout_ms);
      for (const auto& t : b.tokens) ASSERT_EQ(t.id, next++);
      if (b.finish) {
        ++finishes;
        EXPECT_EQ(next, kTokens);  // nothing after the finish
        EXPECT_EQ(b.finish->completion_tokens, kTokens);
      }
    }
    producer.join();
    const TokenStream::Batch after = s->take(0);  // the finish is delivered once
    EXPECT_TRUE(after.tokens.empty());
    EXPECT_FALSE(after.finish);
  }
}

TEST(TokenStream, ATimedTakeReturnsEmptyWhenNothingCame) {
  TokenStream s;
  const TokenStream::Batch b = s.take(5);
  EXPECT_TRUE(b.tokens.empty());
  EXPECT_FALSE(b.finish);
}

}  // namespace
}  // namespace onprem::engine
