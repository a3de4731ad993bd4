#include "planner/quality.h"

#include <cstdio>

namespace onprem::planner {

namespace {
// docs/default-model.md, "What quantisation costs": onprem perplexity -m model-Q.gguf -f heldout.txt
// --kl-base model-F32.gguf -c 512 --assistant-only (157 chunks, 7,491 scored tokens).
const QuantQuality kMeasured[] = {
    {"Q8_0", 7.22e-5, 0.9951, 1.00007},
    {"Q6_K", 3.42e-4, 0.9900, 0.99977},
    {"Q4_K_M", 7.55e-4, 0.9852, 0.99946},
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
