#include "quant/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "quant/blocks.h"
#include "quant/rounding.h"

namespace onprem::quant {

using core::f32_to_fp16;
using core::fp16_to_f32;

namespace {

void copy_f32(const float* x, void* dst, int64_t n) { std::memcpy(dst, x, size_t(n) * 4); }

// Fits x ≈ s·q (q in [-32, 31]) for one 16-value Q6_K sub-block: tries scales around the one that
// maps the largest-magnitude value to -32 and keeps the least-squares best.
float fit_q6_subblock(const float* x) {
  float amax = 0, vmax = 0;
  for (int i = 0; i < 16; ++i)
    if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), vmax = x[i];
  if (amax < 1e-30f) return 0;
  float best_s = -vmax / 32, best_err = INFINITY;
  for (int step = -9; step <= 9; ++step) {
    const float iscale = -(32.0f + 0.1f * float(step)) / vmax;
    float sqx = 0, sqq = 0;
    int q[16];
    for (int i = 0; i < 16; ++i) {
      q[i] = std::clamp(nearest(iscale * x[i]), -32, 31);
      sqx += float(q[i]) * x[i];
      sqq += float(q[i] * q[i]);
    }
    if (sqq <= 0) continue;
    const float s = sqx / sqq;
    float err = 0;
    for (int i = 0; i < 16; ++i) err += (x[i] - s * float(q[i])) * (x[i] - s * float(q[i]));
    if (err < best_err) best_err = err, best_s = s;
  }
  return best_s;
}

// Fits x ≈ s·q − m (q in [0, 15], s ≥ 0, m ≥ 0) for one 32-value Q4_K sub-block.
void fit_q4_subblock(const float* x, float* scale, float* min_out) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < 32; ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
  lo = std::min(lo, 0.0f);
  if (hi <= lo) {
    *scale = 0;
    *min_out = -lo;
    return;
  }
  float best_s = (hi - lo) / 15, best_m = -lo, best_err = INFINITY;
  for (int step = 0; step <= 20; ++step) {
    const float iscale = (15.0f + 0.1f * float(step - 10)) / (hi - lo);
    int q[32];
    float sq = 0, sqq = 0, sx = 0, sqx = 0;
    for (int i = 0; i < 32; ++i) {
      q[i] = std::clamp(nearest(iscale * (x[i] - lo)), 0, 15);
      sq += float(q[i]), sqq += float(q[i] * q[i]), sx += x[i], sqx += float(q[i]) * x[i];
    }
    // Least squares for x ≈ s·q + b, then b = −m must stay ≤ 0.
    const float det = 32 * sqq - sq * sq;
    if (det <= 0) continue;
    float s = (32 * sqx - sq * sx) / det;
    float b = (sqq * sx - sq * sqx) / det;
    if (b > 0) b = 0, s = sqq > 0 ? sqx / sqq : 0;
    if (s < 0) continue;
    float err = 0;
    for (int i = 0; i < 32; ++i) err += (x[i] - s * float(q[i]) - b) * (x[i] - s * float(q[i]) - b);
    if (err < best_err) best_err = err, best_s = s, best_m = -b;
  }
  *scale = best_s;
  *min_out = best_m;
}

}  // namespace

void quantize_row_f16(const float* x, void* dst, int64_t n) {
  uint16_t* d = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) d[i] = f32_to_fp16(x[i]);
}

void quantize_row_bf16(const float* x, void* dst, int64_t n) {
  uint16_t* d = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) d[i] = core::f32_to_bf16(x[i]);
}

void quantize_row_q8_0(const float* x, void* dst, int64_t n) {
  BlockQ8_0* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float amax = 0;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d != 0 ? 1 / d : 0;
    b[i].d = f32_to_fp16(d);
    for (int j = 0; j < kQK; ++j) b[i].qs[j] = int8_t(std::lround(x[j] * id));
  }
}

void quantize_row_q8_0_act(const float* x, void* dst, int64_t n) {
  BlockQ8_0* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float amax = 0;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float id = amax != 0 ? 127.0f / amax : 0.0f;
    b[i].d = f32_to_fp16(amax / 127.0f);
    for (int j = 0; j < kQK; ++j) b[i].qs[j] = int8_t(nearest(x[j] * id));
  }
}

void quantize_row_q4_k(const float* x, void* dst, int64_t n) {
  BlockQ4_K* b = static_cast<BlockQ4_K*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
    float sc[8], mn[8], max_sc = 0, max_mn = 0;
    for (int s = 0; s < 8; ++s) {
      fit_q4_subblock(x + 32 * s, &sc[s], &mn[s]);
      max_sc = std::max(max_sc, sc[s]);
      max_mn = std::max(max_mn, mn[s]);
    }
    const float isc = max_sc > 0 ? 63 / max_sc : 0, imn = max_mn > 0 ? 63 / max_mn : 0;
    uint8_t ls[8], lm[8];
    for (int s = 0; s < 8; ++s) {
      ls[s] = uint8_t(std::min(63, nearest(isc * sc[s])));
      lm[s] = uint8_t(std::min(63, nearest(imn * mn[s])));
    }
    b[i].d = f32_to_fp16(max_sc / 63);
    b[i].dmin = f32_to_fp16(max_mn / 63);
    pack_scale_min_k4(ls, lm, b[i].scales);
    // Re-quantise against the scales as they will be decoded.
    const float d = fp16_to_f32(b[i].d), dmin = fp16_to_f32(b[i].dmin);
    uint8_t q[256];
    for (int s = 0; s < 8; ++s) {
      uint8_t scs, ms;
      unpack_scale_min_k4(s, b[i].scales, &scs, &ms);
      const float ds = d * scs, dm = dmin * ms;
      for (int l = 0; l < 32; ++l)
        q[32 * s + l] = ds > 0 ? uint8_t(std::clamp(nearest((x[32 * s + l] + dm) / ds), 0, 15)) : 0;
    }
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) b[i].qs[32 * c + l] = uint8_t(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
  }
}

void quantize_row_q6_k(const float* x, void* dst, int64_t n) {
  BlockQ6_K* b = static_cast<BlockQ6_K*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
    float sc[16], amax = 0, vmax = 0;
    for (int s = 0; s < 16; ++s) {
      sc[s] = fit_q6_subblock(x + 16 * s);
      if (std::fabs(sc[s]) > amax) amax = std::fabs(sc[s]), vmax = sc[s];
    }
    std::memset(&b[i], 0, sizeof(BlockQ6_K));
    if (amax == 0) continue;
    const float iscale = -128.0f / vmax;
    b[i].d = f32_to_fp16(1 / iscale);
    for (int s = 0; s < 16; ++s) b[i].scales[s] = int8_t(std::min(127, nearest(iscale * sc[s])));
    const float d = fp16_to_f32(b[i].d);
    uint8_t q[256];
    for (int j = 0; j < 256; ++j) {
      const float ds = d * float(b[i].scales[j / 16]);
      q[j] = ds != 0 ? uint8_t(std::clamp(nearest(x[j] / ds), -32, 31) + 32) : 32;
    }
    pack_q6_k_codes(q, b[i].ql, b[i].qh);
  }
}

void quantize_row_q8_k(const float* x, void* dst, int64_t n) {
  BlockQ8_K* b = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
    float amax = 0, vmax = 0;
    for (int j = 0; j < kQKK; ++j)
      if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), vmax = x[j];
    if (amax == 0) {
      std::memset(&b[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    // The largest value maps to -127 (llama.cpp's sign convention; the scale is negative then).
    const float iscale = -127.0f / vmax;
    for (int j = 0; j < kQKK; ++j) b[i].qs[j] = int8_t(std::min(127, nearest(iscale * x[j])));
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += b[i].qs[16 * g + j];
      b[i].bsums[g] = int16_t(sum);
    }
    b[i].d = 1 / iscale;
  }
}

QuantizeFn quantizer(core::GgmlType type) {
  using core::GgmlType;
  // The unweighted-only quantisers go behind the common signature.
  switch (type) {
    case GgmlType::kF32:
      return [](const float* x, void* d, int64_t n, const float*) { copy_f32(x, d, n); };
    case GgmlType::kF16:
      return [](const float* x, void* d, int64_t n, const float*) { quantize_row_f16(x, d, n); };
    case GgmlType::kBF16:
      return [](const float* x, void* d, int64_t n, const float*) { quantize_row_bf16(x, d, n); };
    case GgmlType::kQ8_0:
      return [](const float* x, void* d, int64_t n, const float*) { quantize_row_q8_0(x, d, n); };
    case GgmlType::kQ8_K:
      return [](const float* x, void* d, int64_t n, const float*) { quantize_row_q8_k(x, d, n); };
    // Q4_K and Q6_K keep their unweighted forms (the files gen-model writes) and fit with weights.
    case GgmlType::kQ4_K:
      return [](const float* x, void* d, int64_t n, const float* w) {
        w ? quantize_row_q4_k_weighted(x, d, n, w) : quantize_row_q4_k(x, d, n);
      };
    case GgmlType::kQ6_K:
      return [](const float* x, void* d, int64_t n, const float* w) {
        w ? quantize_row_q6_k_weighted(x, d, n, w) : quantize_row_q6_k(x, d, n);
      };
    case GgmlType::kQ4_0:
      return quantize_row_q4_0;
    case GgmlType::kQ4_1:
      return quantize_row_q4_1;
    case GgmlType::kQ5_0:
      return quantize_row_q5_0;
    case GgmlType::kQ5_1:
      return quantize_row_q5_1;
    case GgmlType::kQ2_K:
      return quantize_row_q2_k;
    case GgmlType::kQ3_K:
      return quantize_row_q3_k;
    case GgmlType::kQ5_K:
      return quantize_row_q5_k;
    case GgmlType::kIQ4_NL:
      return quantize_row_iq4_nl;
    case GgmlType::kIQ4_XS:
      return quantize_row_iq4_xs;
    case GgmlType::kMXFP4:
      return quantize_row_mxfp4;
    case GgmlType::kIQ2_XXS:
      return quantize_row_iq2_xxs;
    case GgmlType::kIQ2_XS:
      return quantize_row_iq2_xs;
    case GgmlType::kIQ2_S:
      return quantize_row_iq2_s;
    case GgmlType::kIQ3_XXS:
      return quantize_row_iq3_xxs;
    case GgmlType::kIQ3_S:
      return quantize_row_iq3_s;
    case GgmlType::kIQ1_S:
      return quantize_row_iq1_s;
    case GgmlType::kIQ1_M:
      return quantize_row_iq1_m;
    default:
      return nullptr;
  }
}

}  // namespace onprem::quant
