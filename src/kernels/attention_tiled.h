// Internal: causal attention by key tiles (Kernels::attention), written once over a small vector
// policy and compiled in each instruction set's file with that file's flags. Every table is tested
// against softmax(q.K) V in double precision (tests/kernels/ops_test.cpp).
//
// Why tiles: a prompt of T tokens has T^2/2 query-key pairs per head. Taken one query at a time
// (a row of n_kv scores, a softmax, a pass over V), every query streams its sequence's whole K
// and V again, and each score ends in a horizontal sum. Here a tile of kAttentionTile keys is
// transposed once and used by all rows x heads queries of the block while it sits in L1, Q
// queries at a time (2 or 4) with their scores in registers (no horizontal sums), and the
// softmax is kept running (the largest score and the sum so far; earlier partial outputs shrink
// when the maximum grows), so no row of n_kv scores is built and the scratch does not grow with
// the context.
// Blocks of few queries (decode) skip the transpose, which they could not repay.
//
// A policy P gives: V (a vector of W floats), Q (queries per pass), load / store (unaligned),
// bcast, zero, fma(a, b, c) = a * b + c, max, hsum, hmax, and exp_row(x, n): x[i] = e^x[i] for n
// values, all <= 0.
// Everything here has internal linkage (an anonymous namespace, and no std:: algorithms): an
// inline function instantiated with AVX-512 flags must never be the copy the linker keeps for
// the whole program (tests/isa/check_isa_objects.py).
#pragma once

#include "kernels/kernels.h"

namespace onprem::kernels {
namespace {

template <class P>
struct AttentionTiled {
  using V = typename P::V;
  static constexpr int64_t W = P::W, B = kAttentionTile;
  static constexpr int64_t KV = 4;          // vectors held per query in the score and output passes
  static constexpr int64_t Q = P::Q;        // queries per pass: Q x KV accumulators fit the registers
  static constexpr int64_t kTranspose = 8;  // queries from which transposing the tile pays

  const AttentionBlock& b;
  float* kt;   // [D][B]: the key tile, transposed
  float* acc;  // [nq][D]: unnormalised outputs
  float* mx;   // [nq]: the largest score so far
  float* sum;  // [nq]: the sum of e^(score - mx) so far
  float* p;    // [nq][B]: this tile's scores, then their weights (0 past what a query sees)

  const float* q_of(int64_t i) const { return b.q + (i / b.heads) * b.q_row + (i % b.heads) * b.q_head; }
  int64_t sees(int64_t i, int64_t j0, int64_t nb) const {  // keys of the tile query i sees
    const int64_t reach = b.n_kv0 + i / b.heads - j0;
    return reach < 0 ? 0 : reach < nb ? reach : nb;
  }

  // Scores of queries i .. i + NQ - 1 against the transposed tile, KV vectors of keys a pass.
  template <int64_t NQ>
  void scores_transposed(int64_t i, int64_t nb) {
    const float* q[NQ];
    for (int64_t u = 0; u < NQ; ++u) q[u] = q_of(i + u);
    for (int64_t j1 = 0; j1 < nb; j1 += KV * W) {
      V a[NQ][KV];
      for (int64_t u = 0; u < NQ; ++u)
        for (int64_t v = 0; v < KV; ++v) a[u][v] = P::zero();
      for (int64_t d = 0; d < b.d; ++d) {
        V s[NQ];
        for (int64_t u = 0; u < NQ; ++u) s[u] = P::bcast(q[u][d] * b.scale);
        const float* kd = kt + d * B + j1;
        for (int64_t v = 0; v < KV; ++v) {
          const V kv = P::load(kd + v * W);
          for (int64_t u = 0; u < NQ; ++u) a[u][v] = P::fma(s[u], kv, a[u][v]);
        }
      }
      for (int64_t u = 0; u < NQ; ++u)
        for (int64_t v = 0; v < KV; ++v) P::store(p + (i + u) * B + j1 + v * W, a[u][v]);
    }
  }

  // Scores of query i by dot products, four keys at a time (few queries: no transpose).
  void scores_direct(int64_t i, int64_t j0, int64_t see) {
    const float* q = q_of(i);
    const int64_t s = b.kv_stride;
    int64_t j = 0;
    for (; j + 4 <= see; j += 4) {
      const float* k = b.k + (j0 + j) * s;
      V a0 = P::zero(), a1 = P::zero(), a2 = P::zero(), a3 = P::zero();
      for (int64_t d = 0; d < b.d; d += W) {
        const V qv = P::load(q + d);
        a0 = P::fma(qv, P::load(k + d), a0), a1 = P::fma(qv, P::load(k + s + d), a1);
        a2 = P::fma(qv, P::load(k + 2 * s + d), a2), a3 = P::fma(qv, P::load(k + 3 * s + d), a3);
      }
      float* out = p + i * B + j;
      out[0] = P::hsum(a0) * b.scale, out[1] = P::hsum(a1) * b.scale;
      out[2] = P::hsum(a2) * b.scale, out[3] = P::hsum(a3) * b.scale;
    }
    for (; j < see; ++j) {
      const float* k = b.k + (j0 + j) * s;
      V a = P::zero();
      for (int64_t d = 0; d < b.d; d += W) a = P::fma(P::load(q + d), P::load(k + d), a);
      p[i * B + j] = P::hsum(a) * b.scale;
    }
  }

  // The running softmax of query i over this tile: p becomes e^(score - new max), zero past see.
  void update(int64_t i, int64_t see, int64_t nb) {
    float* pi = p + i * B;
    const int64_t whole = see / W * W;
    if (see > 0) {
      float m = mx[i];
      if (whole > 0) {  // a vector maximum: a scalar one is a chain of dependent compares
        V mv = P::load(pi);
        for (int64_t j = W; j < whole; j += W) mv = P::max(mv, P::load(pi + j));
        const float hm = P::hmax(mv);
        m = hm > m ? hm : m;
      }
      for (int64_t j = whole; j < see; ++j) m = pi[j] > m ? pi[j] : m;
      for (int64_t j = 0; j < see; ++j) pi[j] -= m;
      P::exp_row(pi, see);
      V sv = P::zero();
      const V one = P::bcast(1.0f);  // the policy's one arithmetic op is fma: sum as 1 * x + s
      for (int64_t j = 0; j < whole; j += W) sv = P::fma(one, P::load(pi + j), sv);
      float tile_sum = P::hsum(sv);
      for (int64_t j = whole; j < see; ++j) tile_sum += pi[j];
      if (m > mx[i]) {  // a larger maximum: earlier terms shrink by e^(old - new), 0 at the start
        float shrink = mx[i] - m;
        P::exp_row(&shrink, 1);
        float* a = acc + i * b.d;
        for (int64_t d = 0; d < b.d; ++d) a[d] *= shrink;
        sum[i] *= shrink;
        mx[i] = m;
      }
      sum[i] += tile_sum;
    }
    for (int64_t j = see; j < nb; ++j) pi[j] = 0.0f;
  }

  // acc[i .. i + NQ - 1] += their weights times the tile's values, NV vectors of d at a time.
  template <int64_t NQ, int64_t NV>
  void accumulate(int64_t i, int64_t j0, int64_t n, int64_t c) {
    V a[NQ][NV];
    for (int64_t u = 0; u < NQ; ++u)
      for (int64_t v = 0; v < NV; ++v) a[u][v] = P::load(acc + (i + u) * b.d + c + v * W);
    for (int64_t j = 0; j < n; ++j) {
      const float* vr = b.v + (j0 + j) * b.kv_stride + c;
      V w[NQ];
      for (int64_t u = 0; u < NQ; ++u) w[u] = P::bcast(p[(i + u) * B + j]);
      for (int64_t v = 0; v < NV; ++v) {
        const V x = P::load(vr + v * W);
        for (int64_t u = 0; u < NQ; ++u) a[u][v] = P::fma(w[u], x, a[u][v]);
      }
    }
    for (int64_t u = 0; u < NQ; ++u)
      for (int64_t v = 0; v < NV; ++v) P::store(acc + (i + u) * b.d + c + v * W, a[u][v]);
  }

  template <int64_t NQ>
  void accumulate_all(int64_t i, int64_t j0, int64_t n) {
    int64_t c = 0;
    for (; c + KV * W <= b.d; c += KV * W) accumulate<NQ, KV>(i, j0, n, c);
    for (; c < b.d; c += W) accumulate<NQ, 1>(i, j0, n, c);
  }

  void run() {
    const int64_t D = b.d, nq = b.rows * b.heads;
    const bool transpose = nq >= kTranspose;
    for (int64_t i = 0; i < nq * D; ++i) acc[i] = 0.0f;
    for (int64_t i = 0; i < nq; ++i) mx[i] = -__builtin_inff(), sum[i] = 0.0f;
    const int64_t n_last = b.n_kv0 + b.rows - 1;  // keys the last row sees
    for (int64_t j0 = 0; j0 < n_last; j0 += B) {
      const int64_t nb = n_last - j0 < B ? n_last - j0 : B;
      if (transpose) {
        // Rows past nb are zero: score passes run whole vectors, and those scores are dropped.
        for (int64_t j = 0; j < nb; ++j) {
          const float* kr = b.k + (j0 + j) * b.kv_stride;
          for (int64_t d = 0; d < D; ++d) kt[d * B + j] = kr[d];
        }
        for (int64_t d = 0; d < D; ++d)
          for (int64_t j = nb; j < B; ++j) kt[d * B + j] = 0.0f;
        int64_t i = 0;
        for (; i + Q <= nq; i += Q) scores_transposed<Q>(i, nb);
        for (; i < nq; ++i) scores_transposed<1>(i, nb);
      } else {
        for (int64_t i = 0; i < nq; ++i) scores_direct(i, j0, sees(i, j0, nb));
      }
      for (int64_t i = 0; i < nq; ++i) update(i, sees(i, j0, nb), nb);
      int64_t i = 0;
      for (; i + Q <= nq; i += Q) {
        const int64_t n = sees(i + Q - 1, j0, nb);  // the group's last row sees the most keys
        if (n > 0) accumulate_all<Q>(i, j0, n);
      }
      for (; i < nq; ++i)
        if (sees(i, j0, nb) > 0) accumulate_all<1>(i, j0, sees(i, j0, nb));
    }
    for (int64_t i = 0; i < nq; ++i) {
      const float inv = 1.0f / sum[i];
      float* o = b.o + (i / b.heads) * b.o_row + (i % b.heads) * b.o_head;
      for (int64_t d = 0; d < D; ++d) o[d] = acc[i * D + d] * inv;
    }
  }
};

// The one-float policy, for head sizes that no vector width divides.
template <void (*ExpRow)(float*, int64_t)>
struct OneFloat {
  using V = float;
  static constexpr int64_t W = 1, Q = 2;
  static V load(const float* x) { return *x; }
  static void store(float* x, V v) { *x = v; }
  static V bcast(float x) { return x; }
  static V zero() { return 0.0f; }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V max(V a, V b) { return a > b ? a : b; }
  static float hsum(V v) { return v; }
  static float hmax(V v) { return v; }
  static void exp_row(float* x, int64_t n) { ExpRow(x, n); }
};

// Kernels::attention for policy P; head sizes that are not a multiple of its width go through
// Fallback (a one-float policy).
template <class P, class Fallback>
void attention_tiled(const AttentionBlock& b, float* scratch) {
  const int64_t D = b.d, nq = b.rows * b.heads, B = kAttentionTile;
  float* kt = scratch;
  float* acc = kt + D * B;
  float* mx = acc + nq * D;
  float* sum = mx + nq;
  float* p = sum + nq;
  if (D % P::W != 0) {
    AttentionTiled<Fallback>{b, kt, acc, mx, sum, p}.run();
    return;
  }
  AttentionTiled<P>{b, kt, acc, mx, sum, p}.run();
}

}  // namespace
}  // namespace onprem::kernels
