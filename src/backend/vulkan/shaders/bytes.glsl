// Byte-level reads from a buffer of 32-bit words. GGUF blocks have odd sizes (Q8_0: 34 bytes,
// Q6_K: 210), so a block can start at any byte; plain word loads need no 8- or 16-bit storage
// feature, which not every driver has.

uint byte_at(uint off) { return (w[off >> 2] >> ((off & 3u) * 8u)) & 0xFFu; }

int sbyte_at(uint off) { return int(byte_at(off) << 24) >> 24; }

uint u16_at(uint off) { return byte_at(off) | (byte_at(off + 1u) << 8); }

uint u32_at(uint off) { return u16_at(off) | (u16_at(off + 2u) << 16); }

#include "half.glsl"

float half_at(uint off) { return half_bits(u16_at(off)); }
