// Scalar decoders of the lattice formats IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S and IQ1_M:
// the ground truth for their kernels (block layouts in blocks.h, lattices in iq_grids.h).
#include <cstring>

#include "core/half.h"
#include "quant/blocks.h"
#include "quant/dequant.h"
#include "quant/iq_grids.h"

namespace onprem::quant {

using core::fp16_to_f32;

namespace {

// Writes n lattice values times scale, negated where the sign bit is set.
template <size_t kN>
void put_signed(float* y, const std::array<int8_t, kN>& grid, uint8_t signs, float scale, int first_bit = 0) {
  for (size_t j = 0; j < kN; ++j) y[j] = scale * float(grid[j]) * ((signs >> (first_bit + int(j))) & 1 ? -1.0f : 1.0f);
}

}  // namespace

void dequantize_row_iq2_xxs(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ2_XXS*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = fp16_to_f32(b[i].d);
    for (int g = 0; g < 8; ++g) {
      uint32_t w[2];
      std::memcpy(w, b[i].qs + 4 * g, 8);
      const float scale = d * (0.5f + float(w[1] >> 28)) * 0.25f;
      for (int l = 0; l < 4; ++l, dst += 8)
        put_signed(dst, kIq2xxsGrid[(w[0] >> (8 * l)) & 255], iq_signs(w[1] >> (7 * l)), scale);
    }
  }
}

void dequantize_row_iq2_xs(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ2_XS*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = fp16_to_f32(b[i].d);
    for (int g = 0; g < 8; ++g) {
      const float scales[2] = {d * (0.5f + float(b[i].scales[g] & 15)) * 0.25f,
                               d * (0.5f + float(b[i].scales[g] >> 4)) * 0.25f};
      for (int l = 0; l < 4; ++l, dst += 8) {
        const uint16_t q = b[i].qs[4 * g + l];
        put_signed(dst, kIq2xsGrid[q & 511], iq_signs(q >> 9), scales[l / 2]);
      }
    }
  }
}

void dequantize_row_iq2_s(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ2_S*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = fp16_to_f32(b[i].d);
    const uint8_t* qs = b[i].qs;
    const uint8_t* signs = b[i].qs + 32;
    for (int g = 0; g < 8; ++g, qs += 4, signs += 4) {
      const float scales[2] = {d * (0.5f + float(b[i].scales[g] & 15)) * 0.25f,
                               d * (0.5f + float(b[i].scales[g] >> 4)) * 0.25f};
      for (int l = 0; l < 4; ++l, dst += 8) {
        const int index = qs[l] | ((b[i].qh[g] >> (2 * l)) & 3) << 8;
        put_signed(dst, kIq2sGrid[size_t(index)], signs[l], scales[l / 2]);
      }
    }
  }
}

void dequantize_row_iq3_xxs(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ3_XXS*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = fp16_to_f32(b[i].d);
    const uint8_t* qs = b[i].qs;
    for (int g = 0; g < 8; ++g, qs += 8) {
      uint32_t w;
      std::memcpy(&w, b[i].qs + 64 + 4 * g, 4);
      const float scale = d * (0.5f + float(w >> 28)) * 0.5f;
      for (int l = 0; l < 4; ++l, dst += 8) {
        const uint8_t signs = iq_signs(w >> (7 * l));
        put_signed(dst, kIq3xxsGrid[qs[2 * l]], signs, scale, 0);
        put_signed(dst + 4, kIq3xxsGrid[qs[2 * l + 1]], signs, scale, 4);
      }
    }
  }
}

void dequantize_row_iq3_s(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ3_S*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = fp16_to_f32(b[i].d);
    const uint8_t* qs = b[i].qs;
    const uint8_t* signs = b[i].signs;
    for (int g = 0; g < 8; ++g, qs += 8, signs += 4) {
      const int scale4 = g % 2 ? b[i].scales[g / 2] >> 4 : b[i].scales[g / 2] & 15;
      const float scale = d * float(1 + 2 * scale4);
      const int high = b[i].qh[g];
      for (int l = 0; l < 4; ++l, dst += 8) {
        const int i0 = qs[2 * l] | ((high >> (2 * l)) & 1) << 8, i1 = qs[2 * l + 1] | ((high >> (2 * l + 1)) & 1) << 8;
        put_signed(dst, kIq3sGrid[size_t(i0)], signs[l], scale, 0);
        put_signed(dst + 4, kIq3sGrid[size_t(i1)], signs[l], scale, 4);
      }
    }
  }
}

void dequantize_row_iq1_s(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ1_S*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = fp16_to_f32(b[i].d);
    for (int g = 0; g < 8; ++g) {
      const uint16_t h = b[i].qh[g];
      const float scale = d * float(2 * ((h >> 12) & 7) + 1), delta = h & 0x8000 ? -kIq1Delta : kIq1Delta;
      for (int l = 0; l < 4; ++l, dst += 8) {
        const auto& grid = kIq1sGrid[size_t(b[i].qs[4 * g + l] | ((h >> (3 * l)) & 7) << 8)];
        for (int j = 0; j < 8; ++j) dst[j] = scale * (float(grid[size_t(j)]) + delta);
      }
    }
  }
}

void dequantize_row_iq1_m(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ1_M*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    uint16_t sc[4];
    std::memcpy(sc, b[i].scales, 8);
    const float d = fp16_to_f32(iq1_m_scale_bits(sc));
    for (int g = 0; g < 8; ++g) {
      const uint8_t* qs = b[i].qs + 4 * g;
      const uint8_t* qh = b[i].qh + 2 * g;
      const int shift = 6 * (g % 2);
      const float scales[2] = {d * float(2 * ((sc[g / 2] >> shift) & 7) + 1),
                               d * float(2 * ((sc[g / 2] >> (shift + 3)) & 7) + 1)};
      for (int l = 0; l < 4; ++l, dst += 8) {
        const int h = qh[l / 2] >> (4 * (l % 2));  // 3 index bits, then the shift's sign
        const auto& grid = kIq1sGrid[size_t(qs[l] | (h & 7) << 8)];
        const float delta = h & 8 ? -kIq1Delta : kIq1Delta;
        for (int j = 0; j < 8; ++j) dst[j] = scales[l / 2] * (float(grid[size_t(j)]) + delta);
      }
    }
  }
}

}  // namespace onprem::quant
