// Scalar decoders of the types published files use below 4 bits per weight, and of the older
// 32-value types: the ground truth their kernels are tested against (formats.md §3; the block
// layouts are in blocks.h).
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "quant/blocks.h"
#include "quant/dequant.h"

namespace onprem::quant {

using core::fp16_to_f32;

namespace {

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The 5-bit code j (0..31) of a Q5_0 / Q5_1 block.
int code5(const uint8_t* qs, uint32_t qh, int j) {
  const int low = j < 16 ? (qs[j] & 0x0F) : (qs[j - 16] >> 4);
  return low | int((qh >> j) & 1) << 4;
}

}  // namespace

void dequantize_row_q4_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ4_1*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = fp16_to_f32(b[i].d), m = fp16_to_f32(b[i].m);
    for (int j = 0; j < 16; ++j) {
      dst[j] = d * float(b[i].qs[j] & 0x0F) + m;
      dst[j + 16] = d * float(b[i].qs[j] >> 4) + m;
    }
  }
}

void dequantize_row_q5_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ5_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = fp16_to_f32(b[i].d);
    const uint32_t qh = load_u32(b[i].qh);
    for (int j = 0; j < kQK; ++j) dst[j] = d * float(code5(b[i].qs, qh, j) - 16);
  }
}

void dequantize_row_q5_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ5_1*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = fp16_to_f32(b[i].d), m = fp16_to_f32(b[i].m);
    const uint32_t qh = load_u32(b[i].qh);
    for (int j = 0; j < kQK; ++j) dst[j] = d * float(code5(b[i].qs, qh, j)) + m;
  }
}

void dequantize_row_iq4_nl(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ4_NL*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = fp16_to_f32(b[i].d);
    for (int j = 0; j < 16; ++j) {
      dst[j] = d * float(kIq4Levels[b[i].qs[j] & 0x0F]);
      dst[j + 16] = d * float(kIq4Levels[b[i].qs[j] >> 4]);
    }
  }
}

void dequantize_row_iq4_xs(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ4_XS*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = fp16_to_f32(b[i].d);
    for (int s = 0; s < 8; ++s, dst += 32) {
      const int scale = ((b[i].scales_l[s / 2] >> (4 * (s % 2))) & 0x0F) | (((b[i].scales_h >> (2 * s)) & 3) << 4);
      const float dl = d * float(scale - 32);
      const uint8_t* qs = b[i].qs + 16 * s;
      for (int j = 0; j < 16; ++j) {
        dst[j] = dl * float(kIq4Levels[qs[j] & 0x0F]);
        dst[j + 16] = dl * float(kIq4Levels[qs[j] >> 4]);
      }
    }
  }
}

// Q2_K and Q3_K order: two halves of 128 values, each 32 bytes of qs read four times (shift 0,
// 2, 4, 6); each read covers 32 values as two groups of 16 with their own scale.
void dequantize_row_q2_k(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ2_K*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = fp16_to_f32(b[i].d), dmin = fp16_to_f32(b[i].dmin);
    int g = 0;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = b[i].qs + 32 * half;
      for (int shift = 0; shift < 8; shift += 2)
        for (int part = 0; part < 2; ++part, ++g) {
          const float dl = d * float(b[i].scales[g] & 0x0F), ml = dmin * float(b[i].scales[g] >> 4);
          for (int l = 0; l < 16; ++l) *dst++ = dl * float((q[16 * part + l] >> shift) & 3) - ml;
        }
    }
  }
}

void dequantize_row_q3_k(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ3_K*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = fp16_to_f32(b[i].d);
    int8_t scales[16];
    unpack_scales_q3_k(b[i].scales, scales);
    int g = 0, bit = 0;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = b[i].qs + 32 * half;
      for (int shift = 0; shift < 8; shift += 2, ++bit)
        for (int part = 0; part < 2; ++part, ++g) {
          const float dl = d * float(scales[g] - 32);
          for (int l = 0; l < 16; ++l) {
            const int k = 16 * part + l;
            const int code = ((q[k] >> shift) & 3) - ((b[i].hmask[k] >> bit) & 1 ? 0 : 4);
            *dst++ = dl * float(code);
          }
        }
    }
  }
}

void dequantize_row_mxfp4(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockMXFP4*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = mxfp4_scale(b[i].e);
    for (int j = 0; j < 16; ++j) {
      dst[j] = d * float(kMxfp4Levels[b[i].qs[j] & 0x0F]);
      dst[j + 16] = d * float(kMxfp4Levels[b[i].qs[j] >> 4]);
    }
  }
}

}  // namespace onprem::quant
