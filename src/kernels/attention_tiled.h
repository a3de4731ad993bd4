// Internal: causal attention by key tiles (Kernels::attention), written once and compiled in each
// instruction set's file, so that its fixed-width loops vectorise with that file's flags and its
// exponentials use that file's exp. Every table is tested against softmax(q.K) V in double
// precision (tests/kernels/ops_test.cpp).
//
// Why tiles: a prompt of T tokens has T^2/2 query-key pairs per head. Taken one query at a time
// (a row of n_kv scores, a softmax, then a pass over V), every query streams the whole K and V of
// its sequence from memory. Here a tile of kAttentionTile keys is transposed once and used by all
// rows x heads queries of the block while it sits in L1, and the softmax is kept running (the
// maximum and sum so far, earlier partial outputs rescaled when the maximum grows), so no row of
// n_kv scores is ever built and the scratch does not grow with the context.
#pragma once

#include "kernels/kernels.h"

namespace onprem::kernels {

// ExpRow(x, n): x[i] = e^x[i] for n values, all <= 0. Plain loops only, no std:: algorithms: an
// inline library function instantiated here with this file's flags could be the copy the linker
// keeps for the whole program (tests/isa/check_isa_objects.py).
template <void (*ExpRow)(float* x, int64_t n)>
void attention_tiled(const AttentionBlock& b, float* scratch) {
  constexpr int64_t B = kAttentionTile;
  const int64_t D = b.d, nq = b.rows * b.heads;
  float* kt = scratch;          // [D][B]: the key tile, transposed (zeros past its end)
  float* acc = kt + D * B;      // [nq][D]: unnormalised outputs
  float* mx = acc + nq * D;     // [nq]: the largest score so far
  float* sum = mx + nq;         // [nq]: the sum of e^(score - mx) so far
  for (int64_t i = 0; i < nq * D; ++i) acc[i] = 0.0f;
  for (int64_t i = 0; i < nq; ++i) mx[i] = -__builtin_inff(), sum[i] = 0.0f;
  const int64_t n_last = b.n_kv0 + b.rows - 1;  // keys the last row sees
  for (int64_t j0 = 0; j0 < n_last; j0 += B) {
    const int64_t nb = n_last - j0 < B ? n_last - j0 : B;
    for (int64_t j = 0; j < B; ++j) {
      const float* kr = b.k + (j0 + j) * b.kv_stride;
      for (int64_t d = 0; d < D; ++d) kt[d * B + j] = j < nb ? kr[d] : 0.0f;
    }
    for (int64_t r = 0; r < b.rows; ++r) {
      const int64_t reach = b.n_kv0 + r - j0, see = reach < nb ? reach : nb;  // keys of this tile row r sees
      if (see <= 0) continue;
      for (int64_t h = 0; h < b.heads; ++h) {
        const int64_t i = r * b.heads + h;
        const float* q = b.q + r * b.q_row + h * b.q_head;
        float s[B] = {};  // scores, then their exponentials
        for (int64_t d = 0; d < D; ++d) {
          const float qd = q[d] * b.scale;
          const float* kd = kt + d * B;
          for (int64_t j = 0; j < B; ++j) s[j] += qd * kd[j];
        }
        float m = mx[i];
        for (int64_t j = 0; j < see; ++j) m = s[j] > m ? s[j] : m;
        for (int64_t j = 0; j < see; ++j) s[j] -= m;
        ExpRow(s, see);
        float tile_sum = 0;
        for (int64_t j = 0; j < see; ++j) tile_sum += s[j];
        float* a = acc + i * D;
        if (m > mx[i]) {  // a larger maximum: earlier terms shrink by e^(old - new)
          float shrink = mx[i] - m;  // e^-inf = 0 for the first tile
          ExpRow(&shrink, 1);
          for (int64_t d = 0; d < D; ++d) a[d] *= shrink;
          sum[i] *= shrink;
          mx[i] = m;
        }
        sum[i] += tile_sum;
        for (int64_t j = 0; j < see; ++j) {
          const float w = s[j];
          const float* vr = b.v + (j0 + j) * b.kv_stride;
          for (int64_t d = 0; d < D; ++d) a[d] += w * vr[d];
        }
      }
    }
  }
  for (int64_t r = 0; r < b.rows; ++r)
    for (int64_t h = 0; h < b.heads; ++h) {
      const int64_t i = r * b.heads + h;
      const float inv = 1.0f / sum[i];
      float* o = b.o + r * b.o_row + h * b.o_head;
      for (int64_t d = 0; d < D; ++d) o[d] = acc[i * D + d] * inv;
    }
}

}  // namespace onprem::kernels
