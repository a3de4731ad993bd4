// One block of each weight type: its value count, its bytes, and its dot product with 32-bit
// float activations. Formats: ../shared/spec (GGUF block layouts). The CPU's dequantisers
// (src/quant/dequant.cpp) are the reference the tests hold these to.

#if defined(TYPE_F32)
const uint BLOCK_VALUES = 1u;
const uint BLOCK_BYTES = 4u;
float block_dot(uint off, uint xi) { return uintBitsToFloat(w[off >> 2]) * x[xi]; }

#elif defined(TYPE_F16)
const uint BLOCK_VALUES = 2u;  // two halves per word: every row of an F16 matrix has an even length here
const uint BLOCK_BYTES = 4u;
float block_dot(uint off, uint xi) {
  const uint v = u16_at(off) | (u16_at(off + 2u) << 16);
  return half_bits(v & 0xFFFFu) * x[xi] + half_bits(v >> 16) * x[xi + 1u];
}

#elif defined(TYPE_BF16)
const uint BLOCK_VALUES = 2u;
const uint BLOCK_BYTES = 4u;
float block_dot(uint off, uint xi) {
  const uint v = u16_at(off) | (u16_at(off + 2u) << 16);
  return uintBitsToFloat(v << 16) * x[xi] + uintBitsToFloat(v & 0xFFFF0000u) * x[xi + 1u];
}

#elif defined(TYPE_Q8_0)
// d (half), 32 signed bytes.
const uint BLOCK_VALUES = 32u;
const uint BLOCK_BYTES = 34u;
float block_dot(uint off, uint xi) {
  float s = 0.0;
  for (uint j = 0u; j < 32u; ++j) s += float(sbyte_at(off + 2u + j)) * x[xi + j];
  return half_at(off) * s;
}

#elif defined(TYPE_Q4_0)
// d (half), 16 bytes: value j is the low nibble of byte j, value 16 + j the high one, minus 8.
const uint BLOCK_VALUES = 32u;
const uint BLOCK_BYTES = 18u;
float block_dot(uint off, uint xi) {
  float s = 0.0;
  for (uint j = 0u; j < 16u; ++j) {
    const uint q = byte_at(off + 2u + j);
    s += float(int(q & 0xFu) - 8) * x[xi + j] + float(int(q >> 4) - 8) * x[xi + 16u + j];
  }
  return half_at(off) * s;
}

#elif defined(TYPE_Q4_1)
// d, m (halves), 16 bytes: value j the low nibble of byte j, value 16 + j its high one; d * q + m.
const uint BLOCK_VALUES = 32u;
const uint BLOCK_BYTES = 20u;
float block_dot(uint off, uint xi) {
  float s = 0.0, sx = 0.0;
  for (uint j = 0u; j < 16u; ++j) {
    const uint q = byte_at(off + 4u + j);
    const float a = x[xi + j], b = x[xi + 16u + j];
    s += float(q & 0xFu) * a + float(q >> 4) * b;
    sx += a + b;
  }
  return half_at(off) * s + half_at(off + 2u) * sx;
}

#elif defined(TYPE_Q5_0) || defined(TYPE_Q5_1)
// d [, m] (halves), 4 bytes of fifth bits (bit j for value j), 16 bytes of nibbles as Q4_0's.
// Q5_0: d * (q - 16); Q5_1: d * q + m.
const uint BLOCK_VALUES = 32u;
#if defined(TYPE_Q5_1)
const uint BLOCK_BYTES = 24u;
const uint QH = 4u;
#else
const uint BLOCK_BYTES = 22u;
const uint QH = 2u;
#endif
float block_dot(uint off, uint xi) {
  const uint qh = byte_at(off + QH) | (byte_at(off + QH + 1u) << 8) | (byte_at(off + QH + 2u) << 16) |
                  (byte_at(off + QH + 3u) << 24);
  float s = 0.0, sx = 0.0;
  for (uint j = 0u; j < 16u; ++j) {
    const uint q = byte_at(off + QH + 4u + j);
    const uint lo = (q & 0xFu) | (((qh >> j) & 1u) << 4), hi = (q >> 4) | (((qh >> (j + 16u)) & 1u) << 4);
    const float a = x[xi + j], b = x[xi + 16u + j];
#if defined(TYPE_Q5_1)
    s += float(lo) * a + float(hi) * b;
    sx += a + b;
#else
    s += float(int(lo) - 16) * a + float(int(hi) - 16) * b;
#endif
  }
#if defined(TYPE_Q5_1)
  return half_at(off) * s + half_at(off + 2u) * sx;
#else
  return half_at(off) * s;
#endif
}

#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
// d, dmin (halves), 12 bytes of 6-bit scales and minimums for 8 sub-blocks of 32, [Q5_K: 32 bytes
// of fifth bits], 128 bytes of nibbles: sub-block 2i is the low nibbles of bytes 32i..32i+31,
// sub-block 2i+1 their high nibbles. value = d * scale * q - dmin * min.
const uint BLOCK_VALUES = 256u;
#if defined(TYPE_Q5_K)
const uint BLOCK_BYTES = 176u;
const uint QS = 48u;
#else
const uint BLOCK_BYTES = 144u;
const uint QS = 16u;
#endif

// Sub-block j's 6-bit scale (.x) and minimum (.y).
uvec2 scale_min(uint off, uint j) {
  const uint s = off + 4u;
  if (j < 4u) return uvec2(byte_at(s + j) & 63u, byte_at(s + j + 4u) & 63u);
  const uint hi = byte_at(s + j + 4u);
  return uvec2((hi & 0xFu) | ((byte_at(s + j - 4u) >> 6) << 4), (hi >> 4) | ((byte_at(s + j) >> 6) << 4));
}

float block_dot(uint off, uint xi) {
  const float d = half_at(off), dmin = half_at(off + 2u);
  float total = 0.0;
  for (uint i = 0u; i < 4u; ++i) {
    const uvec2 lo = scale_min(off, 2u * i), hi = scale_min(off, 2u * i + 1u);
    float q_lo = 0.0, q_hi = 0.0, x_lo = 0.0, x_hi = 0.0;
    for (uint l = 0u; l < 32u; ++l) {
      const uint q = byte_at(off + QS + 32u * i + l);
      uint a = q & 0xFu, b = q >> 4;
#if defined(TYPE_Q5_K)
      const uint h = byte_at(off + 16u + l);
      a |= ((h >> (2u * i)) & 1u) << 4;
      b |= ((h >> (2u * i + 1u)) & 1u) << 4;
#endif
      const float xa = x[xi + 64u * i + l], xb = x[xi + 64u * i + 32u + l];
      q_lo += float(a) * xa;
      q_hi += float(b) * xb;
      x_lo += xa;
      x_hi += xb;
    }
    total += d * (float(lo.x) * q_lo + float(hi.x) * q_hi) - dmin * (float(lo.y) * x_lo + float(hi.y) * x_hi);
  }
  return total;
}

#elif defined(TYPE_Q6_K)
// 128 bytes of low nibbles, 64 bytes of high bit pairs, 16 signed scales, d (half), for two
// halves of 128 values: within half n, value 32k + l (k = 0..3) takes its low nibble from byte
// l (k even) or l + 32 (k odd), low or high nibble by k / 2, and bits 2k..2k+1 of high byte l;
// minus 32, times scale 8n + 2k + l / 16.
const uint BLOCK_VALUES = 256u;
const uint BLOCK_BYTES = 210u;
float block_dot(uint off, uint xi) {
  const float d = half_at(off + 208u);
  float total = 0.0;
  for (uint n = 0u; n < 2u; ++n) {
    const uint ql = off + 64u * n, qh = off + 128u + 32u * n, sc = off + 192u + 8u * n;
    for (uint k = 0u; k < 4u; ++k) {
      for (uint half16 = 0u; half16 < 2u; ++half16) {
        float s = 0.0;
        for (uint m = 0u; m < 16u; ++m) {
          const uint l = 16u * half16 + m;
          const uint low = byte_at(ql + l + 32u * (k & 1u));
          const uint nib = (k < 2u) ? (low & 0xFu) : (low >> 4);
          const int q = int(nib | (((byte_at(qh + l) >> (2u * k)) & 3u) << 4)) - 32;
          s += float(q) * x[xi + 128u * n + 32u * k + l];
        }
        total += d * float(sbyte_at(sc + 2u * k + half16)) * s;
      }
    }
  }
  return total;
}

#elif defined(TYPE_Q2_K)
// 16 bytes of scales (low nibble: scale, high: minimum), 64 bytes of 2-bit codes, d, dmin
// (halves). Group g of 16 values (g = 8 * half + 2 * j + part) takes bits 2j..2j+1 of bytes
// 32 * half + 16 * part + l: d * scale * q - dmin * min.
const uint BLOCK_VALUES = 256u;
const uint BLOCK_BYTES = 84u;
float block_dot(uint off, uint xi) {
  const float d = half_at(off + 80u), dmin = half_at(off + 82u);
  float total = 0.0;
  for (uint g = 0u; g < 16u; ++g) {
    const uint shift = 2u * ((g / 2u) % 4u), q0 = off + 16u + 32u * (g / 8u) + 16u * (g % 2u);
    const uint sc = byte_at(off + g);
    float s = 0.0, sx = 0.0;
    for (uint l = 0u; l < 16u; ++l) {
      const float xv = x[xi + 16u * g + l];
      s += float((byte_at(q0 + l) >> shift) & 3u) * xv;
      sx += xv;
    }
    total += d * float(sc & 15u) * s - dmin * float(sc >> 4) * sx;
  }
  return total;
}

#elif defined(TYPE_Q3_K)
// 32 bytes of high bits (hmask), 64 bytes of 2-bit codes (as Q2_K's), 12 bytes of 16 six-bit
// scales biased by 32 (low 4 bits in bytes 0-7, two per byte; high 2 bits in bytes 8-11), d
// (half). The code is signed: 4 is subtracted where the group's hmask bit (4 * half + j) is clear.
const uint BLOCK_VALUES = 256u;
const uint BLOCK_BYTES = 110u;
float block_dot(uint off, uint xi) {
  const float d = half_at(off + 108u);
  float total = 0.0;
  for (uint g = 0u; g < 16u; ++g) {
    const uint j = (g / 2u) % 4u, bit = 4u * (g / 8u) + j, part = g % 2u, q0 = off + 32u + 32u * (g / 8u);
    const uint low = g < 8u ? (byte_at(off + 96u + g) & 15u) : (byte_at(off + 88u + g) >> 4);
    const uint high = (byte_at(off + 104u + g % 4u) >> (2u * (g / 4u))) & 3u;
    float s = 0.0;
    for (uint l = 0u; l < 16u; ++l) {
      const uint k = 16u * part + l;
      const int code = int((byte_at(q0 + k) >> (2u * j)) & 3u) - (((byte_at(off + k) >> bit) & 1u) != 0u ? 0 : 4);
      s += float(code) * x[xi + 16u * g + l];
    }
    total += d * float(int(low | (high << 4)) - 32) * s;
  }
  return total;
}

#elif defined(TYPE_IQ4_NL) || defined(TYPE_IQ4_XS)
// A fixed non-uniform codebook of 16 levels, nibbles as Q4_0's. IQ4_NL: d (half), 16 bytes, 32
// values. IQ4_XS: d (half), 2 bytes of high scale bits, 4 bytes of low ones, 128 bytes: eight
// sub-blocks of 32 with a 6-bit scale biased by 32 (low 4 bits: nibble s % 2 of byte s / 2; high
// 2 bits: bits 2s..2s+1 of the 16-bit word), times d.
const int kLevels[16] = int[16](-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
float levels_dot(uint qs, uint xi) {
  float s = 0.0;
  for (uint j = 0u; j < 16u; ++j) {
    const uint q = byte_at(qs + j);
    s += float(kLevels[q & 15u]) * x[xi + j] + float(kLevels[q >> 4]) * x[xi + 16u + j];
  }
  return s;
}
#if defined(TYPE_IQ4_NL)
const uint BLOCK_VALUES = 32u;
const uint BLOCK_BYTES = 18u;
float block_dot(uint off, uint xi) { return half_at(off) * levels_dot(off + 2u, xi); }
#else
const uint BLOCK_VALUES = 256u;
const uint BLOCK_BYTES = 136u;
float block_dot(uint off, uint xi) {
  const float d = half_at(off);
  const uint high = u16_at(off + 2u);
  float total = 0.0;
  for (uint s = 0u; s < 8u; ++s) {
    const uint scale = ((byte_at(off + 4u + s / 2u) >> (4u * (s % 2u))) & 15u) | (((high >> (2u * s)) & 3u) << 4);
    total += d * float(int(scale) - 32) * levels_dot(off + 8u + 16u * s, xi + 32u * s);
  }
  return total;
}
#endif

#elif defined(TYPE_MXFP4)
// OCP microscaling FP4: an E8M0 exponent byte, 16 bytes of E2M1 nibbles as Q4_0's; the levels
// are twice the E2M1 values and the scale 2^(e - 128) (quant/blocks.h), e = 0 and 1 subnormal.
const uint BLOCK_VALUES = 32u;
const uint BLOCK_BYTES = 17u;
const float kLevels[16] = float[16](0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 0.0, -1.0, -2.0, -3.0, -4.0, -6.0, -8.0,
                                    -12.0);
float block_dot(uint off, uint xi) {
  const uint e = byte_at(off);
  const float d = uintBitsToFloat(e < 2u ? (0x00200000u << e) : ((e - 1u) << 23));
  float s = 0.0;
  for (uint j = 0u; j < 16u; ++j) {
    const uint q = byte_at(off + 1u + j);
    s += kLevels[q & 15u] * x[xi + j] + kLevels[q >> 4] * x[xi + 16u + j];
  }
  return d * s;
}

#elif defined(TYPE_IQ2_XXS) || defined(TYPE_IQ2_XS) || defined(TYPE_IQ2_S) || defined(TYPE_IQ3_XXS) || \
    defined(TYPE_IQ3_S) || defined(TYPE_IQ1_S) || defined(TYPE_IQ1_M)
// The lattice formats: 256 values per block, in groups of 8 (or 4, IQ3) that are entries of a
// fixed lattice, with signs and small group scales (quant/dequant_iq.cpp decodes them on the CPU).
// The lattice is a buffer the host fills from quant/iq_grids.h: each entry's values as signed
// bytes, four to a word. (A constant array in the shader would be a second copy of those tables,
// and a CPU driver took minutes to compile the largest.)
const uint BLOCK_VALUES = 256u;
#if defined(TYPE_IQ2_XXS)
const uint BLOCK_BYTES = 66u;
#elif defined(TYPE_IQ2_XS)
const uint BLOCK_BYTES = 74u;
#elif defined(TYPE_IQ2_S)
const uint BLOCK_BYTES = 82u;
#elif defined(TYPE_IQ3_XXS)
const uint BLOCK_BYTES = 98u;
#elif defined(TYPE_IQ3_S)
const uint BLOCK_BYTES = 110u;
#elif defined(TYPE_IQ1_S)
const uint BLOCK_BYTES = 50u;
#else
const uint BLOCK_BYTES = 56u;
#endif
#if defined(TYPE_IQ3_XXS) || defined(TYPE_IQ3_S)
const uint GRID_VALUES = 4u;
#else
const uint GRID_VALUES = 8u;
#endif
layout(std430, binding = GRID_BINDING) readonly buffer Grid { uint grid[]; };

// The sign pattern of 8 values from 7 stored bits: the 8th makes the count of minus signs even.
uint iq_signs(uint seven) { return (seven & 127u) | ((uint(bitCount(seven & 127u)) & 1u) << 7); }

// Entry e times x[xi..], value j negated where bit j of `signs` is set.
float grid_dot(uint e, uint signs, uint xi) {
  float s = 0.0;
  for (uint j = 0u; j < GRID_VALUES; ++j) {
    const int level = bitfieldExtract(int(grid[e * (GRID_VALUES / 4u) + j / 4u]), int(8u * (j % 4u)), 8);
    const float v = float(level) * x[xi + j];
    s += ((signs >> j) & 1u) != 0u ? -v : v;
  }
  return s;
}

#if defined(TYPE_IQ2_XXS)
// d (half); per 32 values two words: four 8-bit entries; four 7-bit sign sets and a 4-bit scale.
float block_dot(uint off, uint xi) {
  const float d = half_at(off);
  float total = 0.0;
  for (uint g = 0u; g < 8u; ++g) {
    const uint w0 = u32_at(off + 2u + 8u * g), w1 = u32_at(off + 6u + 8u * g);
    float s = 0.0;
    for (uint l = 0u; l < 4u; ++l) s += grid_dot((w0 >> (8u * l)) & 255u, iq_signs(w1 >> (7u * l)), xi + 32u * g + 8u * l);
    total += d * (0.5 + float(w1 >> 28)) * 0.25 * s;
  }
  return total;
}
#elif defined(TYPE_IQ2_XS) || defined(TYPE_IQ2_S)
// A byte of two 4-bit scales, (0.5 + scale) / 4, for the sums of two halves of 32 values.
float two_scales(uint sc, float s0, float s1) {
  return (0.5 + float(sc & 15u)) * 0.25 * s0 + (0.5 + float(sc >> 4)) * 0.25 * s1;
}
#if defined(TYPE_IQ2_XS)
// d (half); per 8 values a 16-bit word: a 9-bit entry and 7 sign bits; then 8 bytes of two 4-bit
// scales (one per 16 values).
float block_dot(uint off, uint xi) {
  const float d = half_at(off);
  float total = 0.0;
  for (uint g = 0u; g < 8u; ++g) {
    const uint sc = byte_at(off + 66u + g);
    float s[2] = float[2](0.0, 0.0);
    for (uint l = 0u; l < 4u; ++l) {
      const uint q = u16_at(off + 2u + 2u * (4u * g + l));
      s[l / 2u] += grid_dot(q & 511u, iq_signs(q >> 9), xi + 32u * g + 8u * l);
    }
    total += d * two_scales(sc, s[0], s[1]);
  }
  return total;
}
#elif defined(TYPE_IQ2_S)
// d (half); 32 low bytes of 10-bit entries; 32 sign bytes (one per 8 values, all 8 bits stored);
// 8 bytes of the entries' top 2 bits; 8 bytes of two 4-bit scales.
float block_dot(uint off, uint xi) {
  const float d = half_at(off);
  float total = 0.0;
  for (uint g = 0u; g < 8u; ++g) {
    const uint qh = byte_at(off + 66u + g), sc = byte_at(off + 74u + g);
    float s[2] = float[2](0.0, 0.0);
    for (uint l = 0u; l < 4u; ++l) {
      const uint e = byte_at(off + 2u + 4u * g + l) | (((qh >> (2u * l)) & 3u) << 8);
      s[l / 2u] += grid_dot(e, byte_at(off + 34u + 4u * g + l), xi + 32u * g + 8u * l);
    }
    total += d * two_scales(sc, s[0], s[1]);
  }
  return total;
}
#endif
#elif defined(TYPE_IQ3_XXS)
// d (half); 64 8-bit entries of 4 values; per 32 values a word: four 7-bit sign sets (each for
// two entries) and a 4-bit scale.
float block_dot(uint off, uint xi) {
  const float d = half_at(off);
  float total = 0.0;
  for (uint g = 0u; g < 8u; ++g) {
    const uint w = u32_at(off + 66u + 4u * g);
    float s = 0.0;
    for (uint l = 0u; l < 4u; ++l) {
      const uint signs = iq_signs(w >> (7u * l)), q = off + 2u + 8u * g + 2u * l, x0 = xi + 32u * g + 8u * l;
      s += grid_dot(byte_at(q), signs, x0) + grid_dot(byte_at(q + 1u), signs >> 4, x0 + 4u);
    }
    total += d * (0.5 + float(w >> 28)) * 0.5 * s;
  }
  return total;
}
#elif defined(TYPE_IQ3_S)
// d (half); 64 low bytes of 9-bit entries of 4 values; 8 bytes of their top bits; 32 sign bytes
// (one per 8 values); 4 bytes of two 4-bit scales (one per 32 values): d * (1 + 2 * scale).
float block_dot(uint off, uint xi) {
  const float d = half_at(off);
  float total = 0.0;
  for (uint g = 0u; g < 8u; ++g) {
    const uint sb = byte_at(off + 106u + g / 2u), high = byte_at(off + 66u + g);
    const uint scale4 = (g % 2u) != 0u ? sb >> 4 : sb & 15u;
    float s = 0.0;
    for (uint l = 0u; l < 4u; ++l) {
      const uint q = off + 2u + 8u * g + 2u * l, signs = byte_at(off + 74u + 4u * g + l), x0 = xi + 32u * g + 8u * l;
      const uint e0 = byte_at(q) | (((high >> (2u * l)) & 1u) << 8);
      const uint e1 = byte_at(q + 1u) | (((high >> (2u * l + 1u)) & 1u) << 8);
      s += grid_dot(e0, signs, x0) + grid_dot(e1, signs >> 4, x0 + 4u);
    }
    total += d * float(1u + 2u * scale4) * s;
  }
  return total;
}
#else
// IQ1: lattice values in {-1, 0, 1}, each shifted by +-1/8, times an odd group scale.
const float kDelta = 0.125;
float entry_sum(uint xi) {
  float s = 0.0;
  for (uint j = 0u; j < 8u; ++j) s += x[xi + j];
  return s;
}
#if defined(TYPE_IQ1_S)
// d (half); 32 low bytes of 11-bit entries; per 32 values a 16-bit word: four 3-bit top parts of
// the entries, a 3-bit scale and the shift's sign.
float block_dot(uint off, uint xi) {
  const float d = half_at(off);
  float total = 0.0;
  for (uint g = 0u; g < 8u; ++g) {
    const uint h = u16_at(off + 34u + 2u * g);
    const float delta = (h & 0x8000u) != 0u ? -kDelta : kDelta;
    float s = 0.0;
    for (uint l = 0u; l < 4u; ++l) {
      const uint x0 = xi + 32u * g + 8u * l;
      s += grid_dot(byte_at(off + 2u + 4u * g + l) | (((h >> (3u * l)) & 7u) << 8), 0u, x0) + delta * entry_sum(x0);
    }
    total += d * float(2u * ((h >> 12) & 7u) + 1u) * s;
  }
  return total;
}
#else
// 32 low bytes of 11-bit entries; per 8 values 4 bits (3 top entry bits, the shift's sign); four
// 16-bit words of 3-bit scales (one per 16 values) whose top 4 bits together hold d (half).
float block_dot(uint off, uint xi) {
  uint sc[4];
  for (uint k = 0u; k < 4u; ++k) sc[k] = u16_at(off + 48u + 2u * k);
  const float d = half_bits((sc[0] >> 12) | ((sc[1] >> 8) & 0xF0u) | ((sc[2] >> 4) & 0xF00u) | (sc[3] & 0xF000u));
  float total = 0.0;
  for (uint g = 0u; g < 8u; ++g) {
    const uint shift = 6u * (g % 2u);
    float s[2] = float[2](0.0, 0.0);
    for (uint l = 0u; l < 4u; ++l) {
      const uint h = byte_at(off + 32u + 2u * g + l / 2u) >> (4u * (l % 2u));
      const uint x0 = xi + 32u * g + 8u * l;
      s[l / 2u] += grid_dot(byte_at(off + 4u * g + l) | ((h & 7u) << 8), 0u, x0) +
                   ((h & 8u) != 0u ? -kDelta : kDelta) * entry_sum(x0);
    }
    total += d * (float(2u * ((sc[g / 2u] >> shift) & 7u) + 1u) * s[0] +
                  float(2u * ((sc[g / 2u] >> (shift + 3u)) & 7u) + 1u) * s[1]);
  }
  return total;
}
#endif
#endif

#else
#error "define one TYPE_*"
#endif

