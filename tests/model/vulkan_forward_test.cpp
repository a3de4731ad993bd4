// The forward pass on a Vulkan device against llama.cpp's logits (shared/conformance), at the CPU
// conformance test's tolerances: F32 files within 1e-3 with every argmax equal and the 32-step
// greedy continuation identical; quantised files mean KL <= 2e-3 and the same top token wherever
// llama.cpp's leads by half a logit. Every file also against the CPU's float-activation forward.
// Whole prompts in one call (prefill) and token by token (decode). CI runs it on Mesa's lavapipe;
// ONPREM_REQUIRE_VULKAN=1 turns a missing device into a failure instead of a skip.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "backend/vulkan/device.h"
#include "model/forward.h"
#include "model/forward_vulkan.h"
#include "model/repack.h"
#include "support/logit_rows.h"

namespace onprem::model {
namespace {

namespace fs = std::filesystem;
using testing_support::argmax;
using testing_support::kl;
using testing_support::read_f32;
const fs::path kConf = fs::path(ONPREM_SHARED_DIR) / "conformance";

// A test name from a file name ("qwen35-tiny-F32" -> "qwen35_tiny_F32"): gtest allows no '-'.
std::string test_name(std::string s) {
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

// The reference's lead of its top token over the second.
double margin(const float* x, int64_t n) {
  float a = -INFINITY, b = -INFINITY;
  for (int64_t i = 0; i < n; ++i)
    if (x[i] > a)
      b = a, a = x[i];
    else if (x[i] > b)
      b = x[i];
  return double(a) - double(b);
}

bool have_device() {
  if (!vulkan::list_devices().devices.empty()) return true;
  const char* v = std::getenv("ONPREM_REQUIRE_VULKAN");
  return !(v && std::string(v) == "1");  // false: required and missing
}

// Where the layers run: all on the device, or split with the CPU (--gpu-layers, --cpu-moe); and
// the device's KV cache type (F32 unless a test asks: the CPU's, so the two compare to rounding).
struct Placement {
  int gpu_layers = -1;
  bool cpu_moe = false;
  core::GgmlType kv = core::GgmlType::kF32;
  DeltaNetPrefill prefill = DeltaNetPrefill::kSequential;
  bool all_on_device() const { return gpu_layers < 0 && !cpu_moe; }
};

void conformance(const std::string& name, Placement place) {
  if (vulkan::list_devices().devices.empty()) {
    if (!have_device()) FAIL() << "ONPREM_REQUIRE_VULKAN=1 and no Vulkan device";
    GTEST_SKIP() << "no Vulkan device";
  }
  if (!fs::exists(kConf / "models" / (name + ".gguf"))) GTEST_SKIP();
  // F32 weights with a float cache (F32, or F16: 11 bits of mantissa move these logits by 6e-4)
  // are held to 1e-3; a Q8_0 cache, like quantised weights, to llama.cpp's distribution.
  const bool f32 = name.find("F32") != std::string::npos && place.kv != core::GgmlType::kQ8_0;
  auto m = load_model((kConf / "models" / (name + ".gguf")).string());
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  const int64_t V = m->config.n_vocab;
  VulkanOptions o;
  o.max_tokens = 640;
  o.max_ctx = 704;
  o.gpu_layers = place.gpu_layers;
  o.cpu_moe = place.cpu_moe;
  o.kv_type = place.kv;
  o.prefill = place.prefill;
  o.threads = 2;
  // Attention in chunks of 100 tokens (the 600-token prompt takes six), as a long context would.
  o.attention_score_bytes = uint64_t(100) * m->config.n_head * 704 * 4;
  auto engine = make_vulkan_engine(*m, o);
  ASSERT_TRUE(engine.ok()) << engine.error().to_string();
  VulkanEngine& e = **engine;
  // The 600-token prompt (long attention, many DeltaNet steps) on the F32 files; the quantised
  // files differ only in the matmul shaders, which the short prompt covers (lavapipe is slow).
  for (const char* prompt : {"p64", "p600"}) {
    if ((!f32 || !place.all_on_device()) && std::string(prompt) == "p600") continue;
    std::ifstream side(kConf / "golden" / (name + "." + prompt + ".json"));
    const auto j = nlohmann::json::parse(side);
    const auto ids = j["tokens"].get<std::vector<int32_t>>();
    const auto gold = read_f32(kConf / "golden" / (name + "." + prompt + ".logits.f32"));
    const int64_t n = int64_t(ids.size());
    // Prefill: the whole prompt in one call. Decode: token by token (the short prompt only; the
    // long one's 600 single-token graphs take minutes on a CPU driver).
    for (const bool incremental : {false, true}) {
      if (incremental && n > 64) continue;
      auto seq = make_vulkan_sequence(e, n + 40);
      ASSERT_TRUE(seq.ok()) << seq.error().to_string();
      std::vector<float> ours(size_t(n * V));
      const int64_t step = incremental ? 1 : n;
      for (int64_t i = 0; i < n; i += step) {
        auto r = forward_vulkan(e, *seq, ids.data() + i, step, ours.data() + i * V, true);
        ASSERT_TRUE(r.ok()) << r.error().to_string();
      }
      // The same math on the CPU: float activations (llama.cpp's CPU path, and ours by default,
      // round activations to 8 bits for quantised weights; GPU backends do not).
      std::vector<float> cpu(size_t(n * V));
      {
        auto st = make_state(m->config, n);
        auto ws = make_workspace(m->config, n, 1);
        ForwardContext ctx;
        ctx.options.activations = kernels::Activations::kFloat;
        ASSERT_TRUE(forward(*m, st, ws, ids.data(), n, cpu.data(), true, ctx).ok());
      }
      double max_abs = 0, cpu_abs = 0, kl_sum = 0;
      int64_t same = 0, clear = 0, clear_same = 0, cpu_same = 0;
      for (int64_t t = 0; t < n; ++t) {
        const float *o = ours.data() + t * V, *r = gold.data() + t * V, *f = cpu.data() + t * V;
        for (int64_t i = 0; i < V; ++i) {
          max_abs = std::max(max_abs, double(std::fabs(o[i] - r[i])));
          cpu_abs = std::max(cpu_abs, double(std::fabs(o[i] - f[i])));
        }
        const bool agree = argmax(o, V) == argmax(r, V);
        same += agree;
        cpu_same += argmax(o, V) == argmax(f, V);
        if (margin(r, V) >= 0.5) ++clear, clear_same += agree;
        kl_sum += kl(r, o, V);
      }
      const char* mode = incremental ? "decode" : "prefill";
      std::printf(
          "%-22s %2d%s KV %s %-4s %-7s vs llama.cpp: max|d| %.3g  argmax %lld/%lld  KL %.3g; vs CPU float: max|d| "
          "%.3g\n",
          name.c_str(), place.gpu_layers, place.cpu_moe ? " cpu-moe" : "", core::ggml_type_name(place.kv).c_str(),
          prompt, mode, max_abs, (long long)same, (long long)n, kl_sum / double(n), cpu_abs);
      // Against the CPU's float-activation forward pass: the same logits to float rounding (split
      // with the CPU, a quantised file's CPU layers round activations to 8 bits, as llama.cpp's).
      if (place.kv == core::GgmlType::kF32 && (f32 || place.all_on_device())) {
        EXPECT_LE(cpu_abs, 1e-3) << prompt << " " << mode;
        EXPECT_EQ(cpu_same, n) << prompt << " " << mode;
      }
      if (f32) {
        EXPECT_LE(max_abs, 1e-3) << prompt << " " << mode;
        EXPECT_EQ(same, n) << prompt << " " << mode;
      } else {
        // Against llama.cpp's int8-activation logits: its distribution, and its top token wherever
        // that token leads by half a logit (activation rounding moves near-ties only: the largest
        // margin flipped on these files is 0.12).
        EXPECT_LE(kl_sum / double(n), 2e-3) << prompt << " " << mode;
        EXPECT_EQ(clear_same, clear) << prompt << " " << mode;
      }
      if (incremental) continue;
      // Greedy continuation after the prefill: one token per call, as a server decodes.
      const auto want = j["gen"]["ids"].get<std::vector<int32_t>>();
      const auto margins = j["gen"]["top1_margin"].get<std::vector<double>>();
      std::vector<float> last(ours.end() - V, ours.end());
      std::vector<int32_t> gen;
      for (size_t k = 0; k < want.size() && k < 32; ++k) {
        const int32_t id = int32_t(argmax(last.data(), V));
        gen.push_back(id);
        auto r = forward_vulkan(e, *seq, &id, 1, last.data(), false);
        ASSERT_TRUE(r.ok()) << r.error().to_string();
      }
      size_t agree = 0;
      while (agree < gen.size() && gen[agree] == want[agree]) ++agree;
      size_t must = gen.size();  // quantised: up to the first step whose golden margin is < 0.5
      if (!f32) {
        must = 0;
        while (must < margins.size() && must < gen.size() && margins[must] >= 0.5) ++must;
      }
      EXPECT_GE(agree, must) << prompt << ": greedy continuation";
    }
  }
}

class VulkanConformance : public ::testing::TestWithParam<std::string> {};

TEST_P(VulkanConformance, MatchesLlamaCpp) { conformance(GetParam(), {}); }

INSTANTIATE_TEST_SUITE_P(PublicSet, VulkanConformance,
                         ::testing::Values("qwen35-tiny-F32", "qwen35moe-tiny-F32", "qwen35-tiny-Q8_0",
                                           "qwen35moe-tiny-Q8_0", "qwen35-tiny-Q6_K", "qwen35moe-tiny-Q6_K",
                                           "qwen35-tiny-Q4_K_M", "qwen35moe-tiny-Q4_K_M"),
                         [](const auto& info) { return test_name(info.param); });

// Files written by llama.cpp's own tools in the published low-bit types (Q2_K, Q3_K_M's Q3_K,
// IQ4_NL, IQ4_XS, MXFP4, and the lattice types IQ3_S, IQ3_XXS, IQ2_S, IQ2_XS, IQ2_XXS, IQ1_S,
// IQ1_M, dense and MoE between them): the first 128 tokens of the 600-token prompt in one call
// (these shaders are slow on a CPU driver; a position's logits depend only on the tokens before
// it, so the golden rows stand), at the CPU's bar for these files (conformance_test's RealFiles):
// no further from the file's F32 model than llama.cpp is (KL <= 1.25 x llama.cpp's + 1e-4), and
// its top token on 85 % of the positions.
class VulkanRealFiles : public ::testing::TestWithParam<std::string> {};

TEST_P(VulkanRealFiles, AsCloseToTheF32ModelAsLlamaCpp) {
  if (vulkan::list_devices().devices.empty()) {
    if (!have_device()) FAIL() << "ONPREM_REQUIRE_VULKAN=1 and no Vulkan device";
    GTEST_SKIP() << "no Vulkan device";
  }
  const std::string name = GetParam();
  const fs::path real = kConf / "realfiles";
  if (!fs::exists(real / "models" / (name + ".gguf"))) GTEST_SKIP() << "no " << name << " in " << real;
  auto m = load_model((real / "models" / (name + ".gguf")).string());
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  std::ifstream side(real / "golden" / (name + ".p600.json"));
  auto ids = nlohmann::json::parse(side)["tokens"].get<std::vector<int32_t>>();
  ids.resize(std::min<size_t>(ids.size(), 128));
  const auto gold = read_f32(real / "golden" / (name + ".p600.logits.f32"));
  const std::string family = name.substr(0, name.find("-tiny") + 5);
  const auto f32_gold = read_f32(kConf / "golden" / (family + "-F32.p600.logits.f32"));
  const int64_t V = m->config.n_vocab, n = int64_t(ids.size());
  VulkanOptions o;
  o.max_tokens = n;
  o.max_ctx = n;
  auto engine = make_vulkan_engine(*m, o);
  ASSERT_TRUE(engine.ok()) << engine.error().to_string();
  auto seq = make_vulkan_sequence(**engine, n);
  ASSERT_TRUE(seq.ok()) << seq.error().to_string();
  std::vector<float> ours(size_t(n * V));
  ASSERT_TRUE(forward_vulkan(**engine, *seq, ids.data(), n, ours.data(), true).ok());
  double kl_ours = 0, kl_ref = 0;
  int64_t same = 0;
  for (int64_t t = 0; t < n; ++t) {
    kl_ours += kl(f32_gold.data() + t * V, ours.data() + t * V, V);
    kl_ref += kl(f32_gold.data() + t * V, gold.data() + t * V, V);
    same += argmax(ours.data() + t * V, V) == argmax(gold.data() + t * V, V);
  }
  kl_ours /= double(n), kl_ref /= double(n);
  std::printf("%-30s top-1 vs llama.cpp %.4f  KL vs the F32 model: ours %.4g, llama.cpp %.4g\n", name.c_str(),
              double(same) / double(n), kl_ours, kl_ref);
  EXPECT_LE(kl_ours, 1.25 * kl_ref + 1e-4);
  EXPECT_GE(double(same) / double(n), 0.85);
}

INSTANTIATE_TEST_SUITE_P(HubFiles, VulkanRealFiles,
                         ::testing::Values("qwen35-tiny-Q2_K", "qwen35-tiny-Q3_K_M", "qwen35-tiny-IQ4_XS",
                                           "qwen35moe-tiny-IQ4_NL", "qwen35moe-tiny-MXFP4_MOE", "qwen35-tiny-IQ3_S",
                                           "qwen35-tiny-IQ2_XXS", "qwen35moe-tiny-IQ3_XXS", "qwen35moe-tiny-IQ2_S",
                                           "qwen35moe-tiny-IQ2_XS", "qwen35moe-tiny-IQ1_S", "qwen35moe-tiny-IQ1_M"),
                         [](const auto& info) { return test_name(info.param); });

// Partial offload at the same tolerances: the first layers on the device and the rest with the
// head on the CPU, the MoE FFNs on the CPU between device graphs, both, and nothing on the device.
// The tiny files have four layers: three DeltaNet, then attention.
class VulkanOffload : public ::testing::TestWithParam<std::tuple<std::string, int, bool>> {};

TEST_P(VulkanOffload, MatchesLlamaCpp) {
  conformance(std::get<0>(GetParam()), Placement{std::get<1>(GetParam()), std::get<2>(GetParam())});
}

INSTANTIATE_TEST_SUITE_P(
    Placements, VulkanOffload,
    ::testing::Values(std::tuple{"qwen35-tiny-F32", 2, false}, std::tuple{"qwen35moe-tiny-F32", -1, true},
                      std::tuple{"qwen35moe-tiny-Q4_K_M", 1, true}, std::tuple{"qwen35-tiny-Q8_0", 3, false},
                      std::tuple{"qwen35-tiny-Q6_K", 0, false}),
    [](const auto& info) {
      const int g = std::get<1>(info.param);
      return test_name(std::get<0>(info.param) + "_gpu_layers_" + (g < 0 ? std::string("all") : std::to_string(g)) +
                       (std::get<2>(info.param) ? "_cpu_moe" : ""));
    });

// A prompt's delta rule in chunks of 64 (model.md §7.3) on the device: the 600-token prompt
// crosses nine chunk boundaries in one call; decode keeps the recurrent step.
class VulkanChunkedPrefill : public ::testing::TestWithParam<std::string> {};

TEST_P(VulkanChunkedPrefill, MatchesLlamaCpp) {
  conformance(GetParam(), Placement{-1, false, core::GgmlType::kF32, DeltaNetPrefill::kChunked});
}

INSTANTIATE_TEST_SUITE_P(Files, VulkanChunkedPrefill, ::testing::Values("qwen35-tiny-F32", "qwen35moe-tiny-Q4_K_M"),
                         [](const auto& info) { return test_name(info.param); });

// The device's KV cache in F16 (the default of the CLI, llama.cpp's, the planner's) and Q8_0.
class VulkanKvCache : public ::testing::TestWithParam<std::tuple<std::string, core::GgmlType>> {};

TEST_P(VulkanKvCache, MatchesLlamaCpp) {
  conformance(std::get<0>(GetParam()), Placement{-1, false, std::get<1>(GetParam())});
}

INSTANTIATE_TEST_SUITE_P(Types, VulkanKvCache,
                         ::testing::Values(std::tuple{"qwen35-tiny-F32", core::GgmlType::kF16},
                                           std::tuple{"qwen35moe-tiny-F32", core::GgmlType::kQ8_0},
                                           std::tuple{"qwen35moe-tiny-Q4_K_M", core::GgmlType::kF16},
                                           std::tuple{"qwen35-tiny-Q6_K", core::GgmlType::kQ8_0}),
                         [](const auto& info) {
                           return test_name(std::get<0>(info.param) + "_kv_" +
                                            core::ggml_type_name(std::get<1>(info.param)));
                         });

// Continuous batching on the device: several sequences in one call give each the very logits
// it gets alone (each row's arithmetic is the same whatever else is in the call): three prompts
// of different lengths in one call, then decode steps with all three, then with two of them.
TEST(VulkanForward, ABatchOfSequencesGivesEachItsOwnLogits) {
  if (vulkan::list_devices().devices.empty()) {
    if (!have_device()) FAIL() << "ONPREM_REQUIRE_VULKAN=1 and no Vulkan device";
    GTEST_SKIP() << "no Vulkan device";
  }
  auto m = load_model((kConf / "models" / "qwen35moe-tiny-Q4_K_M.gguf").string());
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  const int64_t V = m->config.n_vocab;
  VulkanOptions o;
  o.max_tokens = 32;
  o.max_ctx = 64;
  auto engine = make_vulkan_engine(*m, o);
  ASSERT_TRUE(engine.ok()) << engine.error().to_string();
  VulkanEngine& e = **engine;
  ASSERT_TRUE(vulkan_batches(e));
  const std::vector<std::vector<int32_t>> prompts = {{5, 17, 300, 2, 41}, {9, 8, 7, 6, 5, 4, 3, 2, 1}, {100, 200, 50}};
  std::vector<VulkanSequence> together, alone;
  for (size_t i = 0; i < prompts.size(); ++i)
    together.push_back(*make_vulkan_sequence(e, 64)), alone.push_back(*make_vulkan_sequence(e, 64));
  // Prompts: all logits of the middle one, the last row of the others.
  std::vector<std::vector<float>> got(3), want(3);
  std::vector<VulkanBatchEntry> batch;
  for (size_t i = 0; i < 3; ++i) {
    const bool all = i == 1;
    const int64_t n = int64_t(prompts[i].size());
    got[i].resize(size_t((all ? n : 1) * V)), want[i].resize(got[i].size());
    batch.push_back({&together[i], prompts[i].data(), n, got[i].data(), all});
    ASSERT_TRUE(forward_vulkan(e, alone[i], prompts[i].data(), n, want[i].data(), all).ok());
  }
  ASSERT_TRUE(forward_vulkan_batch(e, batch).ok());
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(got[i], want[i]) << "prompt " << i;
  // Decode: three steps with all three, then two with the first and the last.
  for (int step = 0; step < 5; ++step) {
    batch.clear();
    const std::vector<size_t> who = step < 3 ? std::vector<size_t>{0, 1, 2} : std::vector<size_t>{2, 0};
    std::vector<int32_t> ids(3);
    for (size_t i : who) {
      ids[i] = int32_t(argmax(want[i].data() + want[i].size() - size_t(V), V));
      got[i].assign(size_t(V), 0), want[i].assign(size_t(V), 0);
      batch.push_back({&together[i], &ids[i], 1, got[i].data(), false});
      ASSERT_TRUE(forward_vulkan(e, alone[i], &ids[i], 1, want[i].data(), false).ok());
    }
    ASSERT_TRUE(forward_vulkan_batch(e, batch).ok());
    for (size_t i : who) EXPECT_EQ(got[i], want[i]) << "step " << step << " sequence " << i;
  }
  // Refused before anything runs: a sequence twice, more rows than the engine takes.
  std::vector<float> l(static_cast<size_t>(V));
  std::vector<VulkanBatchEntry> twice = {{&together[0], prompts[0].data(), 1, l.data(), false},
                                         {&together[0], prompts[0].data(), 1, l.data(), false}};
  EXPECT_FALSE(forward_vulkan_batch(e, twice).ok());
  const std::vector<int32_t> many(20, 3);
  std::vector<VulkanBatchEntry> big = {{&together[1], many.data(), 20, l.data(), false},
                                       {&together[2], many.data(), 20, l.data(), false}};
  EXPECT_FALSE(forward_vulkan_batch(e, big).ok());
  EXPECT_EQ(together[1].n_past, int64_t(prompts[1].size()) + 3);
}

TEST(VulkanForward, RefusesWhatItCannotRun) {
  if (vulkan::list_devices().devices.empty()) {
    if (!have_device()) FAIL() << "ONPREM_REQUIRE_VULKAN=1 and no Vulkan device";
    GTEST_SKIP() << "no Vulkan device";
  }
  auto m = load_model((kConf / "models" / "qwen35-tiny-Q8_0.gguf").string());
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  VulkanOptions o;
  o.max_tokens = 8;
  o.max_ctx = 16;
  auto engine = make_vulkan_engine(*m, o);
  ASSERT_TRUE(engine.ok()) << engine.error().to_string();
  EXPECT_FALSE(make_vulkan_sequence(**engine, 17).ok());
  auto seq = make_vulkan_sequence(**engine, 10);
  ASSERT_TRUE(seq.ok());
  std::vector<float> logits(size_t(m->config.n_vocab) * 16);
  const int32_t bad = int32_t(m->config.n_vocab);
  auto r = forward_vulkan(**engine, *seq, &bad, 1, logits.data(), false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("outside the vocabulary"), std::string::npos) << r.error().message;
  const std::vector<int32_t> many(9, 1);
  EXPECT_FALSE(forward_vulkan(**engine, *seq, many.data(), 9, logits.data(), true).ok());  // > max_tokens
  const std::vector<int32_t> eight(8, 1);
  ASSERT_TRUE(forward_vulkan(**engine, *seq, eight.data(), 8, logits.data(), true).ok());
  r = forward_vulkan(**engine, *seq, eight.data(), 3, logits.data(), true);  // 8 + 3 > n_ctx 10
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("context full"), std::string::npos) << r.error().message;
  EXPECT_EQ(seq->n_past, 8);
  // A bad device index is an error naming it.
  o.device = 99;
  auto none = make_vulkan_engine(*m, o);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("no Vulkan device 99"), std::string::npos) << none.error().message;
}

}  // namespace
}  // namespace onprem::model
