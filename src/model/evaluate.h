// Perplexity and KL divergence over a token stream, the standard measure of what a quantisation
// costs: the text is cut into chunks of ctx tokens, each evaluated from an empty state; the
// second half of each chunk is scored (every scored token has at least ctx/2 tokens of context),
// as llama.cpp's perplexity tool does. With a base model (the full-precision file), the same
// positions also give KL(base || model) and how often both pick the same top token.
#pragma once

#include <vector>

#include "model/forward.h"

namespace onprem::model {

struct EvalOptions {
  int64_t ctx = 512;
  int64_t max_chunks = 0;  // 0: all whole chunks of the text
  // Optional, one flag per token: score the prediction of token t only where score[t] != 0
  // (e.g. the assistant's replies in a chat transcript). Empty: score every position.
  std::vector<uint8_t> score;
};

struct EvalStats {
  int64_t chunks = 0, scored = 0;
  double nll_sum = 0, nll_sq_sum = 0;  // -log p(next token)
  double base_nll_sum = 0;             // the base model's, on the same positions
  double kl_sum = 0, kl_max = 0;       // KL(base || model) per position, nats
  std::vector<double> kl_values;       // per scored position (for percentiles)
  int64_t top1_agree = 0;
  bool has_base = false;
  double ppl() const;
  double ppl_stderr() const;  // from the per-token NLL spread (delta method)
  double base_ppl() const;
  double mean_kl() const { return scored ? kl_sum / double(scored) : 0; }
  double kl_percentile(double p) const;
};

core::Expected<EvalStats> evaluate(const Model& m, const Model* base, const std::vector<int32_t>& tokens,
                                   const EvalOptions& o, const ForwardContext& ctx);

}  // namespace onprem::model
