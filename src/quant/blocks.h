// Block layouts of the ggml quantisation formats (formats.md §3). These structs are the ground
// truth for every kernel; sizes are checked against the format. Blocks sit at 2-byte aligned
// addresses in GGUF data (alignment 32, even block sizes), which the structs require.
#pragma once

#include <cstdint>

namespace onprem::quant {

inline constexpr int kQK = 32;    // values per Q4_0 / Q8_0 block
inline constexpr int kQKK = 256;  // values per K-quant super-block

struct BlockQ4_0 {
  uint16_t d;       // fp16 scale
  uint8_t qs[16];   // low nibbles: values 0..15, high nibbles: 16..31, code - 8
};
static_assert(sizeof(BlockQ4_0) == 18);

struct BlockQ8_0 {
  uint16_t d;      // fp16 scale
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34);

struct BlockQ4_K {
  uint16_t d;           // fp16 scale of the 6-bit sub-block scales
  uint16_t dmin;        // fp16 scale of the 6-bit sub-block minimums
  uint8_t scales[12];   // 8 scales + 8 minimums, 6 bits each, packed
  uint8_t qs[128];      // 4-bit codes; group c: low nibbles sub-block 2c, high 2c+1
};
static_assert(sizeof(BlockQ4_K) == 144);

struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[32];       // 5th bit: bit 2c (low half) / 2c+1 (high half) of qh[l]
  uint8_t qs[128];
};
static_assert(sizeof(BlockQ5_K) == 176);

struct BlockQ6_K {
  uint8_t ql[128];      // low 4 bits
  uint8_t qh[64];       // high 2 bits
  int8_t scales[16];    // one per 16 values
  uint16_t d;           // fp16, last in this format
};
static_assert(sizeof(BlockQ6_K) == 210);

// Activation-only format: what K-quant dot products multiply with.
struct BlockQ8_K {
  float d;
  int8_t qs[256];
  int16_t bsums[16];    // sum of each 16 codes
};
static_assert(sizeof(BlockQ8_K) == 292);

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

}  // namespace onprem::quant
