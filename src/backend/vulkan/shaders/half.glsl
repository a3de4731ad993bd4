// IEEE half precision in integer steps, both ways, so that every driver gives the bits of the
// CPU's conversions (core/half.h): unpackHalf2x16 may flush subnormals, and packHalf2x16 rounds
// as the implementation likes.

// Half to float: exact for every half, subnormals included.
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

// Float to half, rounded to nearest even (overflow to infinity, NaN kept quiet), as core/half.h.
uint half_from_float(float f) {
  const uint x = floatBitsToUint(f);
  const uint sign = (x >> 16) & 0x8000u;
  const uint e = (x >> 23) & 0xFFu;
  uint m = x & 0x7FFFFFu;
  if (e == 255u) return sign | 0x7C00u | (m != 0u ? 0x200u : 0u);
  const int he = int(e) - 127 + 15;
  if (he >= 31) return sign | 0x7C00u;
  if (he <= 0) {  // a subnormal half, or zero
    if (he < -10) return sign;
    m |= 0x800000u;
    const uint shift = uint(14 - he);
    uint h = m >> shift;
    const uint rest = m & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
    if (rest > halfway || (rest == halfway && (h & 1u) != 0u)) ++h;
    return sign | h;
  }
  uint h = (uint(he) << 10) | (m >> 13);
  const uint rest = m & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) != 0u)) ++h;  // may carry into the exponent: still right
  return sign | h;
}
