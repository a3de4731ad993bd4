// Byte-level reads from a buffer of 32-bit words. GGUF blocks have odd sizes (Q8_0: 34 bytes,
// Q6_K: 210), so a block can start at any byte; plain word loads need no 8- or 16-bit storage
// feature, which not every driver has.

uint byte_at(uint off) { return (w[off >> 2] >> ((off & 3u) * 8u)) & 0xFFu; }

int sbyte_at(uint off) { return int(byte_at(off) << 24) >> 24; }

uint u16_at(uint off) { return byte_at(off) | (byte_at(off + 1u) << 8); }

// IEEE half to float in integer steps: exact for every half, subnormals included (unpackHalf2x16
// may flush them).
float half_bits(uint h) {
  const uint sign = (h & 0x8000u) << 16;
  const uint e = (h >> 10) & 0x1Fu;
  const uint m = h & 0x3FFu;
  if (e == 0u) {
    const float v = float(m) * (1.0 / 16777216.0);  // m * 2^-24, exact
    return sign != 0u ? -v : v;
  }
  if (e == 31u) return uintBitsToFloat(sign | 0x7F800000u | (m << 13));
  return uintBitsToFloat(sign | ((e + 112u) << 23) | (m << 13));
}

float half_at(uint off) { return half_bits(u16_at(off)); }
