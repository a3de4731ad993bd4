// Matrix-vector and matrix-matrix products over rows of stored weights, built on the dot
// kernels of a table. Threads split the output rows; results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/ggml_type.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"

namespace onprem::kernels {

struct MatrixView {
  const uint8_t* data = nullptr;  // n_rows rows of row_bytes each
  core::GgmlType type = core::GgmlType::kF32;
  int64_t n_cols = 0;  // values per row (the input dimension)
  int64_t n_rows = 0;  // outputs
  // Rows in groups of this many, repacked for the table that multiplies them (its
  // TypeKernels::packed_rows); 0: the file's layout.
  int packed_rows = 0;
  int64_t row_bytes() const;
};

enum class Activations { kFloat, kInt8 };  // kInt8: quantise x to Q8_0 / Q8_K first (llama.cpp's CPU path)

// Bytes of scratch matvec / matmat need for n_tokens activation rows.
int64_t matmul_scratch_bytes(const Kernels& k, const MatrixView& w, int64_t n_tokens, Activations acts);

// y[r] = W[r] · x. scratch: matmul_scratch_bytes(..., 1, acts) bytes (unused for kFloat).
void matvec(const Kernels& k, const MatrixView& w, const float* x, float* y, Activations acts, void* scratch,
            core::ThreadPool* pool);

// Y[t][r] = W[r] · X[t] for t < n_tokens; X is [n_tokens][n_cols], Y is [n_tokens][n_rows].
void matmat(const Kernels& k, const MatrixView& w, const float* X, int64_t n_tokens, float* Y, Activations acts,
            void* scratch, core::ThreadPool* pool);

// One product of a group: W and where its [n_tokens][W.n_rows] result goes.
struct MatmulOut {
  MatrixView w;
  float* y = nullptr;
};
inline constexpr int kMaxGroup = 6;  // matrices in one group

// Several products of the same X (a layer's projections, a gate and its up): X is converted once
// per activation format, and the row blocks of every matrix go to one pool dispatch. Each Y is
// bit for bit what matmat gives. scratch holds scratch_bytes; the group needs
// matmul_group_scratch_bytes(...). With less, or with more than kMaxGroup products, or with
// products of other widths than X's, they run one at a time (each needs matmul_scratch_bytes).
int64_t matmul_group_scratch_bytes(const Kernels& k, std::span<const MatmulOut> outs, int64_t n_tokens,
                                   Activations acts);
void matmat_group(const Kernels& k, std::span<const MatmulOut> outs, const float* X, int64_t n_tokens, Activations acts,
                  void* scratch, int64_t scratch_bytes, core::ThreadPool* pool);

}  // namespace onprem::kernels
