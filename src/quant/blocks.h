// Block layouts of the ggml quantisation formats (formats.md §3). These structs are the ground
// truth for every kernel; sizes are checked against the format. Blocks sit at 2-byte aligned
// addresses in GGUF data (alignment 32, even block sizes), which the structs require.
#pragma once

#include <cstdint>
#include <cstring>

namespace onprem::quant {

inline constexpr int kQK = 32;    // values per Q4_0 / Q8_0 block
inline constexpr int kQKK = 256;  // values per K-quant super-block

struct BlockQ4_0 {
  uint16_t d;      // fp16 scale
  uint8_t qs[16];  // low nibbles: values 0..15, high nibbles: 16..31, code - 8
};
static_assert(sizeof(BlockQ4_0) == 18);

struct BlockQ8_0 {
  uint16_t d;  // fp16 scale
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34);

struct BlockQ4_K {
  uint16_t d;          // fp16 scale of the 6-bit sub-block scales
  uint16_t dmin;       // fp16 scale of the 6-bit sub-block minimums
  uint8_t scales[12];  // 8 scales + 8 minimums, 6 bits each, packed
  uint8_t qs[128];     // 4-bit codes; group c: low nibbles sub-block 2c, high 2c+1
};
static_assert(sizeof(BlockQ4_K) == 144);

struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[32];  // 5th bit: bit 2c (low half) / 2c+1 (high half) of qh[l]
  uint8_t qs[128];
};
static_assert(sizeof(BlockQ5_K) == 176);

struct BlockQ6_K {
  uint8_t ql[128];    // low 4 bits
  uint8_t qh[64];     // high 2 bits
  int8_t scales[16];  // one per 16 values
  uint16_t d;         // fp16, last in this format
};
static_assert(sizeof(BlockQ6_K) == 210);

// Activation-only format: what K-quant dot products multiply with.
struct BlockQ8_K {
  float d;
  int8_t qs[256];
  int16_t bsums[16];  // sum of each 16 codes
};
static_assert(sizeof(BlockQ8_K) == 292);

// Legacy 32-value blocks with a minimum (Q4_1, Q5_1) or a fifth bit (Q5_0, Q5_1): value j of the
// block is qs[j] low nibble (j < 16) or qs[j - 16] high nibble, plus bit j of qh as bit 4.
struct BlockQ4_1 {
  uint16_t d, m;  // fp16 scale and minimum: x = d * code + m
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ4_1) == 20);

struct BlockQ5_0 {
  uint16_t d;     // x = d * (code - 16)
  uint8_t qh[4];  // little-endian 32-bit mask of fifth bits
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ5_0) == 22);

struct BlockQ5_1 {
  uint16_t d, m;  // x = d * code + m
  uint8_t qh[4];
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ5_1) == 24);

// 32 values on a fixed non-uniform 16-level codebook (kIq4Levels), one fp16 scale.
struct BlockIQ4_NL {
  uint16_t d;
  uint8_t qs[16];
};
static_assert(sizeof(BlockIQ4_NL) == 18);

// The same codebook in 256-value super-blocks with a 6-bit scale per 32 values (biased by 32):
// low 4 bits in scales_l (two per byte), high 2 bits in scales_h.
struct BlockIQ4_XS {
  uint16_t d;
  uint16_t scales_h;
  uint8_t scales_l[4];
  uint8_t qs[128];  // 32 values per 16 bytes, nibbles as in IQ4_NL
};
static_assert(sizeof(BlockIQ4_XS) == 136);

// 2-bit K-quant: 16 groups of 16 values, each with a 4-bit scale (low nibble) and a 4-bit
// minimum (high nibble): x = d * scale * code - dmin * min.
struct BlockQ2_K {
  uint8_t scales[16];
  uint8_t qs[64];  // 128 values per 32 bytes, 2 bits each at shifts 0, 2, 4, 6
  uint16_t d, dmin;
};
static_assert(sizeof(BlockQ2_K) == 84);

// 3-bit K-quant: 2 low bits in qs (as Q2_K), the third in hmask; the code is signed, 4 is
// subtracted where the hmask bit is clear. 16 signed 6-bit scales (biased by 32), packed in 12 bytes.
struct BlockQ3_K {
  uint8_t hmask[32];
  uint8_t qs[64];
  uint8_t scales[12];
  uint16_t d;
};
static_assert(sizeof(BlockQ3_K) == 110);

// OCP microscaling FP4: 32 E2M1 values (kMxfp4Levels holds twice their value) and one E8M0
// exponent, x = level * 2^(e - 128).
struct BlockMXFP4 {
  uint8_t e;
  uint8_t qs[16];
};
static_assert(sizeof(BlockMXFP4) == 17);

// The IQ2 / IQ3 / IQ1 formats: 256 values per super-block, in groups of 8 (or 4) values that are
// entries of a lattice (iq_grids.h), with signs and 4-bit or 3-bit group scales.
struct BlockIQ2_XXS {
  uint16_t d;
  uint16_t qs[32];  // per 32 values, two 32-bit words: 4 grid indices (bytes); 4 x 7 sign bits and a 4-bit scale
};
static_assert(sizeof(BlockIQ2_XXS) == 66);

struct BlockIQ2_XS {
  uint16_t d;
  uint16_t qs[32];    // per 8 values: a 9-bit grid index and 7 sign bits
  uint8_t scales[8];  // two 4-bit scales per 32 values
};
static_assert(sizeof(BlockIQ2_XS) == 74);

struct BlockIQ2_S {
  uint16_t d;
  uint8_t qs[64];  // 32 low bytes of 10-bit grid indices, then 32 bytes of signs (one per 8 values)
  uint8_t qh[8];   // the indices' top 2 bits, four per byte
  uint8_t scales[8];
};
static_assert(sizeof(BlockIQ2_S) == 82);

struct BlockIQ3_XXS {
  uint16_t d;
  uint8_t qs[96];  // 64 grid indices (4 values each), then per 32 values a word: 4 x 7 sign bits and a 4-bit scale
};
static_assert(sizeof(BlockIQ3_XXS) == 98);

struct BlockIQ3_S {
  uint16_t d;
  uint8_t qs[64];     // low bytes of 9-bit grid indices
  uint8_t qh[8];      // their top bits
  uint8_t signs[32];  // one byte per 8 values
  uint8_t scales[4];  // two 4-bit scales per 64 values
};
static_assert(sizeof(BlockIQ3_S) == 110);

struct BlockIQ1_S {
  uint16_t d;
  uint8_t qs[32];  // low bytes of 11-bit grid indices
  uint16_t qh[8];  // per 32 values: 4 x 3 index bits, a 3-bit scale, the sign of the shift
};
static_assert(sizeof(BlockIQ1_S) == 50);

struct BlockIQ1_M {
  uint8_t qs[32];
  uint8_t qh[16];     // per 8 values: 3 index bits and the sign of the shift
  uint8_t scales[8];  // 3-bit scales per 16 values; the fp16 block scale in the top 4 bits of each u16
};
static_assert(sizeof(BlockIQ1_M) == 56);

inline constexpr float kIq1Delta = 0.125f;  // the shift IQ1 adds to each lattice value

// IQ1_M's fp16 block scale, spread over the top 4 bits of its four 16-bit scale words; sc holds the
// words (read with memcpy: the block is only 2-byte aligned).
inline uint16_t iq1_m_scale_bits(const uint16_t sc[4]) {
  return uint16_t((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000));
}

// 2^(e - 128), the scale of an MXFP4 block (twice E8M0's 2^(e - 127), as kMxfp4Levels are doubled),
// built from its bits: e = 0 and 1 give the subnormals 2^-128 and 2^-127.
inline float mxfp4_scale(uint8_t e) {
  const uint32_t bits = e < 2 ? uint32_t(0x00200000) << e : uint32_t(e - 1) << 23;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

constexpr int8_t kIq4Levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
constexpr int8_t kMxfp4Levels[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// Unpacks the 16 Q3_K scales (6 bits each: low 4 bits in bytes 0-7, high 2 bits in bytes 8-11),
// without the bias of 32.
inline void unpack_scales_q3_k(const uint8_t* packed, int8_t* out) {
  for (int s = 0; s < 16; ++s) {
    const int low = s < 8 ? (packed[s] & 0x0F) : (packed[s - 8] >> 4);
    const int high = (packed[8 + s % 4] >> (2 * (s / 4))) & 3;
    out[s] = int8_t(low | (high << 4));
  }
}

// Unpacks sub-block s (0..7) scale and minimum of a Q4_K / Q5_K block.
inline void unpack_scale_min_k4(int s, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (s < 4) {
    *sc = q[s] & 63;
    *m = q[s + 4] & 63;
  } else {
    *sc = uint8_t((q[s + 4] & 0x0F) | ((q[s - 4] >> 6) << 4));
    *m = uint8_t((q[s + 4] >> 4) | ((q[s] >> 6) << 4));
  }
}

// All 8 scales and 8 minimums of a Q4_K / Q5_K block at once, as bytes 0-7 (sub-block order) of
// two little-endian words: the values of unpack_scale_min_k4 for s = 0..7, with 32-bit masks in
// place of a branch per sub-block (bytes 0-3 and 4-7 of q hold the low 6 bits of scales / minimums
// 0-3 and the top 2 bits of 4-7; bytes 8-11 the low 4 bits of scales (low nibble) and minimums
// (high nibble) 4-7).
struct ScalesMinsK4 {
  uint64_t scales = 0, mins = 0;
};
inline ScalesMinsK4 unpack_scales_mins_k4(const uint8_t* q) {
  uint32_t u[3];
  std::memcpy(u, q, 12);
  const uint32_t sc_lo = u[0] & 0x3f3f3f3fu, mn_lo = u[1] & 0x3f3f3f3fu;
  const uint32_t sc_hi = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
  const uint32_t mn_hi = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
  return {uint64_t(sc_lo) | (uint64_t(sc_hi) << 32), uint64_t(mn_lo) | (uint64_t(mn_hi) << 32)};
}

// Packs the 8 six-bit scales and minimums of a Q4_K / Q5_K block (the inverse of the above).
inline void pack_scale_min_k4(const uint8_t* ls, const uint8_t* lm, uint8_t* q) {
  for (int s = 0; s < 12; ++s) q[s] = 0;
  for (int s = 0; s < 8; ++s) {
    if (s < 4) {
      q[s] = ls[s];
      q[s + 4] = lm[s];
    } else {
      q[s + 4] = uint8_t((ls[s] & 0xF) | ((lm[s] & 0xF) << 4));
      q[s - 4] |= uint8_t((ls[s] >> 4) << 6);
      q[s] |= uint8_t((lm[s] >> 4) << 6);
    }
  }
}

// Packs 256 Q6_K codes (0..63, the value + 32) into ql / qh (the inverse of the decoder's order).
inline void pack_q6_k_codes(const uint8_t* q, uint8_t* ql, uint8_t* qh) {
  for (int half = 0; half < 2; ++half) {
    const uint8_t* c = q + 128 * half;
    for (int l = 0; l < 32; ++l) {
      ql[64 * half + l] = uint8_t((c[l] & 15) | ((c[l + 64] & 15) << 4));
      ql[64 * half + l + 32] = uint8_t((c[l + 32] & 15) | ((c[l + 96] & 15) << 4));
      qh[32 * half + l] =
          uint8_t((c[l] >> 4) | ((c[l + 32] >> 4) << 2) | ((c[l + 64] >> 4) << 4) | ((c[l + 96] >> 4) << 6));
    }
  }
}

// Packs 16 six-bit Q3_K scales, already biased by 32 (the inverse of unpack_scales_q3_k).
inline void pack_scales_q3_k(const uint8_t* biased, uint8_t* packed) {
  for (int s = 0; s < 12; ++s) packed[s] = 0;
  for (int s = 0; s < 16; ++s) {
    packed[s % 8] |= uint8_t((biased[s] & 0x0F) << (s < 8 ? 0 : 4));
    packed[8 + s % 4] |= uint8_t((biased[s] >> 4) << (2 * (s / 4)));
  }
}

}  // namespace onprem::quant
