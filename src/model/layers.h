// Internal to model/: the blocks of one layer, each over a ubatch of T tokens. Inputs and
// outputs are [T][n_embd] row-major; scratch comes from the Workspace.
#pragma once

#include <initializer_list>

#include "model/forward.h"

namespace onprem::model {

struct LayerContext {
  const Model& m;
  const kernels::Kernels& k;
  core::ThreadPool* pool;
  const ForwardOptions& opt;
  Workspace& ws;
  const Observer* obs;
  const MatmulObserver* mobs;

  void observe(const char* name, int layer, const float* data, int64_t n_tokens, int64_t width) const {
    if (obs && *obs) (*obs)(name, layer, data, n_tokens, width);
  }
  void see_matmul(const kernels::MatrixView& w, const float* X, int64_t T) const {
    if (mobs && *mobs) (*mobs)(w, X, T);
  }
  // Y[T][rows] = W · X[T][cols], with int8 activations for quantised weights when asked.
  void matmul(const kernels::MatrixView& w, const float* X, int64_t T, float* Y) const;
  // Several products of the same X in one dispatch, X converted once (kernels::matmat_group).
  void matmul_group(std::initializer_list<kernels::MatmulOut> outs, const float* X, int64_t T) const;
  // Runs fn(i) for i in [0, n) across the pool; worker w in [0, n_workers()) gets its own scratch.
  void parallel(int64_t n, core::FunctionRef<void(int64_t i, int worker)> fn) const;
  int n_workers() const { return pool ? pool->size() : 1; }
};

// Projections run over all T rows at once (one pass over the weights for every sequence);
// the attention and the recurrence run per segment on its own state.
void attention_block(const LayerContext& c, int il, const std::vector<Segment>& segs, const float* a, int64_t T,
                     float* out);
void deltanet_block(const LayerContext& c, int il, const std::vector<Segment>& segs, const float* a, int64_t T,
                    float* out);
void ffn_block(const LayerContext& c, int il, const float* f, int64_t T, float* out);

// The chunked delta rule for one v-head (model.md §7.3), exposed for tests: q, k [T][dk] (q
// already scaled), v [T][dv], beta and g [T]; S [dv][dk] in and out; o [T][dv].
void deltanet_head_sequential(const float* q, const float* k, const float* v, const float* beta, const float* g,
                              int64_t T, int64_t dk, int64_t dv, int64_t stride_qk, int64_t stride_v, float* S,
                              float* o, int64_t stride_o, const kernels::Kernels& kern);
void deltanet_head_chunked(const float* q, const float* k, const float* v, const float* beta, const float* g, int64_t T,
                           int64_t dk, int64_t dv, int64_t stride_qk, int64_t stride_v, float* S, float* o,
                           int64_t stride_o);

}  // namespace onprem::model
