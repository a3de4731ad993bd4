#include "model/evaluate.h"
#include "core/log_sum_exp.h"

#include <algorithm>
#include <cmath>

namespace onprem::model {

namespace {

// log-softmax of one row, in double: [n_vocab]
void log_softmax(const float* x, int64_t n, std::vector<double>* out) {
  out->resize(size_t(n));
  const double lse = core::log_sum_exp(x, n);
  for (int64_t i = 0; i < n; ++i) (*out)[size_t(i)] = double(x[i]) - lse;
}

core::Status run_chunk(const Model& m, const int32_t* tokens, int64_t n, const ForwardContext& ctx,
                       std::vector<float>* logits) {
  const int threads = ctx.pool ? ctx.pool->size() : 1;
  auto state = make_state(m.config, n);
  auto ws = make_workspace(m.config, n, threads);
  logits->resize(size_t(n * m.config.n_vocab));
  return forward(m, state, ws, tokens, n, logits->data(), true, ctx);
}

}  // namespace

double EvalStats::ppl() const { return scored ? std::exp(nll_sum / double(scored)) : 0; }
double EvalStats::base_ppl() const { return scored ? std::exp(base_nll_sum / double(scored)) : 0; }
double EvalStats::ppl_stderr() const {
  if (scored < 2) return 0;
  const double mean = nll_sum / double(scored);
  const double var = std::max(0.0, nll_sq_sum / double(scored) - mean * mean);
  return ppl() * std::sqrt(var / double(scored - 1));
}
double EvalStats::kl_percentile(double p) const {
  if (kl_values.empty()) return 0;
  std::vector<double> v = kl_values;
  const size_t k = std::min(v.size() - 1, size_t(p * double(v.size())));
  std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(k), v.end());
  return v[k];
}

core::Expected<EvalStats> evaluate(const Model& m, const Model* base, const std::vector<int32_t>& tokens,
                                   const EvalOptions& o, const ForwardContext& ctx) {
  const int64_t V = m.config.n_vocab;
  if (o.ctx < 4)
    return core::make_error(core::ErrorCode::kInvalidArgument, "perplexity: the context must be at least 4 tokens");
  if (base && base->config.n_vocab != V)
    return core::make_error(core::ErrorCode::kInvalidArgument,
                            "perplexity: the base model has another vocabulary size (" +
                                std::to_string(base->config.n_vocab) + " vs " + std::to_string(V) + ")");
  int64_t n_chunks = int64_t(tokens.size()) / o.ctx;
  if (o.max_chunks > 0) n_chunks = std::min(n_chunks, o.max_chunks);
  if (n_chunks == 0)
    return core::make_error(core::ErrorCode::kInvalidArgument,
                            "perplexity: the text has " + std::to_string(tokens.size()) +
                                " tokens, fewer than one chunk of " + std::to_string(o.ctx) + " (use a smaller --ctx)");
  for (int32_t t : tokens)
    if (t < 0 || t >= V)
      return core::make_error(core::ErrorCode::kInvalidArgument, "perplexity: token id out of the vocabulary");
  if (!o.score.empty() && o.score.size() != tokens.size())
    return core::make_error(core::ErrorCode::kInvalidArgument,
                            "perplexity: the score mask must have one flag per token");
  EvalStats s;
  s.has_base = base != nullptr;
  std::vector<float> lm, lb;
  std::vector<double> pm, pb;
  for (int64_t c = 0; c < n_chunks; ++c) {
    const int32_t* t = tokens.data() + c * o.ctx;
    ONPREM_TRY(run_chunk(m, t, o.ctx, ctx, &lm));
    if (base) ONPREM_TRY(run_chunk(*base, t, o.ctx, ctx, &lb));
    for (int64_t i = o.ctx / 2; i + 1 < o.ctx; ++i) {
      if (!o.score.empty() && !o.score[size_t(c * o.ctx + i + 1)]) continue;
      log_softmax(lm.data() + i * V, V, &pm);
      const double nll = -pm[size_t(t[i + 1])];
      s.nll_sum += nll, s.nll_sq_sum += nll * nll;
      ++s.scored;
      if (!base) continue;
      log_softmax(lb.data() + i * V, V, &pb);
      s.base_nll_sum += -pb[size_t(t[i + 1])];
      double kl = 0;
      for (int64_t v = 0; v < V; ++v) kl += std::exp(pb[size_t(v)]) * (pb[size_t(v)] - pm[size_t(v)]);
      kl = std::max(0.0, kl);
      s.kl_sum += kl, s.kl_max = std::max(s.kl_max, kl);
      s.kl_values.push_back(kl);
      const auto am = std::max_element(pm.begin(), pm.end()) - pm.begin();
      const auto ab = std::max_element(pb.begin(), pb.end()) - pb.begin();
      s.top1_agree += am == ab;
    }
    ++s.chunks;
  }
  return s;
}

}  // namespace onprem::model
