// The engine against the plain forward pass: with greedy sampling, every request's tokens equal a
// standalone generation of the same prompt, however requests overlap in the continuous batch.
#include <map>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "engine/engine.h"

namespace onprem::engine {
namespace {

const std::string kModel = std::string(ONPREM_SHARED_DIR) + "/conformance/models/qwen35moe-tiny-Q4_K_M.gguf";

std::vector<int32_t> standalone(const model::Model& m, const std::vector<int32_t>& prompt, int n) {
  auto st = model::make_state(m.config, 256);
  auto ws = model::make_workspace(m.config, int64_t(prompt.size()), 1);
  model::ForwardContext ctx;
  std::vector<float> l(static_cast<size_t>(m.config.n_vocab));
  EXPECT_TRUE(model::forward(m, st, ws, prompt.data(), int64_t(prompt.size()), l.data(), false, ctx).ok());
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    const int32_t id = sample::argmax(l.data(), int64_t(l.size()));
    out.push_back(id);
    EXPECT_TRUE(model::forward(m, st, ws, &id, 1, l.data(), false, ctx).ok());
  }
  return out;
}

// One request's output, drained from its stream on the test's thread.
struct Collected {
  std::shared_ptr<TokenStream> stream = std::make_shared<TokenStream>();
  std::vector<int32_t> tokens;
  std::vector<TokenEvent> events;
  std::optional<Finish> finished;
  // Takes what arrived (waiting for something); true once the finish came.
  bool take() {
    TokenStream::Batch b = stream->take(-1);
    for (auto& t : b.tokens) tokens.push_back(t.id), events.push_back(t);
    if (b.finish) finished = b.finish;
    return finished.has_value();
  }
  Finish finish() {
    while (!finished) take();
    return *finished;
  }
};

Request greedy(const std::vector<int32_t>& prompt, int64_t max_tokens, Collected* c) {
  Request r;
  r.prompt = prompt;
  r.sampling.temperature = 0;
  r.max_tokens = max_tokens;
  r.loop_guard = false;
  r.stream = c->stream;
  return r;
}

TEST(Engine, ContinuousBatchingEqualsStandaloneGeneration) {
  auto m = *model::load_model(kModel);
  EngineOptions o;
  o.parallel = 3, o.ctx_size = 256, o.ubatch = 16, o.threads = 2, o.max_queue = 16;
  Engine e(m, o);
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 8; ++i) {
    std::vector<int32_t> p;
    for (int k = 0; k < 5 + 9 * i; ++k) p.push_back(int32_t((k * 31 + i * 7) % 480));
    prompts.push_back(p);
  }
  std::vector<std::unique_ptr<Collected>> cs;
  for (size_t i = 0; i < prompts.size(); ++i) {
    cs.push_back(std::make_unique<Collected>());
    ASSERT_TRUE(e.submit(greedy(prompts[i], 12 + int64_t(i), cs.back().get())).ok());
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    const Finish f = cs[i]->finish();
    EXPECT_EQ(f.reason, FinishReason::kLength);
    EXPECT_EQ(f.completion_tokens, 12 + int64_t(i));
    EXPECT_EQ(cs[i]->tokens, standalone(m, prompts[i], 12 + int(i))) << "request " << i;
  }
  const auto st = e.stats();
  EXPECT_EQ(st.requests, prompts.size());
  EXPECT_EQ(st.queued, 0u);
}

TEST(Engine, CancelQueueLimitsAndStops) {
  auto m = *model::load_model(kModel);
  EngineOptions o;
  o.parallel = 1, o.ctx_size = 128, o.ubatch = 8, o.threads = 1, o.max_queue = 1;
  Engine e(m, o);
  Collected a, b;
  const uint64_t ida = *e.submit(greedy({1, 2, 3}, 100, &a));
  a.take();                                           // a token came: a holds the only slot now
  ASSERT_TRUE(e.submit(greedy({4, 5}, 3, &b)).ok());  // waits in the queue
  Collected c;
  auto rejected = e.submit(greedy({6}, 3, &c));  // queue (1) full and the only slot busy
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().code, core::ErrorCode::kResourceExhausted);
  e.cancel(ida);
  EXPECT_EQ(a.finish().reason, FinishReason::kCancelled);
  EXPECT_EQ(b.finish().completion_tokens, 3);  // the freed slot serves the next
  // A prompt longer than the context is refused up front.
  Collected d;
  EXPECT_FALSE(e.submit(greedy(std::vector<int32_t>(200, 1), 3, &d)).ok());
  // A stop id ends generation with "stop" and is not reported.
  Collected s;
  auto stop = greedy({1, 2, 3}, 50, &s);
  stop.stop_ids = {standalone(m, {1, 2, 3}, 3)[2]};
  ASSERT_TRUE(e.submit(stop).ok());
  const Finish f = s.finish();
  EXPECT_EQ(f.reason, FinishReason::kStop);
  EXPECT_EQ(s.tokens.size(), 2u);
}

}  // namespace
}  // namespace onprem::engine

namespace onprem::engine {
namespace {

// The prefix cache: a follow-up that extends a kept sequence, and one that diverges inside it
// (restored from a DeltaNet snapshot), both generate exactly what a fresh sequence would.
TEST(Engine, PrefixCacheReusesAndStaysExact) {
  auto m = *model::load_model(kModel);
  EngineOptions o;
  o.parallel = 1, o.ctx_size = 256, o.ubatch = 32, o.threads = 2, o.snapshot_interval = 16;
  Engine e(m, o);
  std::vector<int32_t> base;
  for (int k = 0; k < 50; ++k) base.push_back(int32_t((k * 13) % 470));
  auto run = [&](const std::vector<int32_t>& prompt) {
    Collected c;
    auto r = greedy(prompt, 6, &c);
    r.snapshot_at = {int64_t(prompt.size()) - 3};
    EXPECT_TRUE(e.submit(r).ok());
    c.finish();
    return c.tokens;
  };
  EXPECT_EQ(run(base), standalone(m, base, 6));
  const auto s0 = e.stats();
  // Extends the kept sequence (prompt + the 5 evaluated generated tokens).
  std::vector<int32_t> ext = base;
  const auto gen = standalone(m, base, 6);
  ext.insert(ext.end(), gen.begin(), gen.end() - 1);
  ext.push_back(7);
  EXPECT_EQ(run(ext), standalone(m, ext, 6));
  const auto s1 = e.stats();
  EXPECT_EQ(s1.reused_prompt_tokens - s0.reused_prompt_tokens, base.size() + 5);
  // Diverges at position 40: restored from the snapshot at 32 (interval 16).
  std::vector<int32_t> div(base.begin(), base.begin() + 40);
  div.push_back(99), div.push_back(98);
  EXPECT_EQ(run(div), standalone(m, div, 6));
  EXPECT_EQ(e.stats().reused_prompt_tokens - s1.reused_prompt_tokens, 32u);
}

// Time slicing on one slot: a request that waits takes the slot of a long generation, which
// waits in turn and resumes by re-prefilling what it had, then finishes with exactly the tokens
// it would have made alone.
TEST(Engine, PreemptionPausesALongGenerationAndResumesItExactly) {
  auto m = *model::load_model(kModel);
  EngineOptions o;
  o.parallel = 1, o.ctx_size = 256, o.ubatch = 32, o.threads = 2, o.preempt_after_s = 0.005;
  Engine e(m, o);
  std::vector<int32_t> pa, pb;
  for (int k = 0; k < 20; ++k) pa.push_back(int32_t((k * 37 + 3) % 470)), pb.push_back(int32_t((k * 11 + 5) % 470));
  Collected a, b;
  ASSERT_TRUE(e.submit(greedy(pa, 200, &a)).ok());
  a.take();  // a holds the slot and is generating
  ASSERT_TRUE(e.submit(greedy(pb, 5, &b)).ok());
  const Finish fb = b.finish();
  EXPECT_FALSE(a.finished);  // b was served while a waited
  EXPECT_EQ(fb.completion_tokens, 5);
  EXPECT_EQ(b.tokens, standalone(m, pb, 5));
  const Finish fa = a.finish();
  EXPECT_EQ(fa.reason, FinishReason::kLength);
  EXPECT_EQ(fa.completion_tokens, 200);
  EXPECT_EQ(fa.prompt_tokens, 20);  // its own prompt, not the re-prefill
  EXPECT_EQ(a.tokens, standalone(m, pa, 200));
  EXPECT_GE(e.stats().preemptions, 1u);
}

// Two conversations taking turns on two slots: each keeps its own slot (an idle or the least
// recently used one is taken for a new prefix), so every follow-up reuses its whole history.
TEST(Engine, PrefixCacheKeepsConversationsThatTakeTurns) {
  auto m = *model::load_model(kModel);
  EngineOptions o;
  o.parallel = 2, o.ctx_size = 256, o.ubatch = 32, o.threads = 2;
  Engine e(m, o);
  auto run = [&](const std::vector<int32_t>& prompt) {
    Collected c;
    EXPECT_TRUE(e.submit(greedy(prompt, 4, &c)).ok());
    c.finish();
    return c.tokens;
  };
  std::vector<int32_t> a, b;
  for (int k = 0; k < 40; ++k) a.push_back(int32_t((k * 13) % 470)), b.push_back(int32_t((k * 29 + 7) % 470));
  for (int turn = 0; turn < 3; ++turn)
    for (auto* conv : {&a, &b}) {
      const auto before = e.stats().reused_prompt_tokens;
      const auto gen = run(*conv);
      const auto reused = e.stats().reused_prompt_tokens - before;
      // The first turn is new; each later one finds its whole history: the previous prompt and the
      // generated tokens that were evaluated (all but the last).
      if (turn > 0) {
        EXPECT_EQ(reused, conv->size() - 3) << "turn " << turn;
      }
      conv->insert(conv->end(), gen.begin(), gen.end());
      conv->push_back(1), conv->push_back(2);
    }
}

}  // namespace
}  // namespace onprem::engine

namespace onprem::engine {
namespace {

// YaRN only for a sequence that needs it: prompt + max_tokens past the native context (4096 for
// the conformance model); the same prompt under 4096 is plain RoPE; past 4 x 4096 is refused.
TEST(Engine, YarnOnlyWhereNeeded) {
  auto m = *model::load_model(kModel);
  EngineOptions o;
  o.parallel = 1, o.ctx_size = 8192, o.ubatch = 64, o.threads = 2;
  Engine e(m, o);
  std::vector<int32_t> prompt;
  for (int k = 0; k < 40; ++k) prompt.push_back(int32_t((k * 17) % 470));
  auto first = [&](int64_t max_tokens) {
    Collected c;
    auto r = greedy(prompt, max_tokens, &c);
    r.top_logprobs = 0;
    auto id = e.submit(r);
    EXPECT_TRUE(id.ok());
    while (c.tokens.empty() && !c.take()) {
    }
    e.cancel(*id);  // one token is enough
    c.finish();
    return std::make_pair(c.tokens.at(0), c.events.at(0).logprob);
  };
  const auto plain = first(10);
  EXPECT_EQ(plain.first, standalone(m, prompt, 1)[0]);
  const auto yarn = first(6000);  // 40 + 6000 > 4096: YaRN x4 for this sequence
  EXPECT_NE(plain.second, yarn.second);
  EXPECT_EQ(first(10).second, plain.second);  // and back to plain RoPE, not a stale cache
  Collected big;
  EXPECT_FALSE(e.submit(greedy(prompt, 4 * 4096, &big)).ok());
}

}  // namespace
}  // namespace onprem::engine
