#include "planner/quality.h"

#include <cstdio>

namespace onprem::planner {

namespace {
// docs/default-model.md, "What quantisation costs", the committed file: onprem perplexity -m
// model-Q.gguf -f heldout.txt --kl-base model-F32.gguf -c 512 --assistant-only (195 chunks, 8,051
// scored tokens; perplexity 1.0307 in F32).
const QuantQuality kMeasured[] = {
    {"Q8_0", 1.1e-5, 0.9999, 1.0001},
    {"Q6_K", 3.9e-5, 0.9995, 1.0001},
    {"Q4_K_M", 2.8e-4, 0.9985, 1.0003},
};
}  // namespace

std::optional<QuantQuality> measured_quality(const std::string& quant) {
  for (const auto& q : kMeasured)
    if (quant == q.quant) return q;
  return std::nullopt;
}

std::string quality_line(const QuantQuality& q) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "KL %.2g nats/token, top-1 %.1f %%, perplexity %+.2f %% vs F32", q.kl_mean,
                100 * q.top1_agreement, 100 * (q.ppl_ratio - 1));
  return buf;
}

}  // namespace onprem::planner
