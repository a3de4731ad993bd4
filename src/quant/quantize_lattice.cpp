// Quantisers of the lattice formats IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S and IQ1_M
// (layouts in blocks.h, lattices in iq_grids.h; the decoders in dequant_iq.cpp are the ground
// truth these are tested against).
//
// Each group of 8 (IQ2, IQ1) or 4 (IQ3) values becomes one lattice entry times its sub-block's
// scale, with signs stored apart (IQ2, IQ3) or a ±1/8 shift (IQ1). Per sub-block, a fan of scales is
// tried; under each, every group takes its best entry: the per-value nearest levels if they form an
// entry, else the best (by weighted error) of the 16 entries nearest them, precomputed per point of
// the level lattice. The least-squares scale of the chosen entries is kept when it lowers the
// weighted error. The sub-block scales are then rounded onto the block's integers and every group
// searched again under its final scale.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/half.h"
#include "quant/blocks.h"
#include "quant/iq_grids.h"
#include "quant/quantize.h"
#include "quant/rounding.h"

namespace onprem::quant {

using core::f32_to_fp16;
using core::fp16_to_f32;

namespace {

// A lattice: kN values per entry, each one of n_levels ascending levels.
template <size_t kN>
struct Lattice {
  const std::array<int8_t, kN>* grid = nullptr;
  int size = 0;
  std::vector<float> levels;
  int bits = 0;                             // per value in a code
  std::vector<int> entry_of;                // code (level indices, `bits` each) -> entry, or -1
  std::vector<std::vector<uint16_t>> near;  // code -> up to 16 nearest entries, nearest first

  template <size_t N, size_t L>
  Lattice(const std::array<std::array<int8_t, kN>, N>& g, const int8_t (&lv)[L], int code_bits)
      : grid(g.data()), size(int(N)), levels(lv, lv + L), bits(code_bits) {
    const size_t codes = size_t(1) << (bits * kN);
    entry_of.assign(codes, -1);
    near.resize(codes);
    auto level_index = [&](int8_t v) {
      return int(std::find(levels.begin(), levels.end(), float(v)) - levels.begin());
    };
    for (int e = 0; e < size; ++e) {
      size_t code = 0;
      for (size_t j = 0; j < kN; ++j) code |= size_t(level_index(grid[e][j])) << (bits * j);
      entry_of[code] = e;
    }
    // Every point of the level lattice (each value one of the levels) gets its nearest entries.
    std::vector<std::pair<float, uint16_t>> by_distance(static_cast<size_t>(size));
    size_t n_points = 1;
    for (size_t j = 0; j < kN; ++j) n_points *= levels.size();
    for (size_t p = 0; p < n_points; ++p) {
      size_t code = 0, rest = p;
      float point[kN];
      for (size_t j = 0; j < kN; ++j) {
        const size_t li = rest % levels.size();
        rest /= levels.size();
        code |= li << (bits * j);
        point[j] = levels[li];
      }
      if (entry_of[code] >= 0) continue;
      for (int e = 0; e < size; ++e) {
        float d = 0;
        for (size_t j = 0; j < kN; ++j) d += (point[j] - float(grid[e][j])) * (point[j] - float(grid[e][j]));
        by_distance[size_t(e)] = {d, uint16_t(e)};
      }
      const size_t keep = std::min<size_t>(16, by_distance.size());
      std::partial_sort(by_distance.begin(), by_distance.begin() + std::ptrdiff_t(keep), by_distance.end());
      for (size_t k = 0; k < keep; ++k) near[code].push_back(by_distance[k].second);
    }
  }

  // The best entry for targets t (already divided by the scale) under weights w.
  int best(const float* t, const float* w) const {
    size_t code = 0;
    for (size_t j = 0; j < kN; ++j) {
      size_t li = 0;
      float bd = INFINITY;
      for (size_t k = 0; k < levels.size(); ++k)
        if (std::fabs(t[j] - levels[k]) < bd) bd = std::fabs(t[j] - levels[k]), li = k;
      code |= li << (bits * j);
    }
    if (entry_of[code] >= 0) return entry_of[code];
    int best_e = near[code].front();
    float best_err = INFINITY;
    for (const uint16_t e : near[code]) {
      float err = 0;
      for (size_t j = 0; j < kN; ++j) err += w[j] * (t[j] - float(grid[e][j])) * (t[j] - float(grid[e][j]));
      if (err < best_err) best_err = err, best_e = e;
    }
    return best_e;
  }
};

const Lattice<8>& iq2xxs() {
  static const Lattice<8> l(kIq2xxsGrid, iq_detail::kIq2Levels, 2);
  return l;
}
const Lattice<8>& iq2xs() {
  static const Lattice<8> l(kIq2xsGrid, iq_detail::kIq2Levels, 2);
  return l;
}
const Lattice<8>& iq2s() {
  static const Lattice<8> l(kIq2sGrid, iq_detail::kIq2Levels, 2);
  return l;
}
const Lattice<4>& iq3xxs() {
  static const Lattice<4> l(kIq3xxsGrid, iq_detail::kIq3xxsLevels, 3);
  return l;
}
const Lattice<4>& iq3s() {
  static const Lattice<4> l(kIq3sGrid, iq_detail::kIq3sLevels, 3);
  return l;
}
const Lattice<8>& iq1s() {
  static const Lattice<8> l(kIq1sGrid, iq_detail::kIq1Levels, 2);
  return l;
}

// Importances of one super-block: w, or 1s; a sub-block whose weights are all zero counts as 1s.
void block_weights(const float* w, float* out, int n, int sub) {
  for (int i = 0; i < n; ++i) out[i] = w ? w[i] : 1.0f;
  for (int s = 0; s < n; s += sub) {
    bool any = false;
    for (int i = s; i < s + sub; ++i) any |= out[i] > 0;
    if (!any) std::fill(out + s, out + s + sub, 1.0f);
  }
}

// Signed formats (IQ2, IQ3). Signs per 8 values are the values' own; with `parity`, the format
// stores 7 and implies the 8th, so an odd count of minus signs flips the value that costs least,
// which then aims at the smallest magnitude (its target turns negative).
struct SignedGroups {
  float a[256];      // target magnitudes, |x| (or −|x| where the sign was flipped)
  uint8_t sign[32];  // 8 sign bits per 8 values, bit j set: value j negative
  void init(const float* x, const float* w, bool parity) {
    for (int g = 0; g < 32; ++g) {
      uint8_t s = 0;
      int least = 0;
      for (int j = 0; j < 8; ++j) {
        const int i = 8 * g + j;
        a[i] = std::fabs(x[i]);
        if (x[i] < 0) s |= uint8_t(1 << j);
        if (w[i] * x[i] * x[i] < w[8 * g + least] * x[8 * g + least] * x[8 * g + least]) least = j;
      }
      if (parity && __builtin_popcount(s) % 2) {
        s ^= uint8_t(1 << least);
        a[8 * g + least] = -a[8 * g + least];
      }
      sign[g] = s;
    }
  }
};

// Entries for the values [first, first + n) of a signed block under scale s; returns the weighted
// error. idx gets one entry per kN values.
template <size_t kN>
float search_signed(const Lattice<kN>& L, const float* a, const float* w, int n, float s, int* idx) {
  float err = 0;
  for (int g = 0; g < n / int(kN); ++g) {
    float t[kN];
    for (size_t j = 0; j < kN; ++j) t[j] = s > 0 ? a[size_t(g) * kN + j] / s : 0;
    idx[g] = L.best(t, w + size_t(g) * kN);
    for (size_t j = 0; j < kN; ++j) {
      const float e = a[size_t(g) * kN + j] - s * float(L.grid[idx[g]][j]);
      err += w[size_t(g) * kN + j] * e * e;
    }
  }
  return err;
}

// The scale for a sub-block of n signed values: the fan, each refitted by least squares.
template <size_t kN>
float fit_signed_scale(const Lattice<kN>& L, const float* a, const float* w, int n) {
  float amax = 0;
  for (int i = 0; i < n; ++i) amax = std::max(amax, a[i]);
  if (amax <= 0) return 0;
  const float top = L.levels.back();
  int idx[64];
  float best_s = amax / top, best_err = INFINITY;
  for (int step = -9; step <= 9; ++step) {
    const float s0 = amax / top * (1 + 0.05f * float(step));
    search_signed(L, a, w, n, s0, idx);
    float sag = 0, sgg = 0;
    for (int g = 0; g < n / int(kN); ++g)
      for (size_t j = 0; j < kN; ++j) {
        const float gv = float(L.grid[idx[g]][j]);
        sag += w[size_t(g) * kN + j] * a[size_t(g) * kN + j] * gv, sgg += w[size_t(g) * kN + j] * gv * gv;
      }
    for (const float s : {s0, sgg > 0 && sag > 0 ? sag / sgg : s0}) {
      const float err = search_signed(L, a, w, n, s, idx);
      if (err < best_err) best_err = err, best_s = s;
    }
  }
  return best_s;
}

// How a format stores its sub-block scales: as k in [0, kmax] under one fp16 d per block, with
// σ = d · (0.5 + k) · c (IQ2: c = 1/4, IQ3_XXS: 1/2) or σ = d · (2k + 1) (IQ3_S, IQ1).
struct ScaleRule {
  bool odd = false;
  float c = 0;
  int kmax = 15;
  float scale(float d, int k) const { return odd ? d * float(2 * k + 1) : d * (0.5f + float(k)) * c; }
  // d puts the largest σ at kmax; each k rounded. Writes k and returns d as stored.
  uint16_t fit(const float* sigma, int n, uint8_t* k) const {
    const float mx = *std::max_element(sigma, sigma + n);
    const float top = odd ? float(2 * kmax + 1) : (float(kmax) + 0.5f) * c;
    const uint16_t d16 = f32_to_fp16(mx > 0 ? mx / top : 0);
    const float d = fp16_to_f32(d16);
    for (int i = 0; i < n; ++i) {
      const float u = d > 0 ? (odd ? (sigma[i] / d - 1) / 2 : sigma[i] / (d * c) - 0.5f) : 0;
      k[i] = uint8_t(std::clamp(nearest(u), 0, kmax));
    }
    return d16;
  }
};
constexpr ScaleRule kIq2Scales{false, 0.25f, 15}, kIq3xxsScales{false, 0.5f, 15}, kIq3sScales{true, 0, 15},
    kIq1Scales{true, 0, 7};

// One super-block of a signed lattice type, ready to pack: its signs, the stored sub-block scales
// k and block scale d, and the lattice entry of every kN values under its sub-block's final scale.
struct SignedBlock {
  SignedGroups sg;
  uint8_t k[16] = {};
  uint16_t d16 = 0;
  int idx[64] = {};
};

// sub: values per sub-block scale (16 or 32).
template <size_t kN>
void prepare_signed(const Lattice<kN>& L, const float* x, const float* w_in, int sub, bool parity,
                    const ScaleRule& rule, SignedBlock* out) {
  float w[256], sigma[16];
  block_weights(w_in, w, 256, sub);
  out->sg.init(x, w, parity);
  const int n_sub = 256 / sub;
  for (int s = 0; s < n_sub; ++s) sigma[s] = fit_signed_scale(L, out->sg.a + sub * s, w + sub * s, sub);
  out->d16 = rule.fit(sigma, n_sub, out->k);
  const float d = fp16_to_f32(out->d16);
  for (int s = 0; s < n_sub; ++s)
    search_signed(L, out->sg.a + sub * s, w + sub * s, sub, rule.scale(d, out->k[s]), out->idx + s * (sub / int(kN)));
}

}  // namespace

void quantize_row_iq2_xxs(const float* x, void* dst, int64_t n, const float* w) {
  auto* b = static_cast<BlockIQ2_XXS*>(dst);
  SignedBlock p;
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK, w = at(w, kQKK)) {
    prepare_signed(iq2xxs(), x, w, 32, true, kIq2Scales, &p);
    b[i].d = p.d16;
    for (int s = 0; s < 8; ++s) {
      uint32_t words[2] = {0, uint32_t(p.k[s]) << 28};
      for (int l = 0; l < 4; ++l) {
        words[0] |= uint32_t(p.idx[4 * s + l]) << (8 * l);
        words[1] |= uint32_t(p.sg.sign[4 * s + l] & 127) << (7 * l);
      }
      std::memcpy(b[i].qs + 4 * s, words, 8);
    }
  }
}

void quantize_row_iq2_xs(const float* x, void* dst, int64_t n, const float* w) {
  auto* b = static_cast<BlockIQ2_XS*>(dst);
  SignedBlock p;
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK, w = at(w, kQKK)) {
    prepare_signed(iq2xs(), x, w, 16, true, kIq2Scales, &p);
    b[i].d = p.d16;
    for (int q = 0; q < 32; ++q) b[i].qs[q] = uint16_t(p.idx[q] | (p.sg.sign[q] & 127) << 9);
    for (int g = 0; g < 8; ++g) b[i].scales[g] = uint8_t(p.k[2 * g] | p.k[2 * g + 1] << 4);
  }
}

void quantize_row_iq2_s(const float* x, void* dst, int64_t n, const float* w) {
  auto* b = static_cast<BlockIQ2_S*>(dst);
  SignedBlock p;
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK, w = at(w, kQKK)) {
    prepare_signed(iq2s(), x, w, 16, false, kIq2Scales, &p);
    b[i].d = p.d16;
    std::memset(b[i].qh, 0, 8);
    for (int q = 0; q < 32; ++q) {  // the q-th 8 values: group q / 4, entry q % 4
      b[i].qs[q] = uint8_t(p.idx[q] & 255);
      b[i].qs[32 + q] = p.sg.sign[q];
      b[i].qh[q / 4] |= uint8_t((p.idx[q] >> 8) << (2 * (q % 4)));
    }
    for (int g = 0; g < 8; ++g) b[i].scales[g] = uint8_t(p.k[2 * g] | p.k[2 * g + 1] << 4);
  }
}

void quantize_row_iq3_xxs(const float* x, void* dst, int64_t n, const float* w) {
  auto* b = static_cast<BlockIQ3_XXS*>(dst);
  SignedBlock p;
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK, w = at(w, kQKK)) {
    prepare_signed(iq3xxs(), x, w, 32, true, kIq3xxsScales, &p);
    b[i].d = p.d16;
    for (int s = 0; s < 8; ++s) {
      uint32_t word = uint32_t(p.k[s]) << 28;
      for (int l = 0; l < 4; ++l) word |= uint32_t(p.sg.sign[4 * s + l] & 127) << (7 * l);
      std::memcpy(b[i].qs + 64 + 4 * s, &word, 4);
    }
    for (int e = 0; e < 64; ++e) b[i].qs[e] = uint8_t(p.idx[e]);
  }
}

void quantize_row_iq3_s(const float* x, void* dst, int64_t n, const float* w) {
  auto* b = static_cast<BlockIQ3_S*>(dst);
  SignedBlock p;
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK, w = at(w, kQKK)) {
    prepare_signed(iq3s(), x, w, 32, false, kIq3sScales, &p);
    b[i].d = p.d16;
    std::memset(b[i].scales, 0, 4);
    std::memset(b[i].qh, 0, 8);
    for (int e = 0; e < 64; ++e) {
      b[i].qs[e] = uint8_t(p.idx[e] & 255);
      b[i].qh[e / 8] |= uint8_t((p.idx[e] >> 8) << (e % 8));
    }
    for (int q = 0; q < 32; ++q) b[i].signs[q] = p.sg.sign[q];
    for (int s = 0; s < 8; ++s) b[i].scales[s / 2] |= uint8_t(p.k[s] << (4 * (s % 2)));
  }
}

// IQ1: x ≈ σ · (entry + δ), δ = ±1/8, entries in {−1, 0, 1}^8 and no signs.
namespace {

// Entries for n values under scale s and shift delta; returns the weighted error.
float search_shifted(const float* x, const float* w, int n, float s, float delta, int* idx) {
  const auto& L = iq1s();
  float err = 0;
  for (int g = 0; g < n / 8; ++g) {
    float t[8];
    for (int j = 0; j < 8; ++j) t[j] = s > 0 ? x[8 * g + j] / s - delta : 0;
    idx[g] = L.best(t, w + 8 * g);
    for (int j = 0; j < 8; ++j) {
      const float e = x[8 * g + j] - s * (float(L.grid[idx[g]][size_t(j)]) + delta);
      err += w[8 * g + j] * e * e;
    }
  }
  return err;
}

// The scale of n values (groups of 8) and the shift of each group of `shift_span` values.
float fit_shifted_scale(const float* x, const float* w, int n, int shift_span, bool* negative) {
  float amax = 0;
  for (int i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
  if (amax <= 0) {
    std::fill(negative, negative + n / shift_span, false);
    return 0;
  }
  float best_s = amax, best_err = INFINITY;
  bool trial[8];
  int idx[8];
  for (int step = -9; step <= 9; ++step) {
    const float s0 = amax / (1 + kIq1Delta) * (1 + 0.05f * float(step));
    // Each span's shift: the sign that loses less under this scale.
    for (int p = 0; p < n / shift_span; ++p) {
      const float e_pos = search_shifted(x + p * shift_span, w + p * shift_span, shift_span, s0, kIq1Delta, idx);
      const float e_neg = search_shifted(x + p * shift_span, w + p * shift_span, shift_span, s0, -kIq1Delta, idx);
      trial[p] = e_neg < e_pos;
    }
    float sxg = 0, sgg = 0, err0 = 0;
    for (int p = 0; p < n / shift_span; ++p) {
      const float delta = trial[p] ? -kIq1Delta : kIq1Delta;
      err0 += search_shifted(x + p * shift_span, w + p * shift_span, shift_span, s0, delta, idx);
      for (int g = 0; g < shift_span / 8; ++g)
        for (int j = 0; j < 8; ++j) {
          const int v = p * shift_span + 8 * g + j;
          const float gv = float(iq1s().grid[idx[g]][size_t(j)]) + delta;
          sxg += w[v] * x[v] * gv, sgg += w[v] * gv * gv;
        }
    }
    if (err0 < best_err) best_err = err0, best_s = s0, std::copy(trial, trial + n / shift_span, negative);
    if (sgg > 0 && sxg > 0) {
      const float s1 = sxg / sgg;
      float err1 = 0;
      for (int p = 0; p < n / shift_span; ++p)
        err1 += search_shifted(x + p * shift_span, w + p * shift_span, shift_span, s1,
                               trial[p] ? -kIq1Delta : kIq1Delta, idx);
      if (err1 < best_err) best_err = err1, best_s = s1, std::copy(trial, trial + n / shift_span, negative);
    }
  }
  return best_s;
}

}  // namespace

void quantize_row_iq1_s(const float* x, void* dst, int64_t n, const float* w_in) {
  auto* b = static_cast<BlockIQ1_S*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK, w_in = at(w_in, kQKK)) {
    float w[256], sigma[8];
    block_weights(w_in, w, 256, 32);
    bool negative[8];
    for (int s = 0; s < 8; ++s) sigma[s] = fit_shifted_scale(x + 32 * s, w + 32 * s, 32, 32, &negative[s]);
    uint8_t k[8];
    b[i].d = kIq1Scales.fit(sigma, 8, k);
    const float d = fp16_to_f32(b[i].d);
    for (int s = 0; s < 8; ++s) {
      const float sc = kIq1Scales.scale(d, k[s]);
      int idx[4];
      // The shift again under the final scale.
      const float e_pos = search_shifted(x + 32 * s, w + 32 * s, 32, sc, kIq1Delta, idx);
      const float e_neg = search_shifted(x + 32 * s, w + 32 * s, 32, sc, -kIq1Delta, idx);
      const bool neg = e_neg < e_pos;
      search_shifted(x + 32 * s, w + 32 * s, 32, sc, neg ? -kIq1Delta : kIq1Delta, idx);
      uint16_t h = uint16_t(k[s] << 12 | (neg ? 0x8000 : 0));
      for (int l = 0; l < 4; ++l) {
        b[i].qs[4 * s + l] = uint8_t(idx[l] & 255);
        h |= uint16_t(((idx[l] >> 8) & 7) << (3 * l));
      }
      b[i].qh[s] = h;
    }
  }
}

void quantize_row_iq1_m(const float* x, void* dst, int64_t n, const float* w_in) {
  auto* b = static_cast<BlockIQ1_M*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK, w_in = at(w_in, kQKK)) {
    float w[256], sigma[16];
    block_weights(w_in, w, 256, 16);
    bool negative[32];
    for (int s = 0; s < 16; ++s) sigma[s] = fit_shifted_scale(x + 16 * s, w + 16 * s, 16, 8, &negative[2 * s]);
    uint8_t k[16];
    const uint16_t d16 = kIq1Scales.fit(sigma, 16, k);
    const float d = fp16_to_f32(d16);
    uint16_t sc[4] = {0, 0, 0, 0};
    std::memset(b[i].qh, 0, 16);
    for (int s = 0; s < 16; ++s) {
      const float scale = kIq1Scales.scale(d, k[s]);
      sc[s / 4] |= uint16_t(k[s] << (3 * (s % 4)));
      for (int h = 0; h < 2; ++h) {  // two groups of 8, each with its own shift
        const int q = 2 * s + h;
        int idx;
        const float e_pos = search_shifted(x + 8 * q, w + 8 * q, 8, scale, kIq1Delta, &idx);
        const float e_neg = search_shifted(x + 8 * q, w + 8 * q, 8, scale, -kIq1Delta, &idx);
        const bool neg = e_neg < e_pos;
        search_shifted(x + 8 * q, w + 8 * q, 8, scale, neg ? -kIq1Delta : kIq1Delta, &idx);
        b[i].qs[q] = uint8_t(idx & 255);
        b[i].qh[q / 2] |= uint8_t((((idx >> 8) & 7) | (neg ? 8 : 0)) << (4 * (q % 2)));
      }
    }
    // The fp16 block scale in the top 4 bits of each scale word.
    for (int j = 0; j < 4; ++j) sc[j] |= uint16_t(((d16 >> (4 * j)) & 15) << 12);
    std::memcpy(b[i].scales, sc, 8);
  }
}

}  // namespace onprem::quant
