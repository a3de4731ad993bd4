// AVX-512 dot products: 16-wide FMA for f32 activations, VNNI (vpdpbusd) for int8 activations.
// Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni; called only when the CPU has them.
#include <cmath>
#include <cstring>
#include <vector>

#include "core/half.h"
#include "kernels/gemm_avx512.h"
#include "kernels/packed_k.h"
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

// Prefill, Q8_0 and Q4_0: 16 rows packed once per call, per 32-value block eight vectors of four
// codes per row, each code plus 128 so that vpdpbusd takes it as unsigned; the token's -128 · Σ x
// over the quad starts the sum, so it is exactly Σ code·x. The single dot (q32_q8_rows) keeps
// eight float lanes, one per quad, and sums them at the end; here each quad has its own vector of
// 16 rows and the same float steps, then the same order of sums, so every result has its bits.
struct PackedQ32 {
  std::vector<Lanes<16>> codes;  // [block][quad (8)]: byte 4r + j = row r, value 4q + j, plus 128
  std::vector<Lanes<16>> d;      // [block]: row r's d, as float bits
};

template <__m256i (*Codes)(const void* block), int64_t kBlockBytes>
void pack_q32(const uint8_t* w, int64_t row_bytes, int n_rows, int64_t nb, PackedQ32* p) {
  p->codes.resize(size_t(nb * 8)), p->d.resize(size_t(nb));
  if (n_rows < 16) {  // missing rows: zero codes and d give zero sums
    std::memset(static_cast<void*>(p->codes.data()), 0, p->codes.size() * sizeof(Lanes<16>));
    std::memset(static_cast<void*>(p->d.data()), 0, p->d.size() * sizeof(Lanes<16>));
  }
  const __m256i bias = _mm256_set1_epi8(char(0x80));
  // Eight blocks of 32 hold as many lanes as one K-quant block of 256.
  fill_blocks<8 * kPackBlocks>(nb, n_rows, [&](int r, int64_t i) {
    const uint8_t* block = w + r * row_bytes + i * kBlockBytes;
    uint16_t dh;
    std::memcpy(&dh, block, 2);  // both block types begin with their fp16 scale
    put_float(p->d[size_t(i)], r, half(dh));
    alignas(32) int32_t words[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(words), _mm256_xor_si256(Codes(block), bias));
    for (int q4 = 0; q4 < 8; ++q4) p->codes[size_t(i * 8 + q4)].v[r] = words[q4];
  });
}

template <int T>
void q32_gemm_tokens(const PackedQ32& p, int64_t nb, const q::BlockQ8_0* const* xs, int n_rows, float* y, int64_t ldy) {
  const __mmask16 rows = __mmask16((1u << n_rows) - 1);
  const __m256i ones = _mm256_set1_epi8(1);
  __m512 acc[T][8];
  for (int t = 0; t < T; ++t)
    for (int q4 = 0; q4 < 8; ++q4) acc[t][q4] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const __m512 d = p.d[size_t(i)].f();
    const Lanes<16>* codes = &p.codes[size_t(i * 8)];
    for (int t = 0; t < T; ++t) {
      const q::BlockQ8_0& b = xs[t][i];
      const __m256i sums = dpbusd(ones, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)));
      alignas(32) int32_t start[8];  // -128 · Σ x per quad
      _mm256_store_si256(reinterpret_cast<__m256i*>(start),
                         _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sums, 7)));
      const __m512 dd = _mm512_mul_ps(d, _mm512_set1_ps(half(b.d)));
      for (int q4 = 0; q4 < 8; ++q4) {
        int32_t xw;
        std::memcpy(&xw, b.qs + 4 * q4, 4);
        const __m512i D = _mm512_dpbusd_epi32(_mm512_set1_epi32(start[q4]), codes[q4].i(), _mm512_set1_epi32(xw));
        acc[t][q4] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(D), dd, acc[t][q4]);
      }
    }
  }
  for (int t = 0; t < T; ++t) {  // hsum's order over the eight lanes
    const __m512 lo = _mm512_add_ps(_mm512_add_ps(acc[t][0], acc[t][4]), _mm512_add_ps(acc[t][2], acc[t][6]));
    const __m512 hi = _mm512_add_ps(_mm512_add_ps(acc[t][1], acc[t][5]), _mm512_add_ps(acc[t][3], acc[t][7]));
    _mm512_mask_storeu_ps(y + t * ldy, rows, _mm512_add_ps(lo, hi));
  }
}
constexpr int kQ32GemmTokens = 2;  // 16 accumulators: 4 tokens would not fit the 32 registers

// Tokens per multi-row call, chosen with onprem bench on the 35B-A3B-shaped file: 8 made Q6_K
// slower and left Q4_K even (more MoE experts' leftover tokens go one by one), so both take 4.
constexpr int kQ4kTokens = 4, kQ6kTokens = 4;

// Q4_K x Q8_K. Every kernel of this table computes a row and a token the same way, so that the
// single dot (decode), the token groups and the packed blocks (prefill) give the same bits: per
// super-block the exact integers S = Σ_s sc_s · Σ code·x and M = Σ_s m_s · Σ x (minimums against
// the Q8_K per-16 sums), then acc = fma(S, d·xd, acc) and macc = fma(M, dmin·xd, macc) in that
// order (the single dot keeps both in one 128-bit vector, lanes 0 and 1), and the result acc − macc.

// The single dot and token groups: the low and high nibbles of 32 bytes form one 512-bit vector
// of codes matching 64 consecutive activations. vpmaddubsw gives code·x pairs (at most 15·128·2,
// exact in 16 bits) and vpdpwssd adds each pair times its sub-block's 16-bit scale into 32-bit
// lanes (a super-block sums to at most 15·128·63·256 < 2^31). T tokens share the decoded weights.
template <int T>
inline void q4k_q8_rows(const q::BlockQ4_K* blocks, const q::BlockQ8_K* const* xs, int64_t n, float* out) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  // The 16-bit lanes of group c take sub-block scale 2c (lanes 0-15) or 2c + 1 (16-31).
  __m512i pick[4];
  for (int c = 0; c < 4; ++c)
    pick[c] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(short(2 * c))),
                                 _mm256_set1_epi16(short(2 * c + 1)), 1);
  __m128 am[T];  // lane 0: acc, lane 1: macc
  for (int t = 0; t < T; ++t) am[t] = _mm_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i) {
    const q::BlockQ4_K& wb = blocks[i];
    prefetch_ahead<sizeof(q::BlockQ4_K)>(&wb);
    const float d = half(wb.d), dmin = half(wb.dmin);
    const q::ScalesMinsK4 sm = q::unpack_scales_mins_k4(wb.scales);
    const __m512i sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(int64_t(sm.scales))));
    // Each minimum twice, against the 16 per-16 sums: m[s] * (bsum[2s] + bsum[2s+1]) in one madd.
    const __m128i m8 = _mm_cvtsi64_si128(int64_t(sm.mins));
    const __m256i m16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
    __m512i isum[T];
    for (int t = 0; t < T; ++t) isum[t] = _mm512_setzero_si512();
    const uint8_t* qs = wb.qs;
    for (int c = 0; c < 4; ++c) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * c));
      const __m512i codes =
          _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(raw), _mm256_srli_epi16(raw, 4), 1), m4);
      const __m512i scale = _mm512_permutexvar_epi16(pick[c], sc16);
      for (int t = 0; t < T; ++t) {
        const __m512i x = _mm512_loadu_si512(xs[t][i].qs + 64 * c);
        isum[t] = _mm512_dpwssd_epi32(isum[t], _mm512_maddubs_epi16(codes, x), scale);
      }
    }
    const __m128 dm = _mm_set_ps(0, 0, dmin, d);
    for (int t = 0; t < T; ++t) {
      const q::BlockQ8_K& b = xs[t][i];
      const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.bsums));
      // S and M reduced together: [S, M, S, M], exact.
      const __m256i s8 = _mm256_add_epi32(_mm512_castsi512_si256(isum[t]), _mm512_extracti64x4_epi64(isum[t], 1));
      const __m256i h = _mm256_hadd_epi32(s8, _mm256_madd_epi16(bs, m16));
      __m128i sm2 = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
      sm2 = _mm_hadd_epi32(sm2, sm2);
      am[t] = _mm_fmadd_ps(_mm_cvtepi32_ps(sm2), _mm_mul_ps(dm, _mm_set1_ps(b.d)), am[t]);
    }
  }
  for (int t = 0; t < T; ++t) out[t] = _mm_cvtss_f32(am[t]) - _mm_cvtss_f32(_mm_shuffle_ps(am[t], am[t], 1));
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
// Q6_K x Q8_K. As for Q4_K, every kernel of this table computes a row and a token the same way:
// per super-block the exact integer X = Σ_s sc_s · (Σ code·x − 32 · Σ x) over the 16-value
// sub-blocks (codes 0..63 not re-centred: the 32 comes off against the Q8_K per-16 sums), then
// acc = fma(X, d·xd, acc), so that the single dot, the token groups and the packed blocks give
// the same bits.

// The single dot and token groups, 64 values per instruction pair: vpmaddubsw gives code·x pairs
// (at most 63·128·2, exact in 16 bits) and vpdpwssd adds each pair times its sub-block's 16-bit
// scale into 32-bit lanes.
template <int T>
inline void q6k_q8_rows_512(const q::BlockQ6_K* a, const q::BlockQ8_K* const* xs, int64_t n, float* out) {
  // 64 values are 4 sub-blocks of 16: 16-bit lanes 8k..8k+7 take scale 4g + k of the half's 8.
  __m512i pick[2][2];
  for (int hf = 0; hf < 2; ++hf)
    for (int g = 0; g < 2; ++g) {
      alignas(64) int16_t idx[32];
      for (int l = 0; l < 32; ++l) idx[l] = int16_t(8 * hf + 4 * g + l / 8);
      pick[hf][g] = _mm512_load_si512(idx);
    }
  __m128 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i) {
    prefetch_ahead<sizeof(*a)>(a + i);
    const __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a[i].scales)));
    const __m512i sc = _mm512_castsi256_si512(s16);
    __m512i isum[T];
    for (int t = 0; t < T; ++t) isum[t] = _mm512_setzero_si512();
    for (int hf = 0; hf < 2; ++hf) {
      __m256i c[4];
      q6_codes(a[i].ql + 64 * hf, a[i].qh + 32 * hf, c);
      for (int g = 0; g < 2; ++g) {
        const __m512i codes = _mm512_inserti64x4(_mm512_castsi256_si512(c[2 * g]), c[2 * g + 1], 1);
        const __m512i scale = _mm512_permutexvar_epi16(pick[hf][g], sc);
        for (int t = 0; t < T; ++t) {
          const __m512i x = _mm512_loadu_si512(xs[t][i].qs + 128 * hf + 64 * g);
          isum[t] = _mm512_dpwssd_epi32(isum[t], _mm512_maddubs_epi16(codes, x), scale);
        }
      }
    }
    const float d = half(a[i].d);
    for (int t = 0; t < T; ++t) {
      const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs[t][i].bsums));
      const __m256i s8 = _mm256_add_epi32(_mm512_castsi512_si256(isum[t]), _mm512_extracti64x4_epi64(isum[t], 1));
      const __m256i x8 = _mm256_sub_epi32(s8, _mm256_slli_epi32(_mm256_madd_epi16(s16, bs), 5));
      __m128i x4 = _mm_add_epi32(_mm256_castsi256_si128(x8), _mm256_extracti128_si256(x8, 1));
      x4 = _mm_add_epi32(x4, _mm_shuffle_epi32(x4, 0x4E));
      x4 = _mm_add_epi32(x4, _mm_shuffle_epi32(x4, 0xB1));
      acc[t] = _mm_fmadd_ss(_mm_cvtepi32_ps(x4), _mm_set_ss(d * xs[t][i].d), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) out[t] = _mm_cvtss_f32(acc[t]);
}

template <int T>
void dot_q6_k_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  q6k_q8_rows_512<T>(static_cast<const q::BlockQ6_K*>(w), reinterpret_cast<const q::BlockQ8_K* const*>(xq), n, out);
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
void fill_avx512_packed(Kernels& k);

void fill_avx512(Kernels& k) {
  using core::GgmlType;
  auto set = [&](GgmlType t, DotF32Fn f, DotQ8Fn qf) {
    auto& e = k.types[static_cast<uint32_t>(t)];
    e.dot_f32 = f;
    // A new single dot drops the AVX2 table's packed blocks and groups: they repeat the bits of its
    // own dot.
    if (qf) e.dot_q8 = qf, e.gemm_q8 = nullptr, e.packed_rows = 0, e.pack_rows = nullptr, e.packed_product = nullptr;
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
  k.types[static_cast<uint32_t>(GgmlType::kQ8_0)].gemm_q8 =
      gemm_packed<PackedQ32, 16, pack_q32<q8_0_block_codes, sizeof(q::BlockQ8_0)>, kQ32GemmTokens,
                  q32_gemm_tokens<kQ32GemmTokens>, q32_gemm_tokens<1>, q::BlockQ8_0, 32>;
  k.types[static_cast<uint32_t>(GgmlType::kQ4_0)].gemm_q8 =
      gemm_packed<PackedQ32, 16, pack_q32<q4_0_block_codes, sizeof(q::BlockQ4_0)>, kQ32GemmTokens,
                  q32_gemm_tokens<kQ32GemmTokens>, q32_gemm_tokens<1>, q::BlockQ8_0, 32>;
  set(GgmlType::kQ4_K, dot_qk45_f32<F32x16, false>, dot_q4_k_q8);
  multi(GgmlType::kQ4_K, dot_q4_k_q8_multi, kQ4kTokens);
  k.types[static_cast<uint32_t>(GgmlType::kQ4_K)].gemm_q8 =
      gemm_packed<PackedQ4K<16>, 16, pack_qk45<16, false>, kGemmTokens, q4k_gemm_tokens<kGemmTokens>,
                  q4k_gemm_tokens<1>>;
  multi(GgmlType::kQ6_K, dot_q6_k_rows<kQ6kTokens>, kQ6kTokens);
  set(GgmlType::kQ5_K, dot_qk45_f32<F32x16, true>, dot_one<dot_q5_k_rows<1>>);
  multi(GgmlType::kQ5_K, dot_q5_k_rows<kRowTokens>, kRowTokens);
  k.types[static_cast<uint32_t>(GgmlType::kQ5_K)].gemm_q8 =
      gemm_packed<PackedQ4K<16>, 16, pack_qk45<16, false, true>, kGemmTokens, q4k_gemm_tokens<kGemmTokens, true>,
                  q4k_gemm_tokens<1, true>>;
  set(GgmlType::kQ6_K, dot_q6_k_f32<F32x16>, dot_one<dot_q6_k_rows<1>>);
  k.types[static_cast<uint32_t>(GgmlType::kQ6_K)].gemm_q8 =
      gemm_packed<PackedQ6K<16>, 16, pack_q6k<16, false>, kGemmTokens, offset_gemm_tokens<kGemmTokens, 16, 5, true>,
                  offset_gemm_tokens<1, 16, 5, true>>;
  k.types[static_cast<uint32_t>(GgmlType::kIQ4_XS)].gemm_q8 =
      gemm_packed<PackedQ6K<16>, 16, pack_iq4xs<16>, kGemmTokens, offset_gemm_tokens<kGemmTokens, 8, 7, false>,
                  offset_gemm_tokens<1, 8, 7, false>>;
  k.quantize_q8_k = quantize_q8_k;
  fill_avx512_ops(k);
  fill_avx512_packed(k);
}

}  // namespace onprem::kernels
