#include "planner/quality.h"

#include <cstdio>

namespace onprem::planner {

namespace {
// docs/default-model.md, "What quantisation costs": onprem perplexity -m model-Q.gguf -f heldout.txt
// --kl-base model-F32.gguf -c 512 --assistant-only (157 chunks, 7,110 scored tokens).
const QuantQuality kMeasured[] = {
    {"Q8_0", 0.0126, 0.9823, 0.9993},
    {"Q6_K", 0.0374, 0.9675, 0.9986},
    {"Q4_K_M", 0.1224, 0.9394, 0.9971},
};
}  // namespace

std::optional<QuantQuality> measured_quality(const std::string& quant) {
  for (const auto& q : kMeasured)
    if (quant == q.quant) return q;
  return std::nullopt;
}

std::string quality_line(const QuantQuality& q) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "KL %.4f nats/token, top-1 %.1f %%, perplexity %+.2f %% vs F32", q.kl_mean, 100 * q.top1_agreement,
                100 * (q.ppl_ratio - 1));
  return buf;
}

}  // namespace onprem::planner
