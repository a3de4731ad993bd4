// ln(sum of e^x[i]), the normaliser of a log-softmax (token logprobs, perplexity, KL): in double,
// shifted by the maximum so that no term overflows.
#pragma once

#include <cmath>
#include <cstdint>

namespace onprem::core {

inline double log_sum_exp(const float* x, int64_t n) {
  double mx = -INFINITY;
  for (int64_t i = 0; i < n; ++i) mx = x[i] > mx ? double(x[i]) : mx;
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(double(x[i]) - mx);
  return mx + std::log(sum);
}

}  // namespace onprem::core
