// AVX-512 dot products: 16-wide FMA for f32 activations, VNNI (vpdpbusd) for int8 activations.
// Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni; called only when the CPU has them.
#include <cstring>

#include "core/half.h"
#include "kernels/simd_avx2.h"
#include "kernels/simd_avx512.h"
#include "kernels/variants.h"
#include "quant/blocks.h"

namespace onprem::kernels {

namespace {

using namespace avx2;
namespace q = quant;

inline float half(uint16_t h) { return _cvtsh_ss(h); }

float dot_f32(const void* w, const float* x, int64_t n) {
  const float* a = static_cast<const float*>(w);
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(x + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(x + i + 16), s1);
  }
  for (; i < n; i += 16) {  // masked tail: lanes past n load zeros
    const __mmask16 m = n - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - i)) - 1);
    s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, x + i), s0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

// F16 / BF16 weights times f32 activations (kHalfX false: dot_f32) or activations rounded to the
// weights' own format as llama.cpp rounds them (kHalfX true: dot_q8; see dot_ref.cpp).
template <bool kBf16, bool kHalfX>
float dot_16bit_rows(const uint16_t* a, const void* x, int64_t n) {
  auto widen = [](__m256i raw) {
    return kBf16 ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16)) : _mm512_cvtph_ps(raw);
  };
  __m512 s0 = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    prefetch_ahead<32>(a + i);
    const __mmask16 m = n - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - i)) - 1);
    const __m512 xv = kHalfX ? widen(_mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(x) + i))
                             : _mm512_maskz_loadu_ps(m, static_cast<const float*>(x) + i);
    s0 = _mm512_fmadd_ps(widen(_mm256_maskz_loadu_epi16(m, a + i)), xv, s0);
  }
  return _mm512_reduce_add_ps(s0);
}
template <bool kBf16>
float dot_16bit(const void* w, const float* x, int64_t n) {
  return dot_16bit_rows<kBf16, false>(static_cast<const uint16_t*>(w), x, n);
}
template <bool kBf16>
float dot_16bit_16bit(const void* w, const void* xq, int64_t n) {
  return dot_16bit_rows<kBf16, true>(static_cast<const uint16_t*>(w), xq, n);
}

// ---- int8 activations with VNNI ----

// VNNI's int8 primitive for the shared kernels of simd_avx2.h.
inline __m256i dpbusd(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }

// The int8 kernels below are written once for T activation rows:
// prefill's T tokens share each decoded weight block, and T = 1 is the single-token dot. A token's
// integer sums and float operations are the same for any T, so its result has the same bits.

template <int T>
void dot_q8_0_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  q32_q8_rows<T, q8_0_block_codes, dpbusd>(static_cast<const uint8_t*>(w), sizeof(q::BlockQ8_0),
                                           reinterpret_cast<const q::BlockQ8_0* const*>(xq), n, out);
}
template <int T>
void dot_q4_0_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  q32_q8_rows<T, q4_0_block_codes, dpbusd>(static_cast<const uint8_t*>(w), sizeof(q::BlockQ4_0),
                                           reinterpret_cast<const q::BlockQ8_0* const*>(xq), n, out);
}

// Tokens per multi-row call, chosen with onprem bench on the 35B-A3B-shaped file: 8 made Q6_K
// slower and left Q4_K even (more MoE experts' leftover tokens go one by one), so both take 4.
constexpr int kQ4kTokens = 4, kQ6kTokens = 4;

// Q4_K x Q8_K over whole 64-value groups: the low and high nibbles of 32 bytes form one 512-bit
// vector of codes matching 64 consecutive activations, so one vpdpbusd covers two sub-blocks.
// Scales and minimums are unpacked once per super-block. T tokens share the decoded weights.
template <int T>
inline void q4k_q8_rows(const q::BlockQ4_K* blocks, const q::BlockQ8_K* const* xs, int64_t n, float* out) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  // Lane l of group c takes sub-block scale 2c + l / 8: four fixed permutations of the 8 scales.
  __m512i pick[4];
  for (int c = 0; c < 4; ++c)
    pick[c] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi32(2 * c)), _mm256_set1_epi32(2 * c + 1), 1);
  __m512 acc[T];
  __m256 macc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps(), macc[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i) {
    const q::BlockQ4_K& wb = blocks[i];
    prefetch_ahead<sizeof(q::BlockQ4_K)>(&wb);
    const float d = half(wb.d), dmin = half(wb.dmin);
    const q::ScalesMinsK4 sm = q::unpack_scales_mins_k4(wb.scales);
    const __m128i s8 = _mm_cvtsi64_si128(int64_t(sm.scales));
    const __m512 sc = _mm512_castps256_ps512(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(s8)));
    // Each minimum twice, against the 16 per-16 sums: m[s] * (bsum[2s] + bsum[2s+1]) in one madd.
    const __m128i m8 = _mm_cvtsi64_si128(int64_t(sm.mins));
    const __m256i m16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
    __m512 blk[T][2];  // two chains per token: even and odd groups, so fmas do not wait on each other
    for (int t = 0; t < T; ++t) {
      const q::BlockQ8_K& b = xs[t][i];
      const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.bsums));
      macc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(bs, m16)), _mm256_set1_ps(b.d * dmin), macc[t]);
      blk[t][0] = blk[t][1] = _mm512_setzero_ps();
    }
    const uint8_t* qs = wb.qs;
    for (int c = 0; c < 4; ++c) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * c));
      const __m512i codes =
          _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(raw), _mm256_srli_epi16(raw, 4), 1), m4);
      const __m512 scale = _mm512_permutexvar_ps(pick[c], sc);
      for (int t = 0; t < T; ++t) {
        const __m512i x = _mm512_loadu_si512(xs[t][i].qs + 64 * c);
        const __m512 part = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_setzero_si512(), codes, x));
        blk[t][c & 1] = _mm512_fmadd_ps(part, scale, blk[t][c & 1]);
      }
    }
    for (int t = 0; t < T; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_add_ps(blk[t][0], blk[t][1]), _mm512_set1_ps(xs[t][i].d * d), acc[t]);
  }
  for (int t = 0; t < T; ++t) {
    const __m256 m = macc[t];
    const __m128 h = _mm_add_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    const __m128 h2 = _mm_add_ps(h, _mm_movehl_ps(h, h));
    const float mins = _mm_cvtss_f32(_mm_add_ss(h2, _mm_shuffle_ps(h2, h2, 1)));
    out[t] = _mm512_reduce_add_ps(acc[t]) - mins;
  }
}

float dot_q4_k_q8(const void* w, const void* xq, int64_t n) {
  const auto* x = static_cast<const q::BlockQ8_K*>(xq);
  float out;
  q4k_q8_rows<1>(static_cast<const q::BlockQ4_K*>(w), &x, n, &out);
  return out;
}

void dot_q4_k_q8_multi(const void* w, const void* const* xq, int64_t n, float* out) {
  q4k_q8_rows<kQ4kTokens>(static_cast<const q::BlockQ4_K*>(w), reinterpret_cast<const q::BlockQ8_K* const*>(xq), n,
                          out);
}

template <int T>
void dot_q5_k_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  qk45_q8_rows<true, T>(w, reinterpret_cast<const q::BlockQ8_K* const*>(xq), n, out);
}
template <int T>
void dot_q6_k_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  q6k_q8_rows<T>(static_cast<const q::BlockQ6_K*>(w), reinterpret_cast<const q::BlockQ8_K* const*>(xq), n, out);
}

// Activations to Q8_K, bit-identical to quant::quantize_row_q8_k: the same first largest-magnitude
// value sets the scale, the same product rounds half to even (the default MXCSR mode), and the
// same int8 truncation feeds the per-16 sums.
void quantize_q8_k(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<q::BlockQ8_K*>(dst);
  const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  for (int64_t i = 0; i < n / 256; ++i, x += 256) {
    __m512 m = _mm512_setzero_ps();
    // max(|x|, m) returns m when |x| is NaN, as the scalar comparison skips NaN.
    for (int j = 0; j < 16; ++j) m = _mm512_max_ps(_mm512_and_ps(_mm512_loadu_ps(x + 16 * j), absmask), m);
    const float amax = _mm512_reduce_max_ps(m);
    if (!(amax > 0)) {
      std::memset(&b[i], 0, sizeof(q::BlockQ8_K));
      continue;
    }
    float vmax = 0;
    for (int j = 0; j < 16; ++j) {
      const __mmask16 hit =
          _mm512_cmp_ps_mask(_mm512_and_ps(_mm512_loadu_ps(x + 16 * j), absmask), _mm512_set1_ps(amax), _CMP_EQ_OQ);
      if (hit) {
        vmax = x[16 * j + __builtin_ctz(hit)];
        break;
      }
    }
    const float iscale = -127.0f / vmax;
    const __m512 vs = _mm512_set1_ps(iscale);
    for (int j = 0; j < 16; ++j) {
      __m512i r =
          _mm512_min_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(vs, _mm512_loadu_ps(x + 16 * j))), _mm512_set1_epi32(127));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(b[i].qs + 16 * j), _mm512_cvtepi32_epi8(r));
      r = _mm512_srai_epi32(_mm512_slli_epi32(r, 24), 24);  // the int8 the store kept
      b[i].bsums[j] = int16_t(_mm512_reduce_add_epi32(r));
    }
    b[i].d = 1 / iscale;
  }
}

}  // namespace

void fill_avx512_ops(Kernels& k);

void fill_avx512(Kernels& k) {
  using core::GgmlType;
  auto set = [&](GgmlType t, DotF32Fn f, DotQ8Fn qf) {
    auto& e = k.types[static_cast<uint32_t>(t)];
    e.dot_f32 = f;
    if (qf) e.dot_q8 = qf;
  };
  set(GgmlType::kF32, dot_f32, nullptr);
  set(GgmlType::kF16, dot_16bit<false>, dot_16bit_16bit<false>);
  set(GgmlType::kBF16, dot_16bit<true>, dot_16bit_16bit<true>);
  // Tokens per multi-token call for the types without a tuned count below.
  constexpr int kRowTokens = 4;
  auto multi = [&](GgmlType t, DotQ8MultiFn rows, int tokens) {
    k.types[static_cast<uint32_t>(t)].dot_q8_multi = rows;
    k.types[static_cast<uint32_t>(t)].multi_tokens = tokens;
  };
  set(GgmlType::kQ8_0, dot_q8_0_f32<F32x16>, dot_one<dot_q8_0_rows<1>>);
  multi(GgmlType::kQ8_0, dot_q8_0_rows<kRowTokens>, kRowTokens);
  set(GgmlType::kQ4_0, dot_q4_0_f32<F32x16>, dot_one<dot_q4_0_rows<1>>);
  multi(GgmlType::kQ4_0, dot_q4_0_rows<kRowTokens>, kRowTokens);
  set(GgmlType::kQ4_K, dot_qk45_f32<F32x16, false>, dot_q4_k_q8);
  multi(GgmlType::kQ4_K, dot_q4_k_q8_multi, kQ4kTokens);
  multi(GgmlType::kQ6_K, dot_q6_k_rows<kQ6kTokens>, kQ6kTokens);
  set(GgmlType::kQ5_K, dot_qk45_f32<F32x16, true>, dot_one<dot_q5_k_rows<1>>);
  multi(GgmlType::kQ5_K, dot_q5_k_rows<kRowTokens>, kRowTokens);
  set(GgmlType::kQ6_K, dot_q6_k_f32<F32x16>, dot_one<dot_q6_k_rows<1>>);
  k.quantize_q8_k = quantize_q8_k;
  fill_avx512_ops(k);
}

}  // namespace onprem::kernels
