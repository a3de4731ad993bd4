#include "engine/bench.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "kernels/bandwidth.h"
#include "model/forward.h"
#include "model/memory.h"
#include "sample/sampler.h"

namespace onprem::engine {

std::vector<int32_t> bench_prompt(const model::Model& m, int64_t n) {
  std::vector<int32_t> prompt(size_t(std::max<int64_t>(n, 1)));
  for (size_t i = 0; i < prompt.size(); ++i)
    prompt[i] = int32_t((i * 7919 + 13) % std::min<uint32_t>(m.config.n_vocab, 240000));
  return prompt;
}

double bench_median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void fill_per_token_costs(const model::Model& m, const BenchOptions& o, int64_t ubatch, BenchResult& r, uint64_t kv_num,
                          uint64_t kv_den) {
  r.weight_bytes_per_token = model::weight_bytes_per_token(m);
  r.macs_per_token = model::weight_macs_per_token(m);
  const auto st = model::state_sizes(m.config, kv_num, kv_den);
  r.tg_bytes_per_token = r.weight_bytes_per_token + st.kv_bytes_per_token * uint64_t(o.n_prompt + o.n_gen / 2) +
                         2 * st.fixed_state_bytes();
  const double head_macs = double(m.output.view.n_rows) * double(m.output.view.n_cols);
  const double ubatches = double((o.n_prompt + ubatch - 1) / std::max<int64_t>(ubatch, 1));
  const double pp_macs_per_token =
      o.n_prompt > 0 ? double(r.macs_per_token) - head_macs + head_macs * ubatches / double(o.n_prompt) : 0;
  r.pp_gflops = 2.0 * pp_macs_per_token * r.pp_tokens_per_s / 1e9;
  r.tg_gb_per_s = r.tg_tokens_per_s * double(r.tg_bytes_per_token) / 1e9;
}

core::Expected<BenchResult> run_bench(const model::Model& m, const BenchOptions& o) {
  if (o.vulkan_device >= 0) return run_bench_vulkan(m, o);
  BenchResult r;
  core::ThreadPool pool(o.threads);
  const int64_t n_ctx = o.n_prompt + o.n_gen + 8;
  auto state = model::make_state(m.config, n_ctx);
  auto ws = model::make_workspace(m.config, std::min(o.ubatch, std::max<int64_t>(o.n_prompt, 1)), o.threads);
  model::ForwardContext ctx;
  ctx.pool = &pool;
  std::vector<float> logits(size_t(m.config.n_vocab));
  const std::vector<int32_t> prompt = bench_prompt(m, o.n_prompt);
  std::vector<double> pp, tg;
  using Clock = std::chrono::steady_clock;
  for (int rep = 0; rep < o.reps + 1; ++rep) {  // the first repetition warms caches and pages
    state.clear();
    auto t0 = Clock::now();
    for (int64_t i = 0; i < o.n_prompt; i += ws.max_tokens) {
      const int64_t n = std::min<int64_t>(ws.max_tokens, o.n_prompt - i);
      ONPREM_TRY(model::forward(m, state, ws, prompt.data() + i, n, logits.data(), false, ctx));
    }
    const double tp = std::chrono::duration<double>(Clock::now() - t0).count();
    t0 = Clock::now();
    const uint64_t dispatches0 = pool.dispatches();
    for (int64_t i = 0; i < o.n_gen; ++i) {
      const int32_t id = sample::argmax(logits.data(), int64_t(logits.size()));
      ONPREM_TRY(model::forward(m, state, ws, &id, 1, logits.data(), false, ctx));
    }
    const double tt = std::chrono::duration<double>(Clock::now() - t0).count();
    if (o.n_gen > 0) r.tg_dispatches_per_token = double(pool.dispatches() - dispatches0) / double(o.n_gen);
    if (rep == 0) continue;
    if (o.n_prompt > 0) pp.push_back(double(o.n_prompt) / tp);
    if (o.n_gen > 0) tg.push_back(double(o.n_gen) / tt);
  }
  if (!pp.empty()) r.pp_tokens_per_s = bench_median(pp);
  if (!tg.empty()) r.tg_tokens_per_s = bench_median(tg);
  fill_per_token_costs(m, o, ws.max_tokens, r);
  r.machine_read_gb_per_s = kernels::measure_read_bandwidth(pool).bytes_per_second / 1e9;
  r.tg_bandwidth_fraction = r.machine_read_gb_per_s > 0 ? r.tg_gb_per_s / r.machine_read_gb_per_s : 0;
  return r;
}

}  // namespace onprem::engine
