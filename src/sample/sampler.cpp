#include "sample/sampler.h"

#include <algorithm>
#include <cmath>

namespace onprem::sample {

int32_t argmax(const float* logits, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (logits[i] > logits[best]) best = i;
  return int32_t(best);
}

int32_t sample_token(const float* logits, int64_t n, const SamplingParams& p, Rng& rng,
                     std::vector<std::pair<float, int32_t>>& cand) {
  if (p.temperature <= 0.0f || n == 1) return argmax(logits, n);
  cand.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) cand[size_t(i)] = {logits[i], int32_t(i)};
  auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  size_t keep = size_t(n);
  if (p.top_k > 0 && size_t(p.top_k) < keep) {
    keep = size_t(p.top_k);
    std::partial_sort(cand.begin(), cand.begin() + long(keep), cand.end(), by_logit);
  } else {
    std::sort(cand.begin(), cand.end(), by_logit);
  }
  // Softmax of logit / temperature over the kept candidates (largest first).
  const float inv_t = 1.0f / p.temperature, top = cand[0].first;
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) {
    cand[i].first = std::exp((cand[i].first - top) * inv_t);
    sum += cand[i].first;
  }
  if (p.top_p < 1.0f) {
    double acc = 0;
    for (size_t i = 0; i < keep; ++i) {
      acc += cand[i].first / sum;
      if (acc >= p.top_p) {
        keep = i + 1;
        break;
      }
    }
    sum = 0;
    for (size_t i = 0; i < keep; ++i) sum += cand[i].first;
  }
  std::uniform_real_distribution<double> u(0.0, sum);
  double r = u(rng);
  for (size_t i = 0; i < keep; ++i) {
    r -= cand[i].first;
    if (r <= 0) return cand[i].second;
  }
  return cand[keep - 1].second;
}

}  // namespace onprem::sample
