// AVX2 dot products (f32 activations: FMA on decoded weights; int8 activations: maddubs/madd
// integer sums per block, exact, then the float scales). Contracts in kernels.h.
#include <cstring>

#include "core/half.h"
#include "kernels/simd_avx2.h"
#include "kernels/variants.h"
#include "quant/blocks.h"

namespace onprem::kernels {

namespace {

using namespace avx2;
namespace q = quant;

inline float half(uint16_t h) { return _cvtsh_ss(h); }

// ---- float weights ----

float dot_f32(const void* w, const float* x, int64_t n) {
  const float* a = static_cast<const float*>(w);
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(x + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(x + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(x + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(x + i + 24), s3);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(x + i), s0);
  float s = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; i < n; ++i) s += a[i] * x[i];
  return s;
}

inline __m256 load_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline __m256 load_bf16(const uint16_t* p) {
  const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

float bf16_scalar(uint16_t b) { return core::bf16_to_f32(b); }
inline __m256 load_f32(const float* p) { return _mm256_loadu_ps(p); }
inline float f32_scalar(float f) { return f; }

// F16 / BF16 weights times activations of type X: f32 (dot_f32), or rounded to the weights' own
// format as llama.cpp rounds them (dot_q8; see dot_ref.cpp).
template <__m256 (*Load)(const uint16_t*), float (*Scalar)(uint16_t), typename X, __m256 (*LoadX)(const X*),
          float (*ScalarX)(X)>
float dot_16bit_rows(const uint16_t* a, const X* x, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    prefetch_ahead<32>(a + i);
    s0 = _mm256_fmadd_ps(Load(a + i), LoadX(x + i), s0);
    s1 = _mm256_fmadd_ps(Load(a + i + 8), LoadX(x + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(Load(a + i), LoadX(x + i), s0);
  float s = hsum(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) s += Scalar(a[i]) * ScalarX(x[i]);
  return s;
}
template <__m256 (*Load)(const uint16_t*), float (*Scalar)(uint16_t)>
float dot_16bit(const void* w, const float* x, int64_t n) {
  return dot_16bit_rows<Load, Scalar, float, load_f32, f32_scalar>(static_cast<const uint16_t*>(w), x, n);
}
template <__m256 (*Load)(const uint16_t*), float (*Scalar)(uint16_t)>
float dot_16bit_16bit(const void* w, const void* xq, int64_t n) {
  return dot_16bit_rows<Load, Scalar, uint16_t, Load, Scalar>(static_cast<const uint16_t*>(w),
                                                              static_cast<const uint16_t*>(xq), n);
}

// 32 signed codes (one __m256i) times 32 floats, scaled: acc += scale * Σ code_i x_i.
inline __m256 fma_codes32(__m256i codes, const float* x, __m256 scale, __m256 acc) {
  const __m128i lo = _mm256_castsi256_si128(codes), hi = _mm256_extracti128_si256(codes, 1);
  __m256 s = _mm256_mul_ps(i8x8_to_f32(lo), _mm256_loadu_ps(x));
  s = _mm256_fmadd_ps(i8x8_to_f32(_mm_srli_si128(lo, 8)), _mm256_loadu_ps(x + 8), s);
  s = _mm256_fmadd_ps(i8x8_to_f32(hi), _mm256_loadu_ps(x + 16), s);
  s = _mm256_fmadd_ps(i8x8_to_f32(_mm_srli_si128(hi, 8)), _mm256_loadu_ps(x + 24), s);
  return _mm256_fmadd_ps(s, scale, acc);
}

inline __m256 sum32(const float* x) {
  return _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8)),
                       _mm256_add_ps(_mm256_loadu_ps(x + 16), _mm256_loadu_ps(x + 24)));
}

// ---- quantised weights, f32 activations ----

float dot_q8_0_f32(const void* w, const float* x, int64_t n) {
  const auto* b = static_cast<const q::BlockQ8_0*>(w);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 32; ++i, x += 32)
    acc = fma_codes32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs)), x, _mm256_set1_ps(half(b[i].d)),
                      acc);
  return hsum(acc);
}

float dot_q4_0_f32(const void* w, const float* x, int64_t n) {
  const auto* b = static_cast<const q::BlockQ4_0*>(w);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 32; ++i, x += 32)
    acc = fma_codes32(q4_0_codes(b[i].qs), x, _mm256_set1_ps(half(b[i].d)), acc);
  return hsum(acc);
}

// Q4_K / Q5_K: value = d·sc·code − dmin·m per 32-value sub-block.
template <bool kFive>
float dot_qk45_f32(const void* w, const float* x, int64_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(w);
  const int64_t stride = kFive ? 176 : 144;
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i, p += stride) {
    uint16_t dh, mh;
    std::memcpy(&dh, p, 2);
    std::memcpy(&mh, p + 2, 2);
    const float d = half(dh), dmin = half(mh);
    const uint8_t* scales = p + 4;
    const uint8_t* qs = p + (kFive ? 48 : 16);
    const __m256i qh = kFive ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16)) : _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * c));
      for (int h = 0; h < 2; ++h) {
        const int s = 2 * c + h;
        uint8_t sc, m;
        q::unpack_scale_min_k4(s, scales, &sc, &m);
        const __m256i codes = qk45_codes(raw, h, s, kFive, qh);
        const float* xs = x + 256 * i + 32 * s;
        acc = fma_codes32(codes, xs, _mm256_set1_ps(d * sc), acc);
        acc = _mm256_fnmadd_ps(sum32(xs), _mm256_set1_ps(dmin * m), acc);
      }
    }
  }
  return hsum(acc);
}

float dot_q6_k_f32(const void* w, const float* x, int64_t n) {
  const auto* b = static_cast<const q::BlockQ6_K*>(w);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i) {
    const float d = half(b[i].d);
    for (int hf = 0; hf < 2; ++hf) {
      __m256i codes[4];
      q6_codes(b[i].ql + 64 * hf, b[i].qh + 32 * hf, codes);
      const int8_t* S = b[i].scales + 8 * hf;
      for (int j = 0; j < 4; ++j) {
        const __m256i c = _mm256_sub_epi8(codes[j], _mm256_set1_epi8(32));
        const float* xs = x + 256 * i + 128 * hf + 32 * j;
        const __m128i lo = _mm256_castsi256_si128(c), hi = _mm256_extracti128_si256(c, 1);
        const __m256 sa = _mm256_set1_ps(d * S[2 * j]), sb = _mm256_set1_ps(d * S[2 * j + 1]);
        __m256 t = _mm256_mul_ps(i8x8_to_f32(lo), _mm256_loadu_ps(xs));
        t = _mm256_fmadd_ps(i8x8_to_f32(_mm_srli_si128(lo, 8)), _mm256_loadu_ps(xs + 8), t);
        acc = _mm256_fmadd_ps(t, sa, acc);
        t = _mm256_mul_ps(i8x8_to_f32(hi), _mm256_loadu_ps(xs + 16));
        t = _mm256_fmadd_ps(i8x8_to_f32(_mm_srli_si128(hi, 8)), _mm256_loadu_ps(xs + 24), t);
        acc = _mm256_fmadd_ps(t, sb, acc);
      }
    }
  }
  return hsum(acc);
}

// ---- quantised weights, int8 activations ----

// Each int8 kernel is written once for T activation rows (prefill: T tokens share every decoded
// weight block; decode: T = 1), with AVX2's int8 primitive (simd_avx2.h).
// Tokens per multi-token call: 4 accumulators leave registers for the codes, the scale and the
// activations of the 16 the AVX2 file has.
constexpr int kRowTokens = 4;

template <int T>
void dot_q8_0_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  q32_q8_rows<T, q8_0_block_codes, dot_u8s8_avx2>(static_cast<const uint8_t*>(w), sizeof(q::BlockQ8_0),
                                                  reinterpret_cast<const q::BlockQ8_0* const*>(xq), n, out);
}
template <int T>
void dot_q4_0_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  q32_q8_rows<T, q4_0_block_codes, dot_u8s8_avx2>(static_cast<const uint8_t*>(w), sizeof(q::BlockQ4_0),
                                                  reinterpret_cast<const q::BlockQ8_0* const*>(xq), n, out);
}
template <bool kFive, int T>
void dot_qk45_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  qk45_q8_rows<kFive, T>(static_cast<const uint8_t*>(w), reinterpret_cast<const q::BlockQ8_K* const*>(xq), n, out);
}
template <int T>
void dot_q6_k_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  q6k_q8_rows<T>(static_cast<const q::BlockQ6_K*>(w), reinterpret_cast<const q::BlockQ8_K* const*>(xq), n, out);
}

}  // namespace

void fill_avx2_ops(Kernels& k);

void fill_avx2(Kernels& k) {
  using core::GgmlType;
  auto set = [&](GgmlType t, DotF32Fn f, DotQ8Fn qf) {
    auto& e = k.types[static_cast<uint32_t>(t)];
    e.dot_f32 = f;
    if (qf) e.dot_q8 = qf;
  };
  set(GgmlType::kF32, dot_f32, nullptr);
  set(GgmlType::kF16, dot_16bit<load_f16, half>, dot_16bit_16bit<load_f16, half>);
  set(GgmlType::kBF16, dot_16bit<load_bf16, bf16_scalar>, dot_16bit_16bit<load_bf16, bf16_scalar>);
  auto multi = [&](GgmlType t, DotF32Fn f, DotQ8Fn one, DotQ8MultiFn rows) {
    set(t, f, one);
    k.types[static_cast<uint32_t>(t)].dot_q8_multi = rows;
    k.types[static_cast<uint32_t>(t)].multi_tokens = kRowTokens;
  };
  multi(GgmlType::kQ8_0, dot_q8_0_f32, dot_one<dot_q8_0_rows<1>>, dot_q8_0_rows<kRowTokens>);
  multi(GgmlType::kQ4_0, dot_q4_0_f32, dot_one<dot_q4_0_rows<1>>, dot_q4_0_rows<kRowTokens>);
  multi(GgmlType::kQ4_K, dot_qk45_f32<false>, dot_one<dot_qk45_rows<false, 1>>, dot_qk45_rows<false, kRowTokens>);
  multi(GgmlType::kQ5_K, dot_qk45_f32<true>, dot_one<dot_qk45_rows<true, 1>>, dot_qk45_rows<true, kRowTokens>);
  multi(GgmlType::kQ6_K, dot_q6_k_f32, dot_one<dot_q6_k_rows<1>>, dot_q6_k_rows<kRowTokens>);
  fill_avx2_lowbit(k);
  fill_avx2_ops(k);
}

}  // namespace onprem::kernels
