#include "quant/fit.h"

#include <algorithm>
#include <cmath>

#include "quant/rounding.h"

namespace onprem::quant {

namespace {

// The weight of value i: w[i], or 1 where there are none or the group's are all zero.
struct Weights {
  const float* w;
  Weights(const float* w_in, int n) : w(w_in) {
    if (!w) return;
    for (int i = 0; i < n; ++i)
      if (w[i] > 0) return;
    w = nullptr;
  }
  float operator[](int i) const { return w ? w[i] : 1.0f; }
};

}  // namespace

float fit_signed(const float* x, const float* w_in, int n, int nmax, int8_t* q) {
  const Weights w(w_in, n);
  float amax = 0, vmax = 0;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), vmax = x[i];
  if (amax < 1e-30f) {
    std::fill(q, q + n, int8_t(0));
    return 0;
  }
  float best_s = 0, best_gain = -1;
  int8_t trial[256];
  // The largest value maps near the most negative code (the larger end), or near the top one.
  auto try_scale = [&](float iscale) {
    float sqx = 0, sqq = 0;
    for (int i = 0; i < n; ++i) {
      trial[i] = int8_t(std::clamp(nearest(iscale * x[i]), -nmax, nmax - 1));
      sqx += w[i] * float(trial[i]) * x[i];
      sqq += w[i] * float(trial[i]) * float(trial[i]);
    }
    // With the least-squares scale sqx / sqq the error is Σwx² − sqx² / sqq: maximise the gain.
    if (sqq <= 0) return;
    const float gain = sqx * sqx / sqq;
    if (gain > best_gain) {
      best_gain = gain, best_s = sqx / sqq;
      std::copy(trial, trial + n, q);
    }
  };
  for (int step = -10; step <= 10; ++step) {
    try_scale(-(float(nmax) + 0.1f * float(step)) / vmax);
    try_scale((float(nmax - 1) + 0.1f * float(step)) / vmax);
  }
  // Rounding again against the fitted scale can only keep or lower the error (then refit).
  for (int pass = 0; pass < 2 && best_s != 0; ++pass) try_scale(1 / best_s);
  return best_s;
}

float fit_affine(const float* x, const float* w_in, int n, int nmax, bool b_le_zero, float* b_out, uint8_t* q) {
  const Weights w(w_in, n);
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
  if (b_le_zero) lo = std::min(lo, 0.0f);
  if (hi - lo < 1e-30f) {
    std::fill(q, q + n, uint8_t(0));
    *b_out = lo;
    return 0;
  }
  float best_s = (hi - lo) / float(nmax), best_b = lo, best_err = INFINITY;
  uint8_t trial[256];
  std::fill(q, q + n, uint8_t(0));
  auto try_codes = [&](float s0, float b0) {
    float sw = 0, sq = 0, sqq = 0, sx = 0, sqx = 0;
    for (int i = 0; i < n; ++i) {
      trial[i] = uint8_t(std::clamp(nearest((x[i] - b0) / s0), 0, nmax));
      const float qi = float(trial[i]);
      sw += w[i], sq += w[i] * qi, sqq += w[i] * qi * qi, sx += w[i] * x[i], sqx += w[i] * qi * x[i];
    }
    const float det = sw * sqq - sq * sq;
    if (det <= 0) return;
    float s = (sw * sqx - sq * sx) / det, b = (sqq * sx - sq * sqx) / det;
    if (b_le_zero && b > 0) b = 0, s = sqq > 0 ? sqx / sqq : 0;
    if (s <= 0) return;
    float err = 0;
    for (int i = 0; i < n; ++i) {
      const float e = x[i] - s * float(trial[i]) - b;
      err += w[i] * e * e;
    }
    if (err < best_err) {
      best_err = err, best_s = s, best_b = b;
      std::copy(trial, trial + n, q);
    }
  };
  for (int step = -10; step <= 10; ++step) try_codes((hi - lo) / (float(nmax) + 0.1f * float(step)), lo);
  for (int pass = 0; pass < 2 && best_err < INFINITY; ++pass) try_codes(best_s, best_b);
  *b_out = best_b;
  return best_s;
}

uint8_t nearest_level(const int8_t* levels, float v) {
  uint8_t best = 0;
  float best_d = INFINITY;
  for (int k = 0; k < 16; ++k) {
    const float d = std::fabs(v - float(levels[k]));
    if (d < best_d) best_d = d, best = uint8_t(k);
  }
  return best;
}

float levels_error(const float* x, const float* w_in, int n, const int8_t* levels, const uint8_t* q, float s) {
  const Weights w(w_in, n);
  float err = 0;
  for (int i = 0; i < n; ++i) {
    const float e = x[i] - s * float(levels[q[i]]);
    err += w[i] * e * e;
  }
  return err;
}

float fit_levels(const float* x, const float* w_in, int n, const int8_t* levels, uint8_t* q) {
  const Weights w(w_in, n);
  float amax = 0, vmax = 0;
  int lo = 0, hi = 0;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), vmax = x[i];
  for (int k = 0; k < 16; ++k) lo = std::min(lo, int(levels[k])), hi = std::max(hi, int(levels[k]));
  if (amax < 1e-30f) {
    const uint8_t zero = nearest_level(levels, 0);
    std::fill(q, q + n, zero);
    return 0;
  }
  float best_s = 0, best_gain = -1;
  uint8_t trial[256];
  auto try_scale = [&](float s0) {
    float slx = 0, sll = 0;
    for (int i = 0; i < n; ++i) {
      trial[i] = nearest_level(levels, x[i] / s0);
      const float l = float(levels[trial[i]]);
      slx += w[i] * l * x[i], sll += w[i] * l * l;
    }
    if (sll <= 0) return;
    const float gain = slx * slx / sll;
    if (gain > best_gain) {
      best_gain = gain, best_s = slx / sll;
      std::copy(trial, trial + n, q);
    }
  };
  // The largest value near either end of the codebook, by steps of 1/64 of it.
  for (int step = -12; step <= 12; ++step) {
    const float f = 1 + float(step) / 64;
    if (lo < 0) try_scale(vmax / (float(lo) * f));
    if (hi > 0) try_scale(vmax / (float(hi) * f));
  }
  for (int pass = 0; pass < 2 && best_s != 0; ++pass) try_scale(best_s);
  return best_s;
}

}  // namespace onprem::quant
