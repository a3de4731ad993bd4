// Weights repacked once, at load, for decode and short batches (TypeKernels::packed_rows). A
// group of R consecutive rows becomes one run of bytes in which each vector load holds codes of
// all R rows: one broadcast activation word then meets every row, and the rows' scales are
// applied per lane, not per row. A group takes exactly the bytes of its R rows, so every view
// into a repacked tensor (an expert, the up half of a fused gate_up) keeps its offset.
//
// The scalar references stay on the file's layout: the kernels on a packed group are tested
// against them and against their own table's single dot, bit for bit (the integers are exact,
// and the float steps per row are the single dot's).
#pragma once

#include <cstdint>

namespace onprem::kernels {

// Q4_K, per super-block of a group of R rows (R · 144 bytes):
//   [kD, +2R)       d of row r at 2r (fp16)
//   [kDmin, +2R)    dmin
//   [kLow, +8R)     byte R·s + r: the low 4 bits of row r's sub-block s scale, and above them the
//                   low 4 bits of its minimum
//   [kHigh, +4R)    byte R·k + r: the high 2 bits of sc_2k, m_2k, sc_2k+1 and m_2k+1, from bit 0 up
//   [kCodes, +128R) for c < 4, q < 8, 4R bytes at kCodes + 4R·(8c + q): byte 4r + j is row r's
//                   qs[32c + 4q + j] (low nibble: value 64c + 4q + j; high: 64c + 32 + 4q + j)
// Q5_K (R · 176 bytes) is Q4_K's group with each row's qh between the scales and the codes:
//   [kQh, +32R)     for q < 8, 4R bytes at kQh + 4R·q: byte 4r + b is row r's qh[4q + b] (bit 2c: the
//                   fifth bit of value 64c + 4q + b; bit 2c + 1: of value 64c + 32 + 4q + b)
template <int R, bool kFive = false>
struct Q4kGroup {
  static constexpr int64_t kBlockBytes = (kFive ? 176 : 144) * R;
  static constexpr int64_t kD = 0, kDmin = 2 * R, kLow = 4 * R, kHigh = 12 * R, kQh = 16 * R;
  static constexpr int64_t kCodes = (kFive ? 48 : 16) * R;
};

// Q6_K, per super-block of a group of R rows (R · 210 bytes):
//   [kD, +2R)        d of row r at 2r (fp16)
//   [kScales, +16R)  bytes 2R·k + 2r and 2R·k + 2r + 1: row r's scales 2k and 2k + 1 (int8), so
//                    that one widening gives a 16-bit pair per row
//   [kLow, +128R)    for h < 2, j < 2, q < 8, 4R bytes at kLow + 4R·(16h + 8j + q): byte 4r + b is
//                    row r's ql[64h + 32j + 4q + b] (low nibble: value 128h + 32j + 4q + b; high
//                    nibble: that value + 64)
//   [kHigh, +64R)    for h < 2, q < 8, 4R bytes at kHigh + 4R·(8h + q): byte 4r + b is row r's
//                    qh[32h + 4q + b] (bits 2f, 2f + 1: the high bits of value 128h + 32f + 4q + b)
template <int R>
struct Q6kGroup {
  static constexpr int64_t kBlockBytes = 210 * R;
  static constexpr int64_t kD = 0, kScales = 2 * R, kLow = 18 * R, kHigh = 146 * R;
};

// Q8_0, per 32-value block of a group of R rows (R · 34 bytes):
//   [kD, +2R)        d of row r at 2r (fp16)
//   [kCodes, +32R)   for q < 8, 4R bytes at kCodes + 4R·q: byte 4r + b is row r's code 4q + b plus
//                    128 (as unsigned, for vpdpbusd; the kernel takes 128 · Σ x back off)
template <int R>
struct Q8Group {
  static constexpr int64_t kBlockBytes = 34 * R;
  static constexpr int64_t kD = 0, kCodes = 2 * R;
};

// IQ4_XS, per super-block of a group of R rows (R · 136 bytes):
//   [kD, +2R)        d of row r at 2r (fp16)
//   [kLow, +4R)      byte R·k + r: row r's scales_l[k] (low 4 bits of the scales of sub-blocks 2k and
//                    2k + 1)
//   [kHigh, +2R)     row r's scales_h at 2r (2 bits per sub-block)
//   [kCodes, +128R)  for s < 8, q < 4, 4R bytes at kCodes + 4R·(4s + q): byte 4r + b is row r's
//                    qs[16s + 4q + b] (low nibble: value 32s + 4q + b; high: value 32s + 16 + 4q + b)
template <int R>
struct Iq4xsGroup {
  static constexpr int64_t kBlockBytes = 136 * R;
  static constexpr int64_t kD = 0, kLow = 2 * R, kHigh = 6 * R, kCodes = 8 * R;
};

// R rows (row_bytes apart, n values each) into one group at out (R · row_bytes bytes).
void pack_q4k_x8(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out);
void pack_q4k_x16(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out);
void pack_q5k_x8(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out);
void pack_q5k_x16(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out);
void pack_iq4xs_x8(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out);
void pack_iq4xs_x16(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out);
void pack_q8_0_x16(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out);
void pack_q6k_x8(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out);
void pack_q6k_x16(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out);

}  // namespace onprem::kernels
