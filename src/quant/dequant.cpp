#include "quant/dequant.h"

#include <cstring>

#include "core/half.h"
#include "quant/blocks.h"

namespace onprem::quant {

using core::fp16_to_f32;

void dequantize_row_f32(const void* src, float* dst, int64_t n) { std::memcpy(dst, src, size_t(n) * 4); }

void dequantize_row_f16(const void* src, float* dst, int64_t n) {
  const uint16_t* s = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_f32(s[i]);
}

void dequantize_row_bf16(const void* src, float* dst, int64_t n) {
  const uint16_t* s = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = core::bf16_to_f32(s[i]);
}

void dequantize_row_q4_0(const void* src, float* dst, int64_t n) {
  const BlockQ4_0* b = static_cast<const BlockQ4_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = fp16_to_f32(b[i].d);
    for (int j = 0; j < 16; ++j) {
      dst[j] = d * float((b[i].qs[j] & 0x0F) - 8);
      dst[j + 16] = d * float((b[i].qs[j] >> 4) - 8);
    }
  }
}

void dequantize_row_q8_0(const void* src, float* dst, int64_t n) {
  const BlockQ8_0* b = static_cast<const BlockQ8_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = fp16_to_f32(b[i].d);
    for (int j = 0; j < kQK; ++j) dst[j] = d * float(b[i].qs[j]);
  }
}

void dequantize_row_q4_k(const void* src, float* dst, int64_t n) {
  const BlockQ4_K* b = static_cast<const BlockQ4_K*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = fp16_to_f32(b[i].d), dmin = fp16_to_f32(b[i].dmin);
    for (int c = 0; c < 4; ++c, dst += 64) {
      uint8_t sc0, m0, sc1, m1;
      unpack_scale_min_k4(2 * c, b[i].scales, &sc0, &m0);
      unpack_scale_min_k4(2 * c + 1, b[i].scales, &sc1, &m1);
      const float d0 = d * sc0, n0 = dmin * m0, d1 = d * sc1, n1 = dmin * m1;
      const uint8_t* q = b[i].qs + 32 * c;
      for (int l = 0; l < 32; ++l) {
        dst[l] = d0 * float(q[l] & 0x0F) - n0;
        dst[l + 32] = d1 * float(q[l] >> 4) - n1;
      }
    }
  }
}

void dequantize_row_q5_k(const void* src, float* dst, int64_t n) {
  const BlockQ5_K* b = static_cast<const BlockQ5_K*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = fp16_to_f32(b[i].d), dmin = fp16_to_f32(b[i].dmin);
    for (int c = 0; c < 4; ++c, dst += 64) {
      uint8_t sc0, m0, sc1, m1;
      unpack_scale_min_k4(2 * c, b[i].scales, &sc0, &m0);
      unpack_scale_min_k4(2 * c + 1, b[i].scales, &sc1, &m1);
      const float d0 = d * sc0, n0 = dmin * m0, d1 = d * sc1, n1 = dmin * m1;
      const uint8_t* q = b[i].qs + 32 * c;
      for (int l = 0; l < 32; ++l) {
        const int lo = (q[l] & 0x0F) + (((b[i].qh[l] >> (2 * c)) & 1) << 4);
        const int hi = (q[l] >> 4) + (((b[i].qh[l] >> (2 * c + 1)) & 1) << 4);
        dst[l] = d0 * float(lo) - n0;
        dst[l + 32] = d1 * float(hi) - n1;
      }
    }
  }
}

void dequantize_row_q6_k(const void* src, float* dst, int64_t n) {
  const BlockQ6_K* b = static_cast<const BlockQ6_K*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = fp16_to_f32(b[i].d);
    for (int half = 0; half < 2; ++half, dst += 128) {
      const uint8_t* L = b[i].ql + 64 * half;
      const uint8_t* H = b[i].qh + 32 * half;
      const int8_t* S = b[i].scales + 8 * half;
      for (int l = 0; l < 32; ++l) {
        const int t = l / 16;
        const int q0 = ((L[l] & 0x0F) | (((H[l] >> 0) & 3) << 4)) - 32;
        const int q1 = ((L[l + 32] & 0x0F) | (((H[l] >> 2) & 3) << 4)) - 32;
        const int q2 = ((L[l] >> 4) | (((H[l] >> 4) & 3) << 4)) - 32;
        const int q3 = ((L[l + 32] >> 4) | (((H[l] >> 6) & 3) << 4)) - 32;
        dst[l] = d * float(S[t]) * float(q0);
        dst[l + 32] = d * float(S[t + 2]) * float(q1);
        dst[l + 64] = d * float(S[t + 4]) * float(q2);
        dst[l + 96] = d * float(S[t + 6]) * float(q3);
      }
    }
  }
}

void dequantize_row_q8_k(const void* src, float* dst, int64_t n) {
  const BlockQ8_K* b = static_cast<const BlockQ8_K*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i, dst += kQKK)
    for (int j = 0; j < kQKK; ++j) dst[j] = b[i].d * float(b[i].qs[j]);
}

DequantizeFn dequantizer(core::GgmlType type) {
  using core::GgmlType;
  switch (type) {
    case GgmlType::kF32:
      return dequantize_row_f32;
    case GgmlType::kF16:
      return dequantize_row_f16;
    case GgmlType::kBF16:
      return dequantize_row_bf16;
    case GgmlType::kQ4_0:
      return dequantize_row_q4_0;
    case GgmlType::kQ8_0:
      return dequantize_row_q8_0;
    case GgmlType::kQ4_K:
      return dequantize_row_q4_k;
    case GgmlType::kQ5_K:
      return dequantize_row_q5_k;
    case GgmlType::kQ6_K:
      return dequantize_row_q6_k;
    case GgmlType::kQ8_K:
      return dequantize_row_q8_k;
    case GgmlType::kQ4_1:
      return dequantize_row_q4_1;
    case GgmlType::kQ5_0:
      return dequantize_row_q5_0;
    case GgmlType::kQ5_1:
      return dequantize_row_q5_1;
    case GgmlType::kQ2_K:
      return dequantize_row_q2_k;
    case GgmlType::kQ3_K:
      return dequantize_row_q3_k;
    case GgmlType::kIQ4_NL:
      return dequantize_row_iq4_nl;
    case GgmlType::kIQ4_XS:
      return dequantize_row_iq4_xs;
    case GgmlType::kMXFP4:
      return dequantize_row_mxfp4;
    case GgmlType::kIQ2_XXS:
      return dequantize_row_iq2_xxs;
    case GgmlType::kIQ2_XS:
      return dequantize_row_iq2_xs;
    case GgmlType::kIQ2_S:
      return dequantize_row_iq2_s;
    case GgmlType::kIQ3_XXS:
      return dequantize_row_iq3_xxs;
    case GgmlType::kIQ3_S:
      return dequantize_row_iq3_s;
    case GgmlType::kIQ1_S:
      return dequantize_row_iq1_s;
    case GgmlType::kIQ1_M:
      return dequantize_row_iq1_m;
    default:
      return nullptr;
  }
}

bool can_dequantize(core::GgmlType type) { return dequantizer(type) != nullptr; }

std::string decodable_type_names() {
  std::string out;
  for (uint32_t id = 0; id < 64; ++id) {
    const auto info = core::ggml_type_info(id);
    if (!info || info->type == core::GgmlType::kQ8_K || !can_dequantize(info->type))
      continue;  // Q8_K: activations only
    out += (out.empty() ? "" : ", ") + std::string(info->name);
  }
  return out;
}

}  // namespace onprem::quant
