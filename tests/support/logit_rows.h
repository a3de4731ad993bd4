// What the conformance tests measure on logit rows, written once: the golden files' float32
// arrays, the top token, and KL(p ‖ q) of two rows' softmaxes in double precision.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <vector>

namespace onprem::testing_support {

inline std::vector<float> read_f32(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  in.seekg(0, std::ios::end);
  std::vector<float> v(static_cast<size_t>(in.tellg()) / 4);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), std::streamsize(v.size() * 4));
  return v;
}

// The first index of the largest value (the goldens' tie rule: the lowest id).
inline int64_t argmax(const float* x, int64_t n) {
  int64_t b = 0;
  for (int64_t i = 1; i < n; ++i)
    if (x[i] > x[b]) b = i;
  return b;
}

inline double kl(const float* p_logits, const float* q_logits, int64_t n) {
  auto lse = [n](const float* x) {
    double m = x[0];
    for (int64_t i = 1; i < n; ++i) m = std::max(m, double(x[i]));
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += std::exp(double(x[i]) - m);
    return m + std::log(s);
  };
  const double lp = lse(p_logits), lq = lse(q_logits);
  double k = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double a = double(p_logits[i]) - lp, b = double(q_logits[i]) - lq;
    k += std::exp(a) * (a - b);
  }
  return k;
}

}  // namespace onprem::testing_support
