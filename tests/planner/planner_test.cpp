#include <cmath>
#include <cstdio>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "planner/hardware.h"
#include "planner/offload.h"
#include "planner/quality.h"
#include "planner/recommend.h"
#include "planner/tco.h"

namespace onprem::planner {
namespace {

using model::FileType;

// Hand-derived from model.md §3 for Qwen3.6-27B (main layers): the parameter count of the
// matrices that get quantised, and of the tensors that stay F32.
struct Counts {
  double matrix = 0, f32 = 0;
};
Counts count_27b() {
  const double N = 5120, V = 248320, L = 64, lin = 48, att = 16;
  const double Kd = 16 * 128, Vd = 48 * 128, C = 2 * Kd + Vd, Hv = 48, D = 256, F = 17408;
  Counts c;
  c.matrix = 2 * N * V;                                                // token_embd + output
  c.matrix += lin * (N * C + N * Vd + 2 * N * Hv + Vd * N);            // qkv, gate, beta+alpha, ssm_out
  c.matrix += att * (N * 2 * 24 * D + 2 * N * 4 * D + 24 * D * N);     // q+gate, k, v, output
  c.matrix += L * 3 * N * F;                                           // ffn gate, up, down
  c.f32 = N + L * 2 * N + lin * (4 * C + 2 * Hv + 128) + att * 2 * D;  // norms, conv, dt, a, ssm_norm, q/k norms
  return c;
}

TEST(Planner, WeightsMatchHandCountedParameters) {
  const Counts c = count_27b();
  auto bf16 = *builtin_model("qwen3.6-27b", FileType::kBF16);
  EXPECT_EQ(double(bf16.weights_bytes), 2 * c.matrix + 4 * c.f32);
  auto q8 = *builtin_model("qwen3.6-27b", FileType::kQ8_0);
  EXPECT_EQ(double(q8.weights_bytes), 34.0 / 32 * c.matrix + 4 * c.f32);
  EXPECT_NEAR(c.matrix + c.f32, 26.9e9, 0.5e9);  // "27B"
}

TEST(Planner, KvAndStateArithmetic) {
  auto m = *builtin_model("qwen3.6-27b", FileType::kQ4_K_M);
  MemoryOptions o;
  o.ctx = 262144, o.parallel = 2, o.kv_type = KvType::kF16;
  const MemoryPlan p = plan_memory(m, o);
  EXPECT_EQ(p.kv_bytes_per_token, 16u * 2 * 4 * 256 * 2);
  EXPECT_EQ(p.kv_cache_bytes, 65536ull * 262144 * 2);
  EXPECT_EQ(p.state_bytes, 156893184ull * 2);
  o.kv_type = KvType::kQ8_0;
  EXPECT_EQ(plan_memory(m, o).kv_bytes_per_token, 34816u);
  EXPECT_EQ(p.total_bytes(), p.weights_bytes + p.kv_cache_bytes + p.state_bytes + p.compute_bytes + p.overhead_bytes);
  // MoE decode reads 8 of 256 experts: far fewer bytes per token than the file holds.
  auto moe = *builtin_model("qwen3.6-35b-a3b", FileType::kQ4_K_M);
  EXPECT_LT(weight_bytes_per_token(moe), moe.weights_bytes / 5);
  EXPECT_GT(weight_bytes_per_token(moe), moe.weights_bytes - moe.expert_bytes - moe.embd_bytes);
}

// The white paper's ladder (chapter 4.2): ours within 10 % at a 4K context, one sequence.
TEST(Planner, ReproducesTheLadder) {
  struct Row {
    const char* model;
    FileType q;
    double gb;
  };
  const Row ladder[] = {{"qwen3.6-27b", FileType::kQ4_K_M, 18},     {"qwen3.6-27b", FileType::kQ6_K, 24},
                        {"qwen3.6-27b", FileType::kQ8_0, 30},       {"qwen3.6-27b", FileType::kBF16, 55},
                        {"qwen3.6-35b-a3b", FileType::kQ4_K_M, 23}, {"qwen3.6-35b-a3b", FileType::kQ8_0, 38},
                        {"qwen3.6-35b-a3b", FileType::kBF16, 70}};
  MemoryOptions o;
  o.ctx = 4096;
  for (const auto& r : ladder) {
    const double ours = double(plan_memory(*builtin_model(r.model, r.q), o).total_bytes()) / 1e9;
    EXPECT_NEAR(ours, r.gb, 0.1 * r.gb) << r.model << " " << model::file_type_name(r.q);
  }
}

TEST(Planner, HardwareFit) {
  auto m = *builtin_model("qwen3.6-27b", FileType::kQ4_K_M);
  MemoryOptions o;
  o.ctx = 32768;
  const Fit on4090 = fit(*find_device("RTX 4090"), m, o);
  EXPECT_TRUE(on4090.fits);
  EXPECT_LT(on4090.max_ctx, 262144u);  // 24 GB cannot hold the full native context
  const Fit on_h200 = fit(*find_device("h200"), m, o);
  EXPECT_EQ(on_h200.max_ctx, 262144u);
  // Decode estimate = efficiency x bandwidth / bytes per token.
  EXPECT_NEAR(on_h200.decode_tokens_per_s, 0.75 * 4800e9 / double(on_h200.plan.decode_bytes_per_token), 1e-6);
  EXPECT_FALSE(fit(*find_device("RTX 4090"), *builtin_model("qwen3.6-27b", FileType::kBF16), o).fits);
  const DeviceReport rep = device_report(*find_device("RTX 5090"), o);
  EXPECT_FALSE(rep.recommendation.empty());
  EXPECT_EQ(rep.fits.size(), 12u);
}

// Partial offload, from the plan's own terms. 35B-A3B Q4_K_M on a 16 GB card with --cpu-moe: the
// device holds everything but the embedding table and the routed experts, the host those two and
// its own compute buffers; a token reads n_expert_used / n_expert of the experts from the host.
TEST(Offload, MoeOnA16GbCardKeepsItsExpertsInHostMemory) {
  auto m = *builtin_model("qwen3.6-35b-a3b", FileType::kQ4_K_M);
  MemoryOptions o;
  o.ctx = 32768;
  const Device& d = *find_device("RTX 4080");
  ASSERT_FALSE(fit(d, m, o).fits);
  const HostMemory host;
  const auto split = plan_offload(d, m, o, host);
  ASSERT_TRUE(split.has_value());
  EXPECT_TRUE(split->cpu_moe);
  EXPECT_EQ(split->gpu_layers, 40);
  EXPECT_EQ(split->flags(), "--cpu-moe");
  const MemoryPlan p = plan_memory(m, o);
  EXPECT_NEAR(double(split->device_bytes), double(p.total_bytes() - m.embd_bytes - m.expert_bytes), 64);
  EXPECT_NEAR(double(split->host_bytes), double(m.embd_bytes + m.expert_bytes + p.compute_bytes + p.overhead_bytes),
              64);
  EXPECT_LE(double(split->device_bytes), 0.9 * double(d.usable_bytes()));
  const double routed = double(m.expert_bytes) * 8 / 256;
  const double device_read = double(p.decode_bytes_per_token) - routed - double(m.embd_bytes) / 248320;
  const double want = 1 / (device_read / (717e9 * 0.75) + routed / (80e9 * 0.8));
  EXPECT_NEAR(split->decode_tokens_per_s, want, 0.01 * want);
  // A host that cannot hold the experts (nor the layers a dense split would leave it): no split.
  EXPECT_FALSE(plan_offload(d, m, o, HostMemory{8, 80, 0.8}).has_value());
}

// A dense model: the most layers whose weights, KV cache and state fit in 90 % of the card, the
// rest and the head on the host. One more layer would not fit.
TEST(Offload, DenseModelLeavesItsLastLayersOnTheHost) {
  auto m = *builtin_model("qwen3.6-27b", FileType::kQ4_K_M);
  MemoryOptions o;
  o.ctx = 32768;
  const Device& d = *find_device("RTX 4080");
  const auto split = plan_offload(d, m, o);
  ASSERT_TRUE(split.has_value());
  EXPECT_FALSE(split->cpu_moe);
  const MemoryPlan p = plan_memory(m, o);
  const double per_layer =
      double(m.weights_bytes - m.embd_bytes - m.head_bytes + p.kv_cache_bytes + p.state_bytes) / 64;
  const int want = int((0.9 * double(d.usable_bytes()) - double(p.compute_bytes + p.overhead_bytes)) / per_layer);
  EXPECT_EQ(split->gpu_layers, want);
  EXPECT_EQ(split->flags(), "--gpu-layers " + std::to_string(want));
  EXPECT_LT(split->decode_tokens_per_s, fit(*find_device("RTX 4090"), m, o).decode_tokens_per_s);
  // Whole where it fits; never on unified memory.
  EXPECT_FALSE(plan_offload(*find_device("RTX 5090"), m, o).has_value());
  EXPECT_FALSE(plan_offload(*find_device("Apple M5 Max"), m, o).has_value());
  EXPECT_NE(device_report(d, o).recommendation.find("split with --gpu-layers"), std::string::npos);
}

TEST(Tco, HandDerivedBreakEven) {
  TcoInputs in;
  in.hardware_usd = 12000, in.depreciation_years = 3, in.power_w = 500, in.electricity_usd_per_kwh = 0.2;
  in.staff_usd_per_month = 1000, in.api_usd_per_mtok_in = 4, in.api_usd_per_mtok_out = 20, in.input_share = 0.75;
  in.cache_hit_share = 0.5, in.cache_discount = 0.9, in.throughput_tokens_per_s = 1000, in.utilisation = 0.5;
  const TcoResult r = compute_tco(in);
  EXPECT_NEAR(r.depreciation_usd, 333.333, 1e-3);
  EXPECT_NEAR(r.energy_usd, 73.0, 1e-9);
  EXPECT_NEAR(r.onprem_usd_per_month, 1406.333, 1e-3);
  EXPECT_NEAR(r.api_usd_per_token * 1e6, 0.75 * 4 * (1 - 0.45) + 0.25 * 20, 1e-9);
  EXPECT_NEAR(r.break_even_tokens_per_month, 1406.3333 / 6.65e-6, 1e3);
  EXPECT_NEAR(r.capacity_tokens_per_month, 1000.0 * 3600 * 730 * 0.5, 1);
  EXPECT_TRUE(r.break_even_within_capacity);
  EXPECT_NEAR(r.onprem_cost(r.capacity_tokens_per_month * 1.5), 2 * r.onprem_usd_per_month, 1e-6);
}

std::vector<std::pair<double, double>> points(const std::string& svg, const std::string& id) {
  const std::regex re("<polyline id=\"" + id + "\"[^>]*points=\"([^\"]*)\"");
  std::smatch m;
  EXPECT_TRUE(std::regex_search(svg, m, re)) << id;
  std::vector<std::pair<double, double>> out;
  std::string s = m[1];
  const std::regex pt("([0-9.]+),([0-9.]+)");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), pt); it != std::sregex_iterator(); ++it)
    out.push_back({std::stod((*it)[1]), std::stod((*it)[2])});
  return out;
}

double y_at(const std::vector<std::pair<double, double>>& poly, double x) {
  for (size_t i = 1; i < poly.size(); ++i)
    if (poly[i - 1].first <= x && x <= poly[i].first && poly[i].first > poly[i - 1].first) {
      const double t = (x - poly[i - 1].first) / (poly[i].first - poly[i - 1].first);
      return poly[i - 1].second + t * (poly[i].second - poly[i - 1].second);
    }
  return NAN;
}

TEST(Tco, SvgCurvesCrossAtTheBreakEven) {
  TcoInputs in;
  in.throughput_tokens_per_s = 5000;  // break-even well inside one unit's capacity
  const TcoResult r = compute_tco(in);
  SvgGeometry g;
  const std::string svg = tco_svg(in, r, &g);
  ASSERT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  const auto api = points(svg, "api"), own = points(svg, "onprem");
  ASSERT_EQ(api.size(), 2u);
  ASSERT_GE(own.size(), 2u);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, std::regex("<circle id=\"break-even\" cx=\"([0-9.]+)\" cy=\"([0-9.]+)\"")));
  const double cx = std::stod(m[1]), cy = std::stod(m[2]);
  EXPECT_NEAR(cx, g.x(r.break_even_tokens_per_month), 0.01);
  // Both curves pass through the marked point (0.05 px: the coordinates are printed to 0.01).
  EXPECT_NEAR(y_at(api, cx), cy, 0.05);
  EXPECT_NEAR(y_at(own, cx), cy, 0.05);
  // Left of it the API is cheaper (lower on screen = larger y), right of it owning is.
  EXPECT_GT(y_at(api, cx * 0.5), y_at(own, cx * 0.5));
  EXPECT_LT(y_at(api, std::min(cx * 1.5, g.width - g.right - 1)), y_at(own, std::min(cx * 1.5, g.width - g.right - 1)));
}

TEST(Recommend, FollowsTheDecisionRules) {
  Workload w;
  w.latency = Latency::kInteractive, w.context = 16000, w.data = DataClass::kInternal, w.task = Task::kCoding;
  EXPECT_EQ(recommend(w).model, "qwen3.6-35b-a3b");
  w.tools = true;
  EXPECT_EQ(recommend(w).model, "qwen3.6-27b");
  w.tools = false, w.context = 100000;
  EXPECT_EQ(recommend(w).model, "qwen3.6-27b");
  w.context = 500000;
  EXPECT_NE(recommend(w).model.find("frontier"), std::string::npos);
  w.data = DataClass::kRegulated;  // never leaves, whatever the context
  const auto r = recommend(w);
  EXPECT_EQ(r.model, "qwen3.6-27b");
  EXPECT_NE(r.reasons[1].find("YaRN"), std::string::npos);
  w.context = 16000, w.task = Task::kSre;
  EXPECT_EQ(recommend(w).model, "qwen3.6-35b-a3b");  // SRE would go to the API, but the data may not
  w.data = DataClass::kPublic;
  EXPECT_NE(recommend(w).model.find("frontier"), std::string::npos);
  w.task = Task::kCoding;
  const auto local = recommend(w);
  EXPECT_EQ(local.quant, "Q4_K_M");
  EXPECT_FALSE(local.hardware.empty());
  EXPECT_FALSE(local.backend.empty());
}

}  // namespace
}  // namespace onprem::planner

// The planner cites measured quality (docs/default-model.md): fewer bits never look better in KL
// or top-1 agreement, and the recommendation quotes the figures.
TEST(Quality, MeasuredFiguresAreOrderedAndCited) {
  const auto q8 = onprem::planner::measured_quality("Q8_0"), q6 = onprem::planner::measured_quality("Q6_K"),
             q4 = onprem::planner::measured_quality("Q4_K_M");
  ASSERT_TRUE(q8 && q6 && q4);
  EXPECT_FALSE(onprem::planner::measured_quality("IQ2_XS"));
  EXPECT_GT(q8->kl_mean, 0.0);
  EXPECT_LT(q8->kl_mean, q6->kl_mean);
  EXPECT_LT(q6->kl_mean, q4->kl_mean);
  EXPECT_GT(q8->top1_agreement, q6->top1_agreement);
  EXPECT_GT(q6->top1_agreement, q4->top1_agreement);
  onprem::planner::Workload w;
  const auto r = onprem::planner::recommend(w);
  bool cited = false;
  char kl[32];
  std::snprintf(kl, sizeof kl, "%.2g", q4->kl_mean);
  for (const auto& why : r.reasons) cited = cited || why.find(kl) != std::string::npos;
  EXPECT_TRUE(cited);
}
