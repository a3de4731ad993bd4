// The engine on a Vulkan device (EngineOptions::gpu): continuous batching across slots, and the
// prefix cache (a kept sequence extended, one restored from a DeltaNet snapshot copied on the
// device), each generating exactly the tokens of a standalone greedy run on the
// same device. The device's kernels give every (row, token) the same arithmetic whatever the
// chunking, so "exactly" holds here as it does on the CPU. Skips without a Vulkan device, unless
// ONPREM_REQUIRE_VULKAN=1 (CI, on lavapipe).
#include <cstdlib>

#include <gtest/gtest.h>

#include "engine/engine.h"
#include "model/forward_vulkan.h"

namespace onprem::engine {
namespace {

const std::string kModel = std::string(ONPREM_SHARED_DIR) + "/conformance/models/qwen35moe-tiny-Q4_K_M.gguf";

// Where the layers run: all on the device, or (--gpu-layers 2 --cpu-moe) the MoE FFNs of the first
// two layers on the CPU between device graphs and the last two layers (a DeltaNet layer, then the
// attention layer) with the head on the CPU, their state in the device sequence's host part.
struct Placement {
  int gpu_layers = -1;
  bool cpu_moe = false;
};

std::shared_ptr<model::VulkanEngine> gpu_or_skip(const model::Model& m, Placement p, std::string* why) {
  model::VulkanOptions vo;
  vo.max_tokens = 16;
  vo.max_ctx = 256;
  vo.gpu_layers = p.gpu_layers;
  vo.cpu_moe = p.cpu_moe;
  vo.threads = 2;
  auto g = model::make_vulkan_engine(m, vo);
  if (!g) {
    *why = g.error().to_string();
    return nullptr;
  }
  return *g;
}

bool required() {
  const char* v = std::getenv("ONPREM_REQUIRE_VULKAN");
  return v && std::string(v) == "1";
}

std::vector<int32_t> standalone(model::VulkanEngine& g, const model::Model& m, const std::vector<int32_t>& prompt,
                                int n) {
  auto seq = *model::make_vulkan_sequence(g, 256);
  std::vector<float> l(static_cast<size_t>(m.config.n_vocab));
  for (size_t i = 0; i < prompt.size(); i += 16) {
    const int64_t k = std::min<int64_t>(16, int64_t(prompt.size() - i));
    EXPECT_TRUE(model::forward_vulkan(g, seq, prompt.data() + i, k, l.data(), false).ok());
  }
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    const int32_t id = sample::argmax(l.data(), int64_t(l.size()));
    out.push_back(id);
    EXPECT_TRUE(model::forward_vulkan(g, seq, &id, 1, l.data(), false).ok());
  }
  return out;
}

// The tokens, and their log-probabilities in `logprobs` (when asked for).
std::vector<int32_t> drain(const std::shared_ptr<TokenStream>& s, Finish* f, std::vector<float>* logprobs = nullptr) {
  std::vector<int32_t> out;
  for (;;) {
    TokenStream::Batch b = s->take(-1);
    for (auto& t : b.tokens) {
      out.push_back(t.id);
      if (logprobs) logprobs->push_back(t.logprob);
    }
    if (b.finish) {
      *f = *b.finish;
      return out;
    }
  }
}

Request greedy(const std::vector<int32_t>& prompt, int64_t max_tokens, std::shared_ptr<TokenStream> s) {
  Request r;
  r.prompt = prompt;
  r.sampling.temperature = 0;
  r.max_tokens = max_tokens;
  r.loop_guard = false;
  r.stream = std::move(s);
  return r;
}

class EngineOnVulkan : public ::testing::TestWithParam<Placement> {};

TEST_P(EngineOnVulkan, BatchesAndPrefixCacheGenerateWhatAStandaloneRunDoes) {
  auto m = *model::load_model(kModel);
  std::string why;
  auto gpu = gpu_or_skip(m, GetParam(), &why);
  if (!gpu) {
    if (required()) FAIL() << "ONPREM_REQUIRE_VULKAN=1: " << why;
    GTEST_SKIP() << why;
  }
  // The standalone runs use a second engine (its own device queue and scratch): a VulkanEngine
  // serves one thread, and the engine's thread is using the first one meanwhile.
  auto ref = gpu_or_skip(m, GetParam(), &why);
  ASSERT_TRUE(ref) << why;
  EngineOptions o;
  o.parallel = 2, o.ctx_size = 256, o.ubatch = 16, o.threads = 2, o.snapshot_interval = 16, o.max_queue = 8;
  o.gpu = gpu;
  Engine e(m, o);
  ASSERT_TRUE(e.status().ok()) << e.status().error().to_string();
  // Three overlapping requests on two slots.
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 3; ++i) {
    std::vector<int32_t> p;
    for (int k = 0; k < 7 + 11 * i; ++k) p.push_back(int32_t((k * 31 + i * 7) % 480));
    prompts.push_back(p);
  }
  std::vector<std::shared_ptr<TokenStream>> streams;
  for (const auto& p : prompts) {
    streams.push_back(std::make_shared<TokenStream>());
    Request r = greedy(p, 8, streams.back());
    r.top_logprobs = 0;
    ASSERT_TRUE(e.submit(r).ok());
  }
  // The two slots' sequences share device passes (forward_vulkan_batch where every layer is on
  // the device): each must still get, bit for bit, the log-probabilities it gets alone.
  EngineOptions alone_o = o;
  alone_o.parallel = 1, alone_o.prefix_cache = false, alone_o.gpu = ref;
  for (size_t i = 0; i < prompts.size(); ++i) {
    Finish f;
    std::vector<float> lp, alone_lp;
    EXPECT_EQ(drain(streams[i], &f, &lp), standalone(*ref, m, prompts[i], 8)) << "request " << i;
    EXPECT_EQ(f.reason, FinishReason::kLength);
    Engine alone(m, alone_o);
    auto s = std::make_shared<TokenStream>();
    Request r = greedy(prompts[i], 8, s);
    r.top_logprobs = 0;
    ASSERT_TRUE(alone.submit(r).ok());
    drain(s, &f, &alone_lp);
    EXPECT_EQ(lp, alone_lp) << "request " << i << ": log-probabilities in a batch";
  }
  // The prefix cache: extend the kept sequence of a 40-token prompt, then diverge inside it.
  std::vector<int32_t> base;
  for (int k = 0; k < 40; ++k) base.push_back(int32_t((k * 13) % 470));
  // Greedy tokens can hide a small error in a restored state (this model's DeltaNet decays fast),
  // so each run's log-probabilities must also equal, bit for bit, those of the same prompt in a
  // fresh engine without a prefix cache.
  EngineOptions fresh_o = o;
  fresh_o.parallel = 1, fresh_o.prefix_cache = false, fresh_o.gpu = ref;
  auto with_logprobs = [](Engine& eng, const std::vector<int32_t>& prompt, std::vector<float>* lp) {
    auto s = std::make_shared<TokenStream>();
    Request r = greedy(prompt, 5, s);
    r.top_logprobs = 0;
    EXPECT_TRUE(eng.submit(r).ok());
    Finish f;
    return drain(s, &f, lp);
  };
  auto run = [&](const std::vector<int32_t>& prompt) {
    std::vector<float> lp, fresh_lp;
    const auto tokens = with_logprobs(e, prompt, &lp);
    Engine fresh(m, fresh_o);
    EXPECT_EQ(with_logprobs(fresh, prompt, &fresh_lp), tokens);
    EXPECT_EQ(lp, fresh_lp) << "log-probabilities after the prefix cache";
    return tokens;
  };
  EXPECT_EQ(run(base), standalone(*ref, m, base, 5));
  const auto s0 = e.stats();
  std::vector<int32_t> ext = base;
  const auto gen = standalone(*ref, m, base, 5);
  ext.insert(ext.end(), gen.begin(), gen.end() - 1);
  ext.push_back(7);
  EXPECT_EQ(run(ext), standalone(*ref, m, ext, 5));
  const auto s1 = e.stats();
  EXPECT_GT(s1.reused_prompt_tokens, s0.reused_prompt_tokens);
  std::vector<int32_t> div(base.begin(), base.begin() + 35);
  div.push_back(99), div.push_back(98);
  EXPECT_EQ(run(div), standalone(*ref, m, div, 5));
  EXPECT_GT(e.stats().reused_prompt_tokens, s1.reused_prompt_tokens);  // from a snapshot
  EXPECT_GT(e.stats().snapshot_bytes, 0u);
  // The snapshots are copies on the device (the split keeps its CPU layers' part on the host).
  EXPECT_GT(e.stats().snapshot_device_bytes, 0u);
  if (GetParam().gpu_layers < 0) {
    EXPECT_EQ(e.stats().snapshot_device_bytes, e.stats().snapshot_bytes);
  }
}

INSTANTIATE_TEST_SUITE_P(Placements, EngineOnVulkan, ::testing::Values(Placement{}, Placement{2, true}),
                         [](const auto& info) { return info.param.gpu_layers < 0 ? "AllOnDevice" : "Split"; });

}  // namespace
}  // namespace onprem::engine
