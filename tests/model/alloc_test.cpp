// A warm decode step allocates nothing: every heap allocation in this binary is counted (global
// operator new), and steps after the first few must not add any, for a dense and a MoE model, one
// and two threads, one sequence and a two-sequence batch. Its own binary, since it replaces new.
#include <atomic>
#include <cstdlib>
#include <new>

#include <gtest/gtest.h>

#include "support/temp_file.h"

#include "gguf/writer.h"
#include "model/forward.h"
#include "model/generate.h"
#include "text/vocab_data.h"

namespace {
std::atomic<long> g_allocs{0};
}  // namespace

// The replacements below pair malloc with free themselves; g++ cannot see that through inlining.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace onprem::model {
namespace {

class NoAllocation : public testing::TestWithParam<std::tuple<const char*, int>> {};

TEST_P(NoAllocation, WarmDecodeStepsAllocateNothing) {
  const auto [preset, threads] = GetParam();
  auto cfg = *preset_config(preset);
  cfg.n_layer = 4;
  assign_layer_kinds(&cfg);
  const testing_support::TempFile file("alloc_" + std::string(preset) + "_" + std::to_string(threads) + ".gguf");
  const std::string& path = file.path;
  auto vocab = *text::synthetic_vocab(cfg.n_vocab);
  core::ThreadPool pool(threads);
  ASSERT_TRUE(generate_model(
                  GenOptions{cfg, FileType::kQ8_0, 7, "alloc"},
                  [&](gguf::Writer& w) { text::write_vocab_keys(vocab, w); }, path, pool)
                  .ok());
  auto m = *load_model(path);
  const int64_t n_ctx = 64;
  auto s1 = make_state(m.config, n_ctx), s2 = make_state(m.config, n_ctx);
  auto ws = make_workspace(m.config, 16, threads);
  ForwardContext ctx;
  ctx.pool = &pool;
  std::vector<float> l1(m.config.n_vocab), l2(m.config.n_vocab);
  std::vector<int32_t> prompt(12);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = int32_t((i * 31 + 5) % m.config.n_vocab);
  ASSERT_TRUE(forward(m, s1, ws, prompt.data(), int64_t(prompt.size()), l1.data(), false, ctx).ok());
  ASSERT_TRUE(forward(m, s2, ws, prompt.data(), 5, l2.data(), false, ctx).ok());
  int32_t t1 = 3, t2 = 9;
  std::vector<BatchEntry> batch{BatchEntry{&s1, &t1, 1, l1.data(), false}, BatchEntry{&s2, &t2, 1, l2.data(), false}};
  auto step = [&] {
    ASSERT_TRUE(forward(m, s1, ws, &t1, 1, l1.data(), false, ctx).ok());
    ASSERT_TRUE(forward_batch(m, batch, ws, ctx).ok());
    t1 = (t1 * 7 + 1) % int32_t(m.config.n_vocab), t2 = (t2 * 5 + 2) % int32_t(m.config.n_vocab);
  };
  for (int i = 0; i < 3; ++i) step();  // warm: vectors reach their capacities
  const long before = g_allocs.load();
  for (int i = 0; i < 8; ++i) step();
  EXPECT_EQ(g_allocs.load() - before, 0) << preset << ", " << threads << " threads";
  // The counter counts: the first step of a fresh sequence state is seen.
  const long probe = g_allocs.load();
  auto s3 = make_state(m.config, n_ctx);
  EXPECT_GE(g_allocs.load() - probe, 1);
}

INSTANTIATE_TEST_SUITE_P(Presets, NoAllocation,
                         testing::Combine(testing::Values("tiny", "tiny-moe"), testing::Values(1, 2)));

}  // namespace
}  // namespace onprem::model
