// `onprem bench --device vulkan:N`: the CPU bench's measurement on a Vulkan device, with the
// device's own copy bandwidth, measured in the same run, as the decode roofline.
#include <chrono>
#include <vector>

#include "engine/bench.h"
#include "sample/sampler.h"

#include "model/forward_vulkan.h"

namespace onprem::engine {

core::Expected<BenchResult> run_bench_vulkan(const model::Model& m, const BenchOptions& o) {
  BenchResult r;
  model::VulkanOptions vo = o.gpu;
  vo.device = uint32_t(o.vulkan_device);
  vo.threads = o.threads;
  vo.max_tokens = std::min(o.ubatch, std::max<int64_t>(o.n_prompt, 1));
  vo.max_ctx = o.n_prompt + o.n_gen + 8;
  ONPREM_TRY_ASSIGN(engine, model::make_vulkan_engine(m, vo));
  r.device = model::vulkan_engine_device(*engine);
  ONPREM_TRY_ASSIGN(seq, model::make_vulkan_sequence(*engine, vo.max_ctx));
  std::vector<float> logits(size_t(m.config.n_vocab));
  const std::vector<int32_t> prompt = bench_prompt(m, o.n_prompt);
  std::vector<double> pp, tg;
  using Clock = std::chrono::steady_clock;
  for (int rep = 0; rep < o.reps + 1; ++rep) {  // the first repetition warms pipelines and pages
    ONPREM_TRY_ASSIGN(fresh, model::make_vulkan_sequence(*engine, vo.max_ctx));
    seq = std::move(fresh);
    auto t0 = Clock::now();
    for (int64_t i = 0; i < o.n_prompt; i += vo.max_tokens) {
      const int64_t n = std::min<int64_t>(vo.max_tokens, o.n_prompt - i);
      ONPREM_TRY(model::forward_vulkan(*engine, seq, prompt.data() + i, n, logits.data(), false));
    }
    const double tp = std::chrono::duration<double>(Clock::now() - t0).count();
    t0 = Clock::now();
    for (int64_t i = 0; i < o.n_gen; ++i) {
      const int32_t id = sample::argmax(logits.data(), int64_t(logits.size()));
      ONPREM_TRY(model::forward_vulkan(*engine, seq, &id, 1, logits.data(), false));
    }
    const double tt = std::chrono::duration<double>(Clock::now() - t0).count();
    if (rep == 0) continue;
    if (o.n_prompt > 0) pp.push_back(double(o.n_prompt) / tp);
    if (o.n_gen > 0) tg.push_back(double(o.n_gen) / tt);
  }
  if (!pp.empty()) r.pp_tokens_per_s = bench_median(pp);
  if (!tg.empty()) r.tg_tokens_per_s = bench_median(tg);
  const bool f16 = vo.kv_type == core::GgmlType::kF16, q8 = vo.kv_type == core::GgmlType::kQ8_0;
  fill_per_token_costs(m, o, vo.max_tokens, r, f16 ? 2 : q8 ? 34 : 4, q8 ? 32 : 1);
  // The device's roofline: a copy kernel over 1 GiB, best of 5, in the same run.
  r.machine_read_gb_per_s = model::vulkan_copy_bandwidth(*engine, uint64_t(1) << 30) / 1e9;
  r.tg_bandwidth_fraction = r.machine_read_gb_per_s > 0 ? r.tg_gb_per_s / r.machine_read_gb_per_s : 0;
  // Partly offloaded, a token reads from two memories: the device's copy rate is no roofline.
  const model::VulkanPlacement p = model::vulkan_placement(*engine);
  if (p.gpu_layers < p.n_layers || p.moe_on_cpu) {
    r.tg_bandwidth_fraction = 0;
    r.device += ", " + std::to_string(p.gpu_layers) + " of " + std::to_string(p.n_layers) + " layers" +
                (p.moe_on_cpu ? " less their experts" : "") + " on it";
  }
  return r;
}

}  // namespace onprem::engine
