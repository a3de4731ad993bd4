// Quantisers of the K-quants below 4 bits (Q2_K, Q3_K) and of Q5_K, and the importance-weighted
// forms of Q4_K and Q6_K (formats.md §3; layouts in blocks.h). Each group of 16 or 32 values is
// fitted (fit.h), the group scales are rounded onto the block's 4- or 6-bit integers, and then every
// value is rounded against the scales exactly as they will be decoded.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "quant/blocks.h"
#include "quant/fit.h"
#include "quant/quantize.h"
#include "quant/rounding.h"

namespace onprem::quant {

using core::f32_to_fp16;
using core::fp16_to_f32;

namespace {

// Affine groups (x ≈ s·q − m) with 6-bit scales and minimums: Q4_K (nmax 15) and Q5_K (31).
// Writes d, dmin, the packed scales and the 256 codes.
template <int kNmax>
void affine_superblock(const float* x, const float* w, uint16_t* d_out, uint16_t* dmin_out, uint8_t* scales,
                       uint8_t* q) {
  float sc[8], mn[8], max_sc = 0, max_mn = 0;
  for (int s = 0; s < 8; ++s) {
    uint8_t codes[32];
    float b;
    sc[s] = fit_affine(x + 32 * s, at(w, 32 * s), 32, kNmax, true, &b, codes);
    mn[s] = -b;
    max_sc = std::max(max_sc, sc[s]), max_mn = std::max(max_mn, mn[s]);
  }
  uint8_t ls[8], lm[8];
  const float isc = max_sc > 0 ? 63 / max_sc : 0, imn = max_mn > 0 ? 63 / max_mn : 0;
  for (int s = 0; s < 8; ++s) {
    ls[s] = uint8_t(std::min(63, nearest(isc * sc[s])));
    lm[s] = uint8_t(std::min(63, nearest(imn * mn[s])));
  }
  *d_out = f32_to_fp16(max_sc / 63);
  *dmin_out = f32_to_fp16(max_mn / 63);
  pack_scale_min_k4(ls, lm, scales);
  const float d = fp16_to_f32(*d_out), dmin = fp16_to_f32(*dmin_out);
  for (int s = 0; s < 8; ++s) {
    const float ds = d * ls[s], dm = dmin * lm[s];
    for (int l = 0; l < 32; ++l)
      q[32 * s + l] = ds > 0 ? uint8_t(std::clamp(nearest((x[32 * s + l] + dm) / ds), 0, kNmax)) : 0;
  }
}

}  // namespace

void quantize_row_q4_k_weighted(const float* x, void* dst, int64_t n, const float* w) {
  auto* b = static_cast<BlockQ4_K*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK, w = at(w, kQKK)) {
    uint8_t q[256];
    affine_superblock<15>(x, w, &b[i].d, &b[i].dmin, b[i].scales, q);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) b[i].qs[32 * c + l] = uint8_t(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
  }
}

void quantize_row_q5_k(const float* x, void* dst, int64_t n, const float* w) {
  auto* b = static_cast<BlockQ5_K*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK, w = at(w, kQKK)) {
    uint8_t q[256];
    affine_superblock<31>(x, w, &b[i].d, &b[i].dmin, b[i].scales, q);
    std::memset(b[i].qh, 0, 32);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) {
        const uint8_t lo = q[64 * c + l], hi = q[64 * c + 32 + l];
        b[i].qs[32 * c + l] = uint8_t((lo & 0x0F) | ((hi & 0x0F) << 4));
        b[i].qh[l] |= uint8_t(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
      }
  }
}

void quantize_row_q6_k_weighted(const float* x, void* dst, int64_t n, const float* w) {
  auto* b = static_cast<BlockQ6_K*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK, w = at(w, kQKK)) {
    float sc[16], amax = 0, vmax = 0;
    for (int s = 0; s < 16; ++s) {
      int8_t codes[16];
      sc[s] = fit_signed(x + 16 * s, at(w, 16 * s), 16, 32, codes);
      if (std::fabs(sc[s]) > amax) amax = std::fabs(sc[s]), vmax = sc[s];
    }
    std::memset(&b[i], 0, sizeof(BlockQ6_K));
    uint8_t q[256];
    std::fill(q, q + 256, uint8_t(32));
    if (amax > 0) {
      const float iscale = -128.0f / vmax;
      b[i].d = f32_to_fp16(1 / iscale);
      for (int s = 0; s < 16; ++s) b[i].scales[s] = int8_t(std::clamp(nearest(iscale * sc[s]), -128, 127));
      const float d = fp16_to_f32(b[i].d);
      for (int j = 0; j < 256; ++j) {
        const float ds = d * float(b[i].scales[j / 16]);
        if (ds != 0) q[j] = uint8_t(std::clamp(nearest(x[j] / ds), -32, 31) + 32);
      }
    }
    pack_q6_k_codes(q, b[i].ql, b[i].qh);
  }
}

// Q2_K and Q3_K share an order: value 128·h + 32·k + 16·p + l sits in byte 32·h + 16·p + l of qs,
// at bit 2·k (and Q3_K's third bit in hmask byte 16·p + l, bit 4·h + k). Its group is 8·h + 2·k + p.
namespace {

void pack_2bit(const uint8_t* q, uint8_t* qs, uint8_t* hmask) {
  std::memset(qs, 0, 64);
  if (hmask) std::memset(hmask, 0, 32);
  for (int j = 0; j < 256; ++j) {
    const int h = j / 128, k = (j / 32) % 4, p = (j / 16) % 2, l = j % 16;
    qs[32 * h + 16 * p + l] |= uint8_t((q[j] & 3) << (2 * k));
    if (hmask) hmask[16 * p + l] |= uint8_t(((q[j] >> 2) & 1) << (4 * h + k));
  }
}

}  // namespace

void quantize_row_q2_k(const float* x, void* dst, int64_t n, const float* w) {
  auto* b = static_cast<BlockQ2_K*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK, w = at(w, kQKK)) {
    float sc[16], mn[16], max_sc = 0, max_mn = 0;
    for (int g = 0; g < 16; ++g) {
      uint8_t codes[16];
      float bias;
      sc[g] = fit_affine(x + 16 * g, at(w, 16 * g), 16, 3, true, &bias, codes);
      mn[g] = -bias;
      max_sc = std::max(max_sc, sc[g]), max_mn = std::max(max_mn, mn[g]);
    }
    b[i].d = f32_to_fp16(max_sc / 15);
    b[i].dmin = f32_to_fp16(max_mn / 15);
    const float d = fp16_to_f32(b[i].d), dmin = fp16_to_f32(b[i].dmin);
    uint8_t q[256];
    for (int g = 0; g < 16; ++g) {
      const int ls = d > 0 ? std::clamp(nearest(sc[g] / d), 0, 15) : 0;
      const int lm = dmin > 0 ? std::clamp(nearest(mn[g] / dmin), 0, 15) : 0;
      b[i].scales[g] = uint8_t(ls | (lm << 4));
      const float ds = d * float(ls), dm = dmin * float(lm);
      for (int l = 0; l < 16; ++l)
        q[16 * g + l] = ds > 0 ? uint8_t(std::clamp(nearest((x[16 * g + l] + dm) / ds), 0, 3)) : 0;
    }
    pack_2bit(q, b[i].qs, nullptr);
  }
}

void quantize_row_q3_k(const float* x, void* dst, int64_t n, const float* w) {
  auto* b = static_cast<BlockQ3_K*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK, w = at(w, kQKK)) {
    float sc[16], amax = 0, vmax = 0;
    for (int g = 0; g < 16; ++g) {
      int8_t codes[16];
      sc[g] = fit_signed(x + 16 * g, at(w, 16 * g), 16, 4, codes);
      if (std::fabs(sc[g]) > amax) amax = std::fabs(sc[g]), vmax = sc[g];
    }
    const float d_f = amax > 0 ? vmax / -32 : 0;
    b[i].d = f32_to_fp16(d_f);
    const float d = fp16_to_f32(b[i].d);
    uint8_t biased[16], q[256];
    for (int g = 0; g < 16; ++g) {
      const int l = d != 0 ? std::clamp(nearest(sc[g] / d), -32, 31) : 0;
      biased[g] = uint8_t(l + 32);
      const float ds = d * float(l);
      for (int k = 0; k < 16; ++k)
        q[16 * g + k] = uint8_t((ds != 0 ? std::clamp(nearest(x[16 * g + k] / ds), -4, 3) : 0) + 4);
    }
    pack_scales_q3_k(biased, b[i].scales);
    pack_2bit(q, b[i].qs, b[i].hmask);
  }
}

}  // namespace onprem::quant
