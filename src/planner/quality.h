// What a quantisation costs in quality, as measured (not estimated): `onprem perplexity
// --kl-base` of each preset against the F32 file, on held-out text. The figures come from
// onprem's own trained default model (docs/default-model.md, which has the commands); a 9 M
// parameter model is more sensitive to rounding than a 27B one, so read them as an upper bound
// on the ranking's spread, not as Qwen3.6's own numbers.
#pragma once

#include <optional>
#include <string>

namespace onprem::planner {

struct QuantQuality {
  const char* quant;
  double kl_mean;         // nats per token, KL(F32 || quantised)
  double top1_agreement;  // fraction of positions with the same most likely token
  double ppl_ratio;       // perplexity / F32 perplexity
};

std::optional<QuantQuality> measured_quality(const std::string& quant);  // Q8_0, Q6_K, Q4_K_M
std::string quality_line(const QuantQuality& q);  // "KL 0.00028 nats/token, top-1 99.8 %, perplexity +0.03 % vs F32"

}  // namespace onprem::planner
