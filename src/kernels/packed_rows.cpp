#include "kernels/packed_rows.h"

#include <cstring>
#include <type_traits>

#include "quant/blocks.h"

namespace onprem::kernels {

namespace {

// fill(g, r, b) for every block (super-block): g its group's bytes, r < R a row, b that row's block.
template <int R, class Block, int64_t kValues = 256, class Fill>
void each_block(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out, Fill fill) {
  for (int64_t i = 0; i < n / kValues; ++i)
    for (int r = 0; r < R; ++r)
      fill(out + i * R * int64_t(sizeof(Block)), r, reinterpret_cast<const Block*>(w + r * row_bytes)[i]);
}

template <int R, bool kFive>
void pack_qk45(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out) {
  using G = Q4kGroup<R, kFive>;
  using Block = std::conditional_t<kFive, quant::BlockQ5_K, quant::BlockQ4_K>;
  each_block<R, Block>(w, row_bytes, n, out, [](uint8_t* g, int r, const Block& b) {
    std::memcpy(g + G::kD + 2 * r, &b.d, 2);
    std::memcpy(g + G::kDmin + 2 * r, &b.dmin, 2);
    const quant::ScalesMinsK4 sm = quant::unpack_scales_mins_k4(b.scales);
    uint8_t sc[8], m[8];
    for (int s = 0; s < 8; ++s) sc[s] = uint8_t(sm.scales >> (8 * s)), m[s] = uint8_t(sm.mins >> (8 * s));
    for (int s = 0; s < 8; ++s) g[G::kLow + R * s + r] = uint8_t((sc[s] & 15) | (m[s] & 15) << 4);
    for (int k = 0; k < 4; ++k)
      g[G::kHigh + R * k + r] =
          uint8_t(sc[2 * k] >> 4 | (m[2 * k] >> 4) << 2 | (sc[2 * k + 1] >> 4) << 4 | (m[2 * k + 1] >> 4) << 6);
    if constexpr (kFive)
      for (int q = 0; q < 8; ++q) std::memcpy(g + G::kQh + 4 * R * q + 4 * r, b.qh + 4 * q, 4);
    for (int cq = 0; cq < 32; ++cq) std::memcpy(g + G::kCodes + 4 * R * cq + 4 * r, b.qs + 4 * cq, 4);
  });
}

template <int R>
void pack_q6k(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out) {
  using G = Q6kGroup<R>;
  each_block<R, quant::BlockQ6_K>(w, row_bytes, n, out, [](uint8_t* g, int r, const quant::BlockQ6_K& b) {
    std::memcpy(g + G::kD + 2 * r, &b.d, 2);
    for (int k = 0; k < 8; ++k) std::memcpy(g + G::kScales + 2 * R * k + 2 * r, b.scales + 2 * k, 2);
    for (int v = 0; v < 32; ++v) std::memcpy(g + G::kLow + 4 * R * v + 4 * r, b.ql + 4 * v, 4);
    for (int v = 0; v < 16; ++v) std::memcpy(g + G::kHigh + 4 * R * v + 4 * r, b.qh + 4 * v, 4);
  });
}

template <int R>
void pack_q8_0(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out) {
  using G = Q8Group<R>;
  each_block<R, quant::BlockQ8_0, 32>(w, row_bytes, n, out, [](uint8_t* g, int r, const quant::BlockQ8_0& b) {
    std::memcpy(g + G::kD + 2 * r, &b.d, 2);
    for (int v = 0; v < 32; ++v) g[G::kCodes + 4 * R * (v / 4) + 4 * r + v % 4] = uint8_t(b.qs[v] ^ 0x80);
  });
}

template <int R>
void pack_iq4xs(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out) {
  using G = Iq4xsGroup<R>;
  each_block<R, quant::BlockIQ4_XS>(w, row_bytes, n, out, [](uint8_t* g, int r, const quant::BlockIQ4_XS& b) {
    std::memcpy(g + G::kD + 2 * r, &b.d, 2);
    for (int k = 0; k < 4; ++k) g[G::kLow + R * k + r] = b.scales_l[k];
    std::memcpy(g + G::kHigh + 2 * r, &b.scales_h, 2);
    for (int v = 0; v < 32; ++v) std::memcpy(g + G::kCodes + 4 * R * v + 4 * r, b.qs + 4 * v, 4);
  });
}

}  // namespace

void pack_iq4xs_x8(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out) {
  pack_iq4xs<8>(w, row_bytes, n, out);
}
void pack_iq4xs_x16(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out) {
  pack_iq4xs<16>(w, row_bytes, n, out);
}

void pack_q8_0_x16(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out) {
  pack_q8_0<16>(w, row_bytes, n, out);
}

void pack_q6k_x8(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out) { pack_q6k<8>(w, row_bytes, n, out); }
void pack_q6k_x16(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out) { pack_q6k<16>(w, row_bytes, n, out); }

void pack_q4k_x8(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out) {
  pack_qk45<8, false>(w, row_bytes, n, out);
}
void pack_q4k_x16(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out) {
  pack_qk45<16, false>(w, row_bytes, n, out);
}
void pack_q5k_x8(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out) {
  pack_qk45<8, true>(w, row_bytes, n, out);
}
void pack_q5k_x16(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out) {
  pack_qk45<16, true>(w, row_bytes, n, out);
}

}  // namespace onprem::kernels
