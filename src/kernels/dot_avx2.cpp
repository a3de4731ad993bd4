// AVX2 dot products (f32 activations: FMA on decoded weights; int8 activations: maddubs/madd
// integer sums per block, exact, then the float scales). Contracts in kernels.h.
#include <algorithm>
#include <cstring>
#include <vector>

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
  qk45_q8_rows<kFive, T>(w, reinterpret_cast<const q::BlockQ8_K* const*>(xq), n, out);
}
// Prefill, Q4_K: blocks of 8 rows packed once per call so that one vector holds four consecutive
// codes of each row. Per four values, vpmaddubsw against one broadcast activation word gives
// code·x pairs for all 8 rows; two quads' pairs add up in 16 bits and one vpmaddwd by the row's
// scale takes them to 32 (summing more quads in 16 bits first was slower: one longer chain). The minimums' sum comes
// from vpmaddwd over (m_2k, m_2k+1) pairs against the token's per-32 sums. The exact integers and the float steps are
// qk45_q8_rows's, lane by lane, so every result keeps the single dot's bits.
struct alignas(32) Lanes8 {  // one 256-bit vector
  int32_t v[8];
  __m256i i() const { return _mm256_load_si256(reinterpret_cast<const __m256i*>(v)); }
  __m256 f() const { return _mm256_load_ps(reinterpret_cast<const float*>(v)); }
};
struct PackedQ4K8 {
  std::vector<Lanes8> codes;    // [block][sub-block][quad]: byte 4r + j = row r, value 32s + 4q + j
  std::vector<Lanes8> scales;   // [block][sub-block]: row r's scale in both 16-bit halves of lane r
  std::vector<Lanes8> mins;     // [block][k]: row r's (m_2k, m_2k+1) as a 16-bit pair in lane r
  std::vector<Lanes8> d, dmin;  // [block]: row r's d and dmin (floats) in lane r
};

void pack_q4k8(const uint8_t* w, int64_t row_bytes, int n_rows, int64_t nb, PackedQ4K8* p) {
  p->codes.resize(size_t(nb * 64));
  p->scales.resize(size_t(nb * 8));
  p->mins.resize(size_t(nb * 4));
  p->d.resize(size_t(nb));
  p->dmin.resize(size_t(nb));
  for (int64_t i = 0; i < nb; ++i) {
    alignas(32) uint8_t codes[8][8][32] = {};
    alignas(32) int32_t sc[8][8] = {}, mn[4][8] = {};
    alignas(32) float d[8] = {}, dmin[8] = {};
    for (int r = 0; r < n_rows; ++r) {
      const auto& b = reinterpret_cast<const q::BlockQ4_K*>(w + r * row_bytes)[i];
      d[r] = half(b.d), dmin[r] = half(b.dmin);
      const q::ScalesMinsK4 sm = q::unpack_scales_mins_k4(b.scales);
      for (int s = 0; s < 8; ++s) {
        const uint32_t v = (sm.scales >> (8 * s)) & 0xff;
        sc[s][r] = int32_t(v | (v << 16));
      }
      // Each group of 32 bytes holds two sub-blocks (low and high nibbles); a sub-block's codes go
      // out four at a time, one 32-bit word per quad.
      for (int c = 0; c < 4; ++c) {
        const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * c));
        alignas(32) uint8_t lo[32], hi[32];
        _mm256_store_si256(reinterpret_cast<__m256i*>(lo), _mm256_and_si256(raw, _mm256_set1_epi8(0x0F)));
        _mm256_store_si256(reinterpret_cast<__m256i*>(hi),
                           _mm256_and_si256(_mm256_srli_epi16(raw, 4), _mm256_set1_epi8(0x0F)));
        for (int qd = 0; qd < 8; ++qd) {
          std::memcpy(&codes[2 * c][qd][4 * r], lo + 4 * qd, 4);
          std::memcpy(&codes[2 * c + 1][qd][4 * r], hi + 4 * qd, 4);
        }
      }
      for (int k = 0; k < 4; ++k) {
        const uint32_t lo = (sm.mins >> (16 * k)) & 0xff, hi = (sm.mins >> (16 * k + 8)) & 0xff;
        mn[k][r] = int32_t(lo | (hi << 16));
      }
    }
    std::memcpy(&p->codes[size_t(i * 64)], codes, sizeof codes);
    std::memcpy(&p->scales[size_t(i * 8)], sc, sizeof sc);
    std::memcpy(&p->mins[size_t(i * 4)], mn, sizeof mn);
    std::memcpy(&p->d[size_t(i)], d, sizeof d);
    std::memcpy(&p->dmin[size_t(i)], dmin, sizeof dmin);
  }
}

template <int T>
void q4k8_gemm_tokens(const PackedQ4K8& p, int64_t nb, const q::BlockQ8_K* const* xs, int n_rows, float* y,
                      int64_t ldy) {
  __m256 total[T];
  for (int t = 0; t < T; ++t) total[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    __m256i S[T];
    for (int t = 0; t < T; ++t) S[t] = _mm256_setzero_si256();
    for (int s = 0; s < 8; ++s) {
      const Lanes8* codes = &p.codes[size_t((i * 8 + s) * 8)];
      const __m256i sc = p.scales[size_t(i * 8 + s)].i();
      for (int h = 0; h < 4; ++h) {
        const __m256i c0 = codes[2 * h].i(), c1 = codes[2 * h + 1].i();
        for (int t = 0; t < T; ++t) {
          int32_t x0, x1;
          std::memcpy(&x0, xs[t][i].qs + 32 * s + 8 * h, 4);
          std::memcpy(&x1, xs[t][i].qs + 32 * s + 8 * h + 4, 4);
          const __m256i a = _mm256_add_epi16(_mm256_maddubs_epi16(c0, _mm256_set1_epi32(x0)),
                                             _mm256_maddubs_epi16(c1, _mm256_set1_epi32(x1)));
          S[t] = _mm256_add_epi32(S[t], _mm256_madd_epi16(a, sc));
        }
      }
    }
    for (int t = 0; t < T; ++t) {
      const q::BlockQ8_K& b = xs[t][i];
      __m256i M = _mm256_setzero_si256();
      for (int k = 0; k < 4; ++k) {
        const int32_t lo = b.bsums[4 * k] + b.bsums[4 * k + 1], hi = b.bsums[4 * k + 2] + b.bsums[4 * k + 3];
        const __m256i pair = _mm256_set1_epi32(int32_t(uint32_t(uint16_t(lo)) | (uint32_t(uint16_t(hi)) << 16)));
        M = _mm256_add_epi32(M, _mm256_madd_epi16(p.mins[size_t(i * 4 + k)].i(), pair));
      }
      const __m256 inner = _mm256_fmsub_ps(p.d[size_t(i)].f(), _mm256_cvtepi32_ps(S[t]),
                                           _mm256_mul_ps(p.dmin[size_t(i)].f(), _mm256_cvtepi32_ps(M)));
      total[t] = _mm256_fmadd_ps(_mm256_set1_ps(b.d), inner, total[t]);
    }
  }
  for (int t = 0; t < T; ++t) {
    alignas(32) float out[8];
    _mm256_store_ps(out, total[t]);
    std::memcpy(y + t * ldy, out, sizeof(float) * size_t(n_rows));
  }
}

constexpr int kGemmTokens = 4;

void gemm_q4_k(const uint8_t* w, int64_t row_bytes, int n_rows, const uint8_t* xq, int64_t xq_bytes, int64_t n_tokens,
               int64_t n, float* y, int64_t ldy) {
  thread_local PackedQ4K8 packed;
  const int64_t nb = n / 256;
  for (int r0 = 0; r0 < n_rows; r0 += 8) {
    const int rows = std::min(8, n_rows - r0);
    pack_q4k8(w + r0 * row_bytes, row_bytes, rows, nb, &packed);
    const q::BlockQ8_K* xs[kGemmTokens];
    int64_t t = 0;
    for (; t + kGemmTokens <= n_tokens; t += kGemmTokens) {
      for (int j = 0; j < kGemmTokens; ++j) xs[j] = reinterpret_cast<const q::BlockQ8_K*>(xq + (t + j) * xq_bytes);
      q4k8_gemm_tokens<kGemmTokens>(packed, nb, xs, rows, y + t * ldy + r0, ldy);
    }
    for (; t < n_tokens; ++t) {
      xs[0] = reinterpret_cast<const q::BlockQ8_K*>(xq + t * xq_bytes);
      q4k8_gemm_tokens<1>(packed, nb, xs, rows, y + t * ldy + r0, ldy);
    }
  }
}

// Prefill, Q6_K: blocks of 8 rows packed as gemm_q4_k's, four 6-bit codes (0..63, not re-centred)
// of each row per 32-bit lane, per 16-value sub-block. Two quads' vpmaddubsw pairs (at most
// 2·63·128·2 < 2^15) add up in 16 bits before one vpmaddwd by the row's scale. The exact integers
// S − 32·Σ_s sc_s·bsum_s and the float steps are q6k_q8_rows's, lane by lane.
struct PackedQ6K8 {
  std::vector<Lanes8> codes;   // [block][sub-block (16)][quad (4)]
  std::vector<Lanes8> scales;  // [block][sub-block]: row r's scale in both 16-bit halves of lane r
  std::vector<Lanes8> pairs;   // [block][k (8)]: row r's (sc_2k, sc_2k+1) as a 16-bit pair in lane r
  std::vector<Lanes8> d;       // [block]: row r's d (a float) in lane r
};

void pack_q6k8(const uint8_t* w, int64_t row_bytes, int n_rows, int64_t nb, PackedQ6K8* p) {
  p->codes.resize(size_t(nb * 64));
  p->scales.resize(size_t(nb * 16));
  p->pairs.resize(size_t(nb * 8));
  p->d.resize(size_t(nb));
  for (int64_t i = 0; i < nb; ++i) {
    alignas(32) uint8_t codes[16][4][32] = {};
    alignas(32) int32_t sc[16][8] = {}, pr[8][8] = {};
    alignas(32) float d[8] = {};
    for (int r = 0; r < n_rows; ++r) {
      const auto& b = reinterpret_cast<const q::BlockQ6_K*>(w + r * row_bytes)[i];
      d[r] = half(b.d);
      for (int s = 0; s < 16; ++s) {
        const uint32_t v = uint16_t(int16_t(b.scales[s]));
        sc[s][r] = int32_t(v | (v << 16));
      }
      for (int k = 0; k < 8; ++k)
        pr[k][r] = int32_t(uint32_t(uint16_t(int16_t(b.scales[2 * k]))) |
                           (uint32_t(uint16_t(int16_t(b.scales[2 * k + 1]))) << 16));
      for (int hf = 0; hf < 2; ++hf) {
        __m256i c[4];
        q6_codes(b.ql + 64 * hf, b.qh + 32 * hf, c);
        alignas(32) uint8_t vals[128];
        for (int j = 0; j < 4; ++j) _mm256_store_si256(reinterpret_cast<__m256i*>(vals + 32 * j), c[j]);
        for (int s = 0; s < 8; ++s)
          for (int qd = 0; qd < 4; ++qd) std::memcpy(&codes[8 * hf + s][qd][4 * r], vals + 16 * s + 4 * qd, 4);
      }
    }
    std::memcpy(&p->codes[size_t(i * 64)], codes, sizeof codes);
    std::memcpy(&p->scales[size_t(i * 16)], sc, sizeof sc);
    std::memcpy(&p->pairs[size_t(i * 8)], pr, sizeof pr);
    std::memcpy(&p->d[size_t(i)], d, sizeof d);
  }
}

template <int T>
void q6k8_gemm_tokens(const PackedQ6K8& p, int64_t nb, const q::BlockQ8_K* const* xs, int n_rows, float* y,
                      int64_t ldy) {
  __m256 total[T];
  for (int t = 0; t < T; ++t) total[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    __m256i S[T];
    for (int t = 0; t < T; ++t) S[t] = _mm256_setzero_si256();
    for (int s = 0; s < 16; ++s) {
      const Lanes8* codes = &p.codes[size_t((i * 16 + s) * 4)];
      const __m256i sc = p.scales[size_t(i * 16 + s)].i();
      for (int h = 0; h < 2; ++h) {
        const __m256i c0 = codes[2 * h].i(), c1 = codes[2 * h + 1].i();
        for (int t = 0; t < T; ++t) {
          int32_t x0, x1;
          std::memcpy(&x0, xs[t][i].qs + 16 * s + 8 * h, 4);
          std::memcpy(&x1, xs[t][i].qs + 16 * s + 8 * h + 4, 4);
          const __m256i a = _mm256_add_epi16(_mm256_maddubs_epi16(c0, _mm256_set1_epi32(x0)),
                                             _mm256_maddubs_epi16(c1, _mm256_set1_epi32(x1)));
          S[t] = _mm256_add_epi32(S[t], _mm256_madd_epi16(a, sc));
        }
      }
    }
    const __m256 d = p.d[size_t(i)].f();
    for (int t = 0; t < T; ++t) {
      const q::BlockQ8_K& b = xs[t][i];
      __m256i corr = _mm256_setzero_si256();
      for (int k = 0; k < 8; ++k) {
        const uint32_t pair = uint32_t(uint16_t(b.bsums[2 * k])) | (uint32_t(uint16_t(b.bsums[2 * k + 1])) << 16);
        corr =
            _mm256_add_epi32(corr, _mm256_madd_epi16(p.pairs[size_t(i * 8 + k)].i(), _mm256_set1_epi32(int32_t(pair))));
      }
      const __m256i X = _mm256_sub_epi32(S[t], _mm256_slli_epi32(corr, 5));
      total[t] = _mm256_add_ps(total[t], _mm256_mul_ps(_mm256_mul_ps(d, _mm256_set1_ps(b.d)), _mm256_cvtepi32_ps(X)));
    }
  }
  for (int t = 0; t < T; ++t) {
    alignas(32) float out[8];
    _mm256_store_ps(out, total[t]);
    std::memcpy(y + t * ldy, out, sizeof(float) * size_t(n_rows));
  }
}

void gemm_q6_k(const uint8_t* w, int64_t row_bytes, int n_rows, const uint8_t* xq, int64_t xq_bytes, int64_t n_tokens,
               int64_t n, float* y, int64_t ldy) {
  thread_local PackedQ6K8 packed;
  const int64_t nb = n / 256;
  for (int r0 = 0; r0 < n_rows; r0 += 8) {
    const int rows = std::min(8, n_rows - r0);
    pack_q6k8(w + r0 * row_bytes, row_bytes, rows, nb, &packed);
    const q::BlockQ8_K* xs[kGemmTokens];
    int64_t t = 0;
    for (; t + kGemmTokens <= n_tokens; t += kGemmTokens) {
      for (int j = 0; j < kGemmTokens; ++j) xs[j] = reinterpret_cast<const q::BlockQ8_K*>(xq + (t + j) * xq_bytes);
      q6k8_gemm_tokens<kGemmTokens>(packed, nb, xs, rows, y + t * ldy + r0, ldy);
    }
    for (; t < n_tokens; ++t) {
      xs[0] = reinterpret_cast<const q::BlockQ8_K*>(xq + t * xq_bytes);
      q6k8_gemm_tokens<1>(packed, nb, xs, rows, y + t * ldy + r0, ldy);
    }
  }
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
  multi(GgmlType::kQ8_0, dot_q8_0_f32<F32x8>, dot_one<dot_q8_0_rows<1>>, dot_q8_0_rows<kRowTokens>);
  multi(GgmlType::kQ4_0, dot_q4_0_f32<F32x8>, dot_one<dot_q4_0_rows<1>>, dot_q4_0_rows<kRowTokens>);
  multi(GgmlType::kQ4_K, dot_qk45_f32<F32x8, false>, dot_one<dot_qk45_rows<false, 1>>,
        dot_qk45_rows<false, kRowTokens>);
  k.types[static_cast<uint32_t>(GgmlType::kQ4_K)].gemm_q8 = gemm_q4_k;
  multi(GgmlType::kQ5_K, dot_qk45_f32<F32x8, true>, dot_one<dot_qk45_rows<true, 1>>, dot_qk45_rows<true, kRowTokens>);
  multi(GgmlType::kQ6_K, dot_q6_k_f32<F32x8>, dot_one<dot_q6_k_rows<1>>, dot_q6_k_rows<kRowTokens>);
  k.types[static_cast<uint32_t>(GgmlType::kQ6_K)].gemm_q8 = gemm_q6_k;
  fill_avx2_lowbit(k);
  fill_avx2_ops(k);
}

}  // namespace onprem::kernels
