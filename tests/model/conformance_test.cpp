// The forward pass against llama.cpp's logits (shared/conformance): both architectures, F32 and
// the three quantised types, prompts of 64 and 600 tokens, batched / incremental / chunked
// prefill, and the 32-step greedy continuations. Tolerances from the issue and the conformance
// README (how far llama.cpp moves from itself).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/forward.h"
#include "model/repack.h"
#include "support/logit_rows.h"

namespace onprem::model {
namespace {

namespace fs = std::filesystem;
using testing_support::argmax;
using testing_support::kl;
using testing_support::read_f32;
const fs::path kConf = fs::path(ONPREM_SHARED_DIR) / "conformance";

struct Stats {
  double max_abs = 0, kl_sum = 0;
  int64_t rows = 0, argmax_same = 0;
  double kl_mean() const { return rows ? kl_sum / double(rows) : 0; }
  double argmax_rate() const { return rows ? double(argmax_same) / double(rows) : 0; }
};

void accumulate(Stats& s, const float* ours, const float* ref, int64_t rows, int64_t V) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < V; ++i)
      s.max_abs = std::max(s.max_abs, double(std::fabs(ours[r * V + i] - ref[r * V + i])));
    s.argmax_same += argmax(ours + r * V, V) == argmax(ref + r * V, V);
    s.kl_sum += kl(ref + r * V, ours + r * V, V);
    ++s.rows;
  }
}

enum class Mode { kBatch, kIncremental, kChunked };

std::vector<float> run(const Model& m, const std::vector<int32_t>& ids, Mode mode, core::ThreadPool& pool) {
  const int64_t n = int64_t(ids.size()), V = m.config.n_vocab;
  const int64_t step = mode == Mode::kIncremental ? 1 : n;
  auto st = make_state(m.config, n + 64);
  auto ws = make_workspace(m.config, step, pool.size());
  ForwardContext ctx;
  ctx.pool = &pool;
  ctx.options.prefill = mode == Mode::kChunked ? DeltaNetPrefill::kChunked : DeltaNetPrefill::kSequential;
  std::vector<float> logits(static_cast<size_t>(n * V));
  for (int64_t i = 0; i < n; i += step) {
    auto r = forward(m, st, ws, ids.data() + i, std::min(step, n - i), logits.data() + i * V, true, ctx);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
  }
  return logits;
}

// Greedy continuation from the prompt: the ids and the logits of each step.
std::vector<int32_t> greedy(const Model& m, const std::vector<int32_t>& prompt, int steps, core::ThreadPool& pool,
                            std::vector<float>* step_logits) {
  const int64_t V = m.config.n_vocab, n = int64_t(prompt.size());
  auto st = make_state(m.config, n + steps + 1);
  auto ws = make_workspace(m.config, n, pool.size());
  ForwardContext ctx;
  ctx.pool = &pool;
  std::vector<float> last(static_cast<size_t>(V));
  EXPECT_TRUE(forward(m, st, ws, prompt.data(), n, last.data(), false, ctx).ok());
  std::vector<int32_t> out;
  for (int s = 0; s < steps; ++s) {
    step_logits->insert(step_logits->end(), last.begin(), last.end());
    const int32_t id = int32_t(argmax(last.data(), V));  // lowest id on ties, like the goldens
    out.push_back(id);
    EXPECT_TRUE(forward(m, st, ws, &id, 1, last.data(), false, ctx).ok());
  }
  return out;
}

class Conformance : public ::testing::TestWithParam<std::string> {};

TEST_P(Conformance, MatchesLlamaCpp) {
  const std::string name = GetParam();
  if (!fs::exists(kConf / "models" / (name + ".gguf"))) GTEST_SKIP();
  const bool f32 = name.find("F32") != std::string::npos;
  const std::string family = name.substr(0, name.rfind('-'));
  auto m = load_model((kConf / "models" / (name + ".gguf")).string());
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  const int64_t V = m->config.n_vocab;
  core::ThreadPool pool(2);
  Stats per_mode[3];
  double kl_ours_vs_f32 = 0, kl_ref_vs_f32 = 0;
  for (const char* prompt : {"p64", "p600"}) {
    std::ifstream side(kConf / "golden" / (name + "." + prompt + ".json"));
    const auto j = nlohmann::json::parse(side);
    const auto ids = j["tokens"].get<std::vector<int32_t>>();
    const auto gold = read_f32(kConf / "golden" / (name + "." + prompt + ".logits.f32"));
    const auto f32_gold = read_f32(kConf / "golden" / (family + "-F32." + prompt + ".logits.f32"));
    for (Mode mode : {Mode::kBatch, Mode::kIncremental, Mode::kChunked}) {
      const auto ours = run(*m, ids, mode, pool);
      accumulate(per_mode[int(mode)], ours.data(), gold.data(), int64_t(ids.size()), V);
      if (mode == Mode::kBatch)
        for (size_t r = 0; r < ids.size(); ++r) {
          kl_ours_vs_f32 += kl(f32_gold.data() + r * V, ours.data() + r * V, V);
          kl_ref_vs_f32 += kl(f32_gold.data() + r * V, gold.data() + r * V, V);
        }
    }
    // Greedy continuation.
    std::vector<float> step_logits;
    const auto gen = greedy(*m, ids, 32, pool, &step_logits);
    const auto want = j["gen"]["ids"].get<std::vector<int32_t>>();
    const auto margins = j["gen"]["top1_margin"].get<std::vector<double>>();
    size_t agree = 0;
    while (agree < want.size() && gen[agree] == want[agree]) ++agree;
    if (f32) {
      EXPECT_EQ(gen, want) << name << " " << prompt;
    } else {
      size_t must = 0;  // up to the first step whose golden margin is < 0.5
      while (must < margins.size() && margins[must] >= 0.5) ++must;
      EXPECT_GE(agree, must) << name << " " << prompt;
    }
    std::printf("%s %s: greedy agrees for %zu of 32 steps\n", name.c_str(), prompt, agree);
  }
  const char* names[] = {"batch", "incremental", "chunked"};
  for (int i = 0; i < 3; ++i) {
    const Stats& s = per_mode[i];
    std::printf("%-22s %-11s max|d| %.3g  argmax %.4f  KL %.3g\n", name.c_str(), names[i], s.max_abs, s.argmax_rate(),
                s.kl_mean());
    if (f32) {
      EXPECT_LE(s.max_abs, 1e-3) << names[i];
      EXPECT_EQ(s.argmax_same, s.rows) << names[i];
    } else {
      EXPECT_LE(s.kl_mean(), 2e-3) << names[i];
      EXPECT_GE(s.argmax_rate(), 0.97) << names[i];
    }
  }
  if (!f32) {
    // Quality at least the reference's: closer to the F32 model than 1.25x llama.cpp + 1e-4.
    const double rows = double(per_mode[0].rows);
    std::printf("%s KL vs F32 model: ours %.4g, llama.cpp %.4g\n", name.c_str(), kl_ours_vs_f32 / rows,
                kl_ref_vs_f32 / rows);
    EXPECT_LE(kl_ours_vs_f32 / rows, 1.25 * kl_ref_vs_f32 / rows + 1e-4);
  }
}

INSTANTIATE_TEST_SUITE_P(PublicSet, Conformance,
                         ::testing::Values("qwen35-tiny-F32", "qwen35moe-tiny-F32", "qwen35-tiny-Q8_0",
                                           "qwen35moe-tiny-Q8_0", "qwen35-tiny-Q6_K", "qwen35moe-tiny-Q6_K",
                                           "qwen35-tiny-Q4_K_M", "qwen35moe-tiny-Q4_K_M"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (auto& ch : s)
                             if (ch == '-') ch = '_';
                           return s;
                         });

// The hub's kinds of file, as llama.cpp's own tools wrote them (shared/conformance/realfiles): every
// quantisation type llama-quantize makes for these shapes (with an importance matrix), a split
// model, the converter's {n_embd, 1} gate. Tolerances from its README: KL(F32 model ‖ ours) ≤ 1.25 ×
// KL(F32 model ‖ llama.cpp) + 1e-4 and top-1 agreement with llama.cpp ≥ 85 %, batched and token by
// token; F16 / BF16 files closer (below). Types this build cannot decode skip, naming the type.
const fs::path kReal = kConf / "realfiles";

std::vector<std::string> realfile_names() {
  std::vector<std::string> out;
  if (!fs::exists(kReal / "golden")) return {"none"};
  for (const auto& e : fs::directory_iterator(kReal / "golden")) {
    const std::string f = e.path().filename().string();
    const std::string tail = ".p600.json";
    if (f.size() > tail.size() && f.compare(f.size() - tail.size(), tail.size(), tail) == 0)
      out.push_back(f.substr(0, f.size() - tail.size()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

class RealFiles : public ::testing::TestWithParam<std::string> {};

TEST_P(RealFiles, MatchesLlamaCpp) {
  const std::string name = GetParam();
  if (name == "none") GTEST_SKIP() << "no realfiles set in " << kReal;
  const bool split = name.size() > 6 && name.compare(name.size() - 6, 6, "-split") == 0;
  const fs::path file = kReal / "models" / (split ? name + "-00001-of-00004.gguf" : name + ".gguf");
  auto m = load_model(file.string());
  if (!m && m.error().code == core::ErrorCode::kUnsupported) GTEST_SKIP() << m.error().to_string();
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  const bool f32_class = name.ends_with("-F16") || name.ends_with("-BF16");
  const std::string family = name.substr(0, name.find("-tiny") + 5);
  std::ifstream side(kReal / "golden" / (name + ".p600.json"));
  const auto j = nlohmann::json::parse(side);
  const auto ids = j["tokens"].get<std::vector<int32_t>>();
  const auto gold = read_f32(kReal / "golden" / (name + ".p600.logits.f32"));
  const auto f32_gold = read_f32(kConf / "golden" / (family + "-F32.p600.logits.f32"));
  const int64_t V = m->config.n_vocab, rows = int64_t(ids.size());
  ASSERT_EQ(gold.size(), size_t(rows * V));
  core::ThreadPool pool(2);
  for (Mode mode : {Mode::kBatch, Mode::kIncremental}) {
    const char* mode_name = mode == Mode::kBatch ? "batch" : "incremental";
    const auto ours = run(*m, ids, mode, pool);
    Stats s;
    accumulate(s, ours.data(), gold.data(), rows, V);
    double kl_ours = 0, kl_ref = 0;
    for (int64_t r = 0; r < rows; ++r) {
      kl_ours += kl(f32_gold.data() + r * V, ours.data() + r * V, V);
      kl_ref += kl(f32_gold.data() + r * V, gold.data() + r * V, V);
    }
    kl_ours /= double(rows);
    kl_ref /= double(rows);
    std::printf("%-34s %-11s max|d| %.3g  top-1 vs llama.cpp %.4f  KL vs F32 model: ours %.4g, llama.cpp %.4g\n",
                name.c_str(), mode_name, s.max_abs, s.argmax_rate(), kl_ours, kl_ref);
    EXPECT_LE(kl_ours, 1.25 * kl_ref + 1e-4) << mode_name;
    // F16 / BF16 files are held closer than the quantised ones, but not to the F32 models' 1e-3:
    // rounding an activation to 16 bits is discontinuous, so a difference of 1e-6 upstream (sums
    // in another order) can flip a rounding and move the value by a 16-bit step. llama.cpp itself
    // is no closer to itself: its batched and token-by-token logits of the same file differ by
    // self_consistency.batched_vs_token_by_token (0.0062 / 0.0068 F16, 0.038 BF16). Ours must be
    // as close to its batched logits as its two modes are to each other, within half again.
    EXPECT_GE(s.argmax_rate(), f32_class ? 0.99 : 0.85) << mode_name;
    if (f32_class) {
      const double own_spread = j["self_consistency"]["batched_vs_token_by_token"]["max_abs"].get<double>();
      EXPECT_LE(s.max_abs, 1.5 * own_spread)
          << mode_name << ": llama.cpp's own batched-vs-token spread is " << own_spread;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(HubFiles, RealFiles, ::testing::ValuesIn(realfile_names()), [](const auto& info) {
  std::string s = info.param;
  for (auto& ch : s)
    if (ch == '-') ch = '_';
  return s;
});

// Weights repacked at load for the engine's table (model/repack.h) give the same logits, bit for
// bit, as the file's layout: batched and token by token, on the public set and the hub's files
// (their types repacked or not). Somewhere in the set a tensor must be repacked when the table
// repacks any type, so the test cannot pass by repacking nothing.
TEST(Repack, SameLogitsAsTheFileLayout) {
  const kernels::Kernels& k = kernels::best_kernels();
  std::vector<fs::path> files;
  for (const char* n : {"qwen35-tiny-Q4_K_M", "qwen35moe-tiny-Q4_K_M", "qwen35-tiny-Q6_K", "qwen35moe-tiny-Q6_K"})
    files.push_back(kConf / "models" / (std::string(n) + ".gguf"));
  for (const std::string& name : realfile_names())
    if (name != "none" && !name.ends_with("-split")) files.push_back(kReal / "models" / (name + ".gguf"));
  int64_t repacked = 0;
  core::ThreadPool pool(2);
  for (const fs::path& file : files) {
    auto plain = load_model(file.string());
    if (!plain && plain.error().code == core::ErrorCode::kUnsupported) continue;
    ASSERT_TRUE(plain.ok()) << plain.error().to_string();
    auto packed = load_model(file.string());
    ASSERT_TRUE(packed.ok());
    const RepackStats st = repack_weights(*packed, k, 2);
    repacked += st.tensors;
    if (!st.tensors) continue;
    std::vector<int32_t> ids;
    for (int i = 0; i < 24; ++i) ids.push_back(int32_t((i * 7919 + 13) % plain->config.n_vocab));
    for (Mode mode : {Mode::kBatch, Mode::kIncremental})
      EXPECT_EQ(run(*packed, ids, mode, pool), run(*plain, ids, mode, pool))
          << file.filename() << (mode == Mode::kBatch ? " batched" : " token by token");
    // Another table, or float activations, on the repacked weights: a clear error, not wrong logits.
    auto st2 = make_state(packed->config, 8);
    auto ws = make_workspace(packed->config, 1, 1);
    ForwardContext ctx;
    ctx.options.activations = kernels::Activations::kFloat;
    std::vector<float> logits(size_t(packed->config.n_vocab));
    const auto r = forward(*packed, st2, ws, ids.data(), 1, logits.data(), false, ctx);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("repacked"), std::string::npos) << r.error().to_string();
  }
  std::printf("%lld tensors repacked across %zu files\n", (long long)repacked, files.size());
  bool table_repacks = false;
  for (const auto& tk : k.types) table_repacks = table_repacks || tk.packed_rows;
  if (table_repacks)
    EXPECT_GT(repacked, 0) << "no file of the set had a tensor repacked";
  else
    GTEST_SKIP() << kernels::isa_name(k.isa) << " keeps every type in the file's layout";
}

}  // namespace
}  // namespace onprem::model
