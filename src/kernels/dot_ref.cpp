// Scalar reference dot products. They accumulate in double so that they are the most accurate
// version; SIMD variants are held to tolerances derived from f32 rounding against these.
#include <cstring>

#include "core/half.h"
#include "kernels/variants.h"
#include "quant/blocks.h"
#include "quant/dequant.h"
#include "quant/quantize.h"

namespace onprem::kernels {

using core::fp16_to_f32;
using core::GgmlType;
namespace q = quant;

namespace {

// Weights × f32: decode one block at a time with the quant/ ground truth, then multiply.
template <int kBlock, int kBytes, void (*Dequant)(const void*, float*, int64_t)>
float dot_f32_blocked(const void* w, const float* x, int64_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(w);
  float buf[kBlock];
  double acc = 0;
  for (int64_t b = 0; b < n / kBlock; ++b) {
    Dequant(p + b * kBytes, buf, kBlock);
    for (int i = 0; i < kBlock; ++i) acc += double(buf[i]) * x[b * kBlock + i];
  }
  return float(acc);
}

float dot_f32_f32(const void* w, const float* x, int64_t n) {
  const float* a = static_cast<const float*>(w);
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += double(a[i]) * x[i];
  return float(acc);
}

float dot_f16_f32(const void* w, const float* x, int64_t n) {
  const uint16_t* a = static_cast<const uint16_t*>(w);
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += double(fp16_to_f32(a[i])) * x[i];
  return float(acc);
}

float dot_bf16_f32(const void* w, const float* x, int64_t n) {
  const uint16_t* a = static_cast<const uint16_t*>(w);
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += double(core::bf16_to_f32(a[i])) * x[i];
  return float(acc);
}

// F16 / BF16 weights × activations rounded to the same format (llama.cpp's order: it converts the
// activations before these products).
template <float (*Half)(uint16_t)>
float dot_16bit_16bit(const void* w, const void* xq, int64_t n) {
  const uint16_t* a = static_cast<const uint16_t*>(w);
  const uint16_t* b = static_cast<const uint16_t*>(xq);
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += double(Half(a[i])) * double(Half(b[i]));
  return float(acc);
}

// Weights × int8 activations: integer sums per (sub-)block, exact, then the float scales.
float dot_q8_0_q8_0(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockQ8_0*>(w);
  const auto* b = static_cast<const q::BlockQ8_0*>(xq);
  double acc = 0;
  for (int64_t i = 0; i < n / q::kQK; ++i) {
    int sum = 0;
    for (int j = 0; j < q::kQK; ++j) sum += a[i].qs[j] * b[i].qs[j];
    acc += double(fp16_to_f32(a[i].d)) * fp16_to_f32(b[i].d) * sum;
  }
  return float(acc);
}

float dot_q4_0_q8_0(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockQ4_0*>(w);
  const auto* b = static_cast<const q::BlockQ8_0*>(xq);
  double acc = 0;
  for (int64_t i = 0; i < n / q::kQK; ++i) {
    int sum = 0;
    for (int j = 0; j < 16; ++j)
      sum += ((a[i].qs[j] & 0x0F) - 8) * b[i].qs[j] + ((a[i].qs[j] >> 4) - 8) * b[i].qs[j + 16];
    acc += double(fp16_to_f32(a[i].d)) * fp16_to_f32(b[i].d) * sum;
  }
  return float(acc);
}

// Q4_K and Q5_K share the super-block layout (6-bit scales and minimums, 4-bit codes); Q5_K adds
// a fifth bit per code from qh.
template <typename Block, bool kFive>
float dot_qk45_q8_k(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const Block*>(w);
  const auto* b = static_cast<const q::BlockQ8_K*>(xq);
  double acc = 0;
  for (int64_t i = 0; i < n / q::kQKK; ++i) {
    int64_t scaled = 0, mins = 0;
    for (int c = 0; c < 4; ++c) {
      for (int h = 0; h < 2; ++h) {
        const int s = 2 * c + h;
        uint8_t sc, m;
        q::unpack_scale_min_k4(s, a[i].scales, &sc, &m);
        int sum = 0;
        for (int l = 0; l < 32; ++l) {
          int code = h ? (a[i].qs[32 * c + l] >> 4) : (a[i].qs[32 * c + l] & 0x0F);
          if constexpr (kFive) code += ((a[i].qh[l] >> s) & 1) << 4;
          sum += code * b[i].qs[32 * s + l];
        }
        scaled += int64_t(sc) * sum;
        mins += int64_t(m) * (b[i].bsums[2 * s] + b[i].bsums[2 * s + 1]);
      }
    }
    acc +=
        double(b[i].d) * (double(fp16_to_f32(a[i].d)) * double(scaled) - double(fp16_to_f32(a[i].dmin)) * double(mins));
  }
  return float(acc);
}

float dot_q6_k_q8_k(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockQ6_K*>(w);
  const auto* b = static_cast<const q::BlockQ8_K*>(xq);
  double acc = 0;
  for (int64_t i = 0; i < n / q::kQKK; ++i) {
    int8_t codes[256];
    for (int half = 0; half < 2; ++half) {
      const uint8_t* L = a[i].ql + 64 * half;
      const uint8_t* H = a[i].qh + 32 * half;
      int8_t* Q = codes + 128 * half;
      for (int l = 0; l < 32; ++l) {
        Q[l] = int8_t(((L[l] & 0x0F) | (((H[l] >> 0) & 3) << 4)) - 32);
        Q[l + 32] = int8_t(((L[l + 32] & 0x0F) | (((H[l] >> 2) & 3) << 4)) - 32);
        Q[l + 64] = int8_t(((L[l] >> 4) | (((H[l] >> 4) & 3) << 4)) - 32);
        Q[l + 96] = int8_t(((L[l + 32] >> 4) | (((H[l] >> 6) & 3) << 4)) - 32);
      }
    }
    int64_t sum = 0;
    for (int s = 0; s < 16; ++s) {
      int part = 0;
      for (int l = 0; l < 16; ++l) part += codes[16 * s + l] * b[i].qs[16 * s + l];
      sum += int64_t(a[i].scales[s]) * part;
    }
    acc += double(fp16_to_f32(a[i].d)) * b[i].d * double(sum);
  }
  return float(acc);
}

// Weights × int8 activations for the types without an integer kernel yet: both sides decoded with
// the quant/ ground truth, block by block, multiplied in double. The activations are rounded to
// int8 exactly as llama.cpp rounds them for these types (Q8_0 blocks of 32, or Q8_K blocks of
// 256; Q4_1 and Q5_1 use Q8_0, whose codes are those of llama.cpp's Q8_1), so the products match
// its own up to float rounding.
template <int kBlock, int kBytes, void (*Dequant)(const void*, float*, int64_t), GgmlType kAct>
float dot_q8_decoded(const void* w, const void* xq, int64_t n) {
  static_assert(kAct == GgmlType::kQ8_0 ? kBlock == 32 : kBlock == 256);
  constexpr int kActBytes = kAct == GgmlType::kQ8_0 ? 34 : 292;
  const uint8_t* p = static_cast<const uint8_t*>(w);
  const uint8_t* x = static_cast<const uint8_t*>(xq);
  float wb[kBlock], xb[kBlock];
  double acc = 0;
  for (int64_t b = 0; b < n / kBlock; ++b) {
    Dequant(p + b * kBytes, wb, kBlock);
    if constexpr (kAct == GgmlType::kQ8_0)
      q::dequantize_row_q8_0(x + b * kActBytes, xb, kBlock);
    else
      q::dequantize_row_q8_k(x + b * kActBytes, xb, kBlock);
    for (int i = 0; i < kBlock; ++i) acc += double(wb[i]) * double(xb[i]);
  }
  return float(acc);
}

}  // namespace

void fill_scalar(Kernels& k);
void fill_scalar_ops(Kernels& k);

void fill_scalar(Kernels& k) {
  auto set = [&](GgmlType t, DotF32Fn f, DotQ8Fn qf, GgmlType act) {
    k.types[static_cast<uint32_t>(t)] = TypeKernels{.dot_f32 = f, .dot_q8 = qf, .act_type = act};
  };
  set(GgmlType::kF32, dot_f32_f32, nullptr, GgmlType::kF32);
  set(GgmlType::kF16, dot_f16_f32, dot_16bit_16bit<core::fp16_to_f32>, GgmlType::kF16);
  set(GgmlType::kBF16, dot_bf16_f32, dot_16bit_16bit<core::bf16_to_f32>, GgmlType::kBF16);
  set(GgmlType::kQ4_0, dot_f32_blocked<32, 18, q::dequantize_row_q4_0>, dot_q4_0_q8_0, GgmlType::kQ8_0);
  set(GgmlType::kQ8_0, dot_f32_blocked<32, 34, q::dequantize_row_q8_0>, dot_q8_0_q8_0, GgmlType::kQ8_0);
  set(GgmlType::kQ4_K, dot_f32_blocked<256, 144, q::dequantize_row_q4_k>, dot_qk45_q8_k<q::BlockQ4_K, false>,
      GgmlType::kQ8_K);
  set(GgmlType::kQ5_K, dot_f32_blocked<256, 176, q::dequantize_row_q5_k>, dot_qk45_q8_k<q::BlockQ5_K, true>,
      GgmlType::kQ8_K);
  set(GgmlType::kQ6_K, dot_f32_blocked<256, 210, q::dequantize_row_q6_k>, dot_q6_k_q8_k, GgmlType::kQ8_K);
  // Decoded, not yet integer kernels (every table inherits these).
  auto row_decoder = [&](GgmlType t, void (*decode)(const void*, float*, int64_t)) {
    k.types[static_cast<uint32_t>(t)].decode_row = decode;
    k.types[static_cast<uint32_t>(t)].decoded_dot_f32 = k.types[static_cast<uint32_t>(t)].dot_f32;
  };
  row_decoder(GgmlType::kQ4_0, q::dequantize_row_q4_0);
  row_decoder(GgmlType::kQ8_0, q::dequantize_row_q8_0);
  row_decoder(GgmlType::kQ4_K, q::dequantize_row_q4_k);
  row_decoder(GgmlType::kQ5_K, q::dequantize_row_q5_k);
  row_decoder(GgmlType::kQ6_K, q::dequantize_row_q6_k);
  auto decoded = [&]<int kBlock, int kBytes, void (*D)(const void*, float*, int64_t), GgmlType kAct>(GgmlType t) {
    set(t, dot_f32_blocked<kBlock, kBytes, D>, dot_q8_decoded<kBlock, kBytes, D, kAct>, kAct);
    row_decoder(t, D);
  };
  decoded.operator()<32, 20, q::dequantize_row_q4_1, GgmlType::kQ8_0>(GgmlType::kQ4_1);
  decoded.operator()<32, 22, q::dequantize_row_q5_0, GgmlType::kQ8_0>(GgmlType::kQ5_0);
  decoded.operator()<32, 24, q::dequantize_row_q5_1, GgmlType::kQ8_0>(GgmlType::kQ5_1);
  decoded.operator()<32, 18, q::dequantize_row_iq4_nl, GgmlType::kQ8_0>(GgmlType::kIQ4_NL);
  decoded.operator()<32, 17, q::dequantize_row_mxfp4, GgmlType::kQ8_0>(GgmlType::kMXFP4);
  decoded.operator()<256, 84, q::dequantize_row_q2_k, GgmlType::kQ8_K>(GgmlType::kQ2_K);
  decoded.operator()<256, 110, q::dequantize_row_q3_k, GgmlType::kQ8_K>(GgmlType::kQ3_K);
  decoded.operator()<256, 136, q::dequantize_row_iq4_xs, GgmlType::kQ8_K>(GgmlType::kIQ4_XS);
  decoded.operator()<256, 66, q::dequantize_row_iq2_xxs, GgmlType::kQ8_K>(GgmlType::kIQ2_XXS);
  decoded.operator()<256, 74, q::dequantize_row_iq2_xs, GgmlType::kQ8_K>(GgmlType::kIQ2_XS);
  decoded.operator()<256, 82, q::dequantize_row_iq2_s, GgmlType::kQ8_K>(GgmlType::kIQ2_S);
  decoded.operator()<256, 98, q::dequantize_row_iq3_xxs, GgmlType::kQ8_K>(GgmlType::kIQ3_XXS);
  decoded.operator()<256, 110, q::dequantize_row_iq3_s, GgmlType::kQ8_K>(GgmlType::kIQ3_S);
  decoded.operator()<256, 50, q::dequantize_row_iq1_s, GgmlType::kQ8_K>(GgmlType::kIQ1_S);
  decoded.operator()<256, 56, q::dequantize_row_iq1_m, GgmlType::kQ8_K>(GgmlType::kIQ1_M);
  k.quantize_q8_0 = q::quantize_row_q8_0_act;
  k.convert_f16 = q::quantize_row_f16;
  k.convert_bf16 = q::quantize_row_bf16;
  k.quantize_q8_k = q::quantize_row_q8_k;
  fill_scalar_ops(k);
}

}  // namespace onprem::kernels
