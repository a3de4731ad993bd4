// Rows packed for the prefill kernels (Kernels::gemm_q8): Q4_K and Q5_K (PackedQ4K), and the
// codes stored with an offset, Q6_K, Q3_K and IQ4_XS (PackedQ6K). Written once for the AVX2 (R = 8
// rows, one ymm) and AVX-512 (R = 16, one zmm) kernels. A block of R rows becomes, per super-block,
// one vector of lanes per quad of four values: 32-bit lane r holds row r's four codes as bytes, so
// that one broadcast activation word meets all R rows at once. Beside them, per lane: the
// sub-block scales, the Q4_K minimums or the scales as 16-bit pairs (for vpmaddwd / vpdpwssd
// against the token's sums), and the super-block's d (and dmin) as floats. Included only by files
// compiled with AVX2 or wider; anonymous namespace, so each instantiation stays in the file of its
// ISA (tests/isa/check_isa_objects.py).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/simd_avx2.h"
#include "quant/blocks.h"

namespace onprem::kernels {
namespace {

template <int R>
struct alignas(4 * R) Lanes {  // one vector of R 32-bit lanes
  int32_t v[R];
  // As the file's vector: 8 lanes are a ymm, 16 a zmm (only files built for AVX-512 ask for one).
  auto i() const {
    if constexpr (R == 8)
      return _mm256_load_si256(reinterpret_cast<const __m256i*>(v));
    else
      return _mm512_load_si512(v);
  }
  auto f() const {
    if constexpr (R == 8)
      return _mm256_load_ps(reinterpret_cast<const float*>(v));
    else
      return _mm512_load_ps(reinterpret_cast<const float*>(v));
  }
};

template <int R>
struct PackedQ4K {
  std::vector<Lanes<R>> codes;    // [block][sub-block (8)][quad (8)]: byte 4r + j = row r, value 32s + 4q + j
  std::vector<Lanes<R>> scales;   // [block][sub-block]: row r's 6-bit scale
  std::vector<Lanes<R>> mins;     // [block][k (4)]: row r's (m_2k, m_2k+1) as a 16-bit pair
  std::vector<Lanes<R>> d, dmin;  // [block]: row r's d and dmin, as float bits
};

// Codes stored with an offset that the kernel takes back off against the token's sums: Q6_K (32),
// Q3_K (4), IQ4_XS (128, 8 sub-blocks of 32 instead of 16 of 16).
template <int R>
struct PackedQ6K {
  std::vector<Lanes<R>> codes;   // [block][sub-block][quad]: byte 4r + j = row r, value 4 · quad index + j
  std::vector<Lanes<R>> scales;  // [block][sub-block]: row r's scale
  std::vector<Lanes<R>> pairs;   // [block][k (sub-blocks / 2)]: row r's (sc_2k, sc_2k+1) as a 16-bit pair
  std::vector<Lanes<R>> d;       // [block]: row r's d, as float bits
};

inline int32_t pair16(int32_t lo, int32_t hi) {
  return int32_t(uint32_t(uint16_t(lo)) | (uint32_t(uint16_t(hi)) << 16));
}

template <int R>
void put_float(Lanes<R>& l, int r, float f) {
  std::memcpy(&l.v[r], &f, 4);
}

// Resizes every array for nb super-blocks and zeroes them when rows are missing (their lanes
// stay zero: zero codes, scales and d give zero sums).
//
// The packers fill kPackBlocks blocks at a time, every row, then the next blocks. Those blocks'
// lanes (16 KB of codes for 16 rows) stay in L1 while each row is read in one run. Filling row by
// row instead swept 64 KB of lanes per row on a 16-row pack of a 4,096-wide matrix, out of L1:
// packing then took three times longer than the products it serves at 16 tokens. Block by block
// over all rows read 16 rows with a stride, and was 5 % slower on MoE experts (8 blocks wide).
inline constexpr int64_t kPackBlocks = 4;

// fill(r, i) for every row r < n_rows and block i < nb, in the order above: kChunk blocks at a
// time, over every row.
template <int64_t kChunk = kPackBlocks, class Fill>
void fill_blocks(int64_t nb, int n_rows, Fill fill) {
  for (int64_t i0 = 0; i0 < nb; i0 += kChunk)
    for (int r = 0; r < n_rows; ++r)
      for (int64_t i = i0; i < std::min(nb, i0 + kChunk); ++i) fill(r, i);
}
template <class Packed, int R>
void prepare(Packed* p, int64_t nb, int64_t codes_per_block, int64_t scales_per_block, int n_rows) {
  auto fit = [&](auto& v, int64_t n) {
    v.resize(size_t(n));
    if (n_rows < R) std::memset(static_cast<void*>(v.data()), 0, v.size() * sizeof(Lanes<R>));
  };
  fit(p->codes, nb * codes_per_block);
  fit(p->scales, nb * scales_per_block);
  fit(p->d, nb);
  if constexpr (requires { p->mins; }) fit(p->mins, nb * 4), fit(p->dmin, nb);
  if constexpr (requires { p->pairs; }) fit(p->pairs, nb * scales_per_block / 2);
}

// Q4_K (kFive false) or Q5_K rows: the same packed form, Q5_K's codes carrying their fifth bit
// (0..31). kScalePairs: the scale in both 16-bit halves of its lane (AVX2 applies it with vpmaddwd
// to 16-bit sums), else the plain value (AVX-512 applies it with vpmulld to 32-bit sums).
template <int R, bool kScalePairs, bool kFive = false>
void pack_qk45(const uint8_t* w, int64_t row_bytes, int n_rows, int64_t nb, PackedQ4K<R>* p) {
  using Block = std::conditional_t<kFive, quant::BlockQ5_K, quant::BlockQ4_K>;
  prepare<PackedQ4K<R>, R>(p, nb, 64, 8, n_rows);
  fill_blocks(nb, n_rows, [&](int r, int64_t i) {
    const Block& b = reinterpret_cast<const Block*>(w + r * row_bytes)[i];
    put_float(p->d[size_t(i)], r, _cvtsh_ss(b.d));
    put_float(p->dmin[size_t(i)], r, _cvtsh_ss(b.dmin));
    const quant::ScalesMinsK4 sm = quant::unpack_scales_mins_k4(b.scales);
    for (int s = 0; s < 8; ++s) {
      const int32_t v = int32_t((sm.scales >> (8 * s)) & 0xff);
      p->scales[size_t(i * 8 + s)].v[r] = kScalePairs ? pair16(v, v) : v;
    }
    for (int k = 0; k < 4; ++k)
      p->mins[size_t(i * 4 + k)].v[r] =
          pair16(int32_t((sm.mins >> (16 * k)) & 0xff), int32_t((sm.mins >> (16 * k + 8)) & 0xff));
    __m256i qh = _mm256_setzero_si256();
    if constexpr (kFive) qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh));
    // Each group of 32 bytes holds two sub-blocks (low and high nibbles); a sub-block's codes go
    // out four at a time, one 32-bit word per quad.
    Lanes<R>* codes = &p->codes[size_t(i * 64)];
    for (int c = 0; c < 4; ++c) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * c));
      alignas(32) int32_t lo[8], hi[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(lo), avx2::qk45_codes(raw, 0, 2 * c, kFive, qh));
      _mm256_store_si256(reinterpret_cast<__m256i*>(hi), avx2::qk45_codes(raw, 1, 2 * c + 1, kFive, qh));
      for (int qd = 0; qd < 8; ++qd) codes[16 * c + qd].v[r] = lo[qd], codes[16 * c + 8 + qd].v[r] = hi[qd];
    }
  });
}

template <int R, bool kScalePairs>
void pack_q6k(const uint8_t* w, int64_t row_bytes, int n_rows, int64_t nb, PackedQ6K<R>* p) {
  prepare<PackedQ6K<R>, R>(p, nb, 64, 16, n_rows);
  fill_blocks(nb, n_rows, [&](int r, int64_t i) {
    const quant::BlockQ6_K& b = reinterpret_cast<const quant::BlockQ6_K*>(w + r * row_bytes)[i];
    put_float(p->d[size_t(i)], r, _cvtsh_ss(b.d));
    for (int s = 0; s < 16; ++s)
      p->scales[size_t(i * 16 + s)].v[r] = kScalePairs ? pair16(b.scales[s], b.scales[s]) : b.scales[s];
    for (int k = 0; k < 8; ++k) p->pairs[size_t(i * 8 + k)].v[r] = pair16(b.scales[2 * k], b.scales[2 * k + 1]);
    Lanes<R>* codes = &p->codes[size_t(i * 64)];
    for (int hf = 0; hf < 2; ++hf) {
      __m256i c[4];
      avx2::q6_codes(b.ql + 64 * hf, b.qh + 32 * hf, c);
      alignas(32) int32_t words[32];  // values 128hf + 4w .. + 3
      for (int j = 0; j < 4; ++j) _mm256_store_si256(reinterpret_cast<__m256i*>(words + 8 * j), c[j]);
      for (int w4 = 0; w4 < 32; ++w4) codes[32 * hf + w4].v[r] = words[w4];
    }
  });
}

// Q3_K rows in the Q6_K form: codes 0..7 (the value + 4), the signed scales (6-bit, less 32) and
// their pairs, d. The kernel takes 4 (not 32) times the scaled per-16 sums off.
template <int R, bool kScalePairs>
void pack_q3k(const uint8_t* w, int64_t row_bytes, int n_rows, int64_t nb, PackedQ6K<R>* p) {
  prepare<PackedQ6K<R>, R>(p, nb, 64, 16, n_rows);
  const __m256i three = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
  fill_blocks(nb, n_rows, [&](int r, int64_t i) {
    const quant::BlockQ3_K& b = reinterpret_cast<const quant::BlockQ3_K*>(w + r * row_bytes)[i];
    put_float(p->d[size_t(i)], r, _cvtsh_ss(b.d));
    int8_t sc[16];
    quant::unpack_scales_q3_k(b.scales, sc);
    for (int s = 0; s < 16; ++s) {
      const int32_t v = sc[s] - 32;
      p->scales[size_t(i * 16 + s)].v[r] = kScalePairs ? pair16(v, v) : v;
    }
    for (int k = 0; k < 8; ++k) p->pairs[size_t(i * 8 + k)].v[r] = pair16(sc[2 * k] - 32, sc[2 * k + 1] - 32);
    // Values 32k..32k+31: two bits of qs byte j (of its half) at shift 2(k % 4), the third from
    // bit k of hmask byte j.
    const __m256i hm = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.hmask));
    Lanes<R>* codes = &p->codes[size_t(i * 64)];
    for (int k = 0; k < 8; ++k) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * (k / 4)));
      const __m256i bit = _mm256_set1_epi8(char(1 << k));
      const __m256i low = _mm256_and_si256(_mm256_srli_epi16(raw, 2 * (k % 4)), three);
      const __m256i high = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit), four);
      alignas(32) int32_t words[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(words), _mm256_or_si256(low, high));
      for (int q4 = 0; q4 < 8; ++q4) codes[8 * k + q4].v[r] = words[q4];
    }
  });
}

// IQ4_XS rows in the offset form, for vpdpbusd (AVX-512 only: the codes reach 241, and AVX2's
// vpmaddubsw would saturate their pairs): codes are the codebook values plus 128 (0..241), the
// scales are signed (6-bit, less 32), with their pairs for taking 128 · Σ_s sc_s · Σ x back off
// against the token's per-32 sums.
template <int R>
void pack_iq4xs(const uint8_t* w, int64_t row_bytes, int n_rows, int64_t nb, PackedQ6K<R>* p) {
  prepare<PackedQ6K<R>, R>(p, nb, 64, 8, n_rows);
  const __m256i lut = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(quant::kIq4Levels)));
  const __m128i m4 = _mm_set1_epi8(0x0F);
  fill_blocks(nb, n_rows, [&](int r, int64_t i) {
    const quant::BlockIQ4_XS& b = reinterpret_cast<const quant::BlockIQ4_XS*>(w + r * row_bytes)[i];
    put_float(p->d[size_t(i)], r, _cvtsh_ss(b.d));
    int32_t sc[8];
    for (int s = 0; s < 8; ++s)
      sc[s] = (((b.scales_l[s / 2] >> (4 * (s % 2))) & 0x0F) | (((b.scales_h >> (2 * s)) & 3) << 4)) - 32;
    for (int s = 0; s < 8; ++s) p->scales[size_t(i * 8 + s)].v[r] = sc[s];
    for (int k = 0; k < 4; ++k) p->pairs[size_t(i * 4 + k)].v[r] = pair16(sc[2 * k], sc[2 * k + 1]);
    // Sub-block s: 16 bytes, low nibbles values 0-15, high nibbles 16-31.
    Lanes<R>* codes = &p->codes[size_t(i * 64)];
    for (int s = 0; s < 8; ++s) {
      const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs + 16 * s));
      const __m256i idx = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), m4), _mm_and_si128(raw, m4));
      const __m256i v = _mm256_xor_si256(_mm256_shuffle_epi8(lut, idx), _mm256_set1_epi8(char(0x80)));
      alignas(32) int32_t words[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(words), v);
      for (int q4 = 0; q4 < 8; ++q4) codes[8 * s + q4].v[r] = words[q4];
    }
  });
}

// Kernels::gemm_q8 from a packer and a token kernel: R rows packed at a time (the AVX2 kernels
// take a block of 16 in two halves), then every token against them, in groups of G tokens and
// then one at a time. The packed arrays are kept per thread, so a warm prefill allocates nothing.
// XBlock / kBlockValues: the activation blocks (Q8_K of 256 values, or Q8_0 of 32).
template <class Packed, int R, void (*Pack)(const uint8_t*, int64_t, int, int64_t, Packed*), int G, auto Group,
          auto One, class XBlock = quant::BlockQ8_K, int kBlockValues = 256>
void gemm_packed(const uint8_t* w, int64_t row_bytes, int n_rows, const uint8_t* xq, int64_t xq_bytes, int64_t n_tokens,
                 int64_t n, float* y, int64_t ldy) {
  thread_local Packed packed;
  const int64_t nb = n / kBlockValues;
  for (int r0 = 0; r0 < n_rows; r0 += R) {
    const int rows = n_rows - r0 < R ? n_rows - r0 : R;
    Pack(w + r0 * row_bytes, row_bytes, rows, nb, &packed);
    const XBlock* xs[G];
    int64_t t = 0;
    for (; t + G <= n_tokens; t += G) {
      for (int j = 0; j < G; ++j) xs[j] = reinterpret_cast<const XBlock*>(xq + (t + j) * xq_bytes);
      Group(packed, nb, xs, rows, y + t * ldy + r0, ldy);
    }
    for (; t < n_tokens; ++t) {
      xs[0] = reinterpret_cast<const XBlock*>(xq + t * xq_bytes);
      One(packed, nb, xs, rows, y + t * ldy + r0, ldy);
    }
  }
}

}  // namespace
}  // namespace onprem::kernels
