#include "kernels/matmul.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

namespace onprem::kernels {

int64_t MatrixView::row_bytes() const {
  const auto info = core::ggml_type_info(static_cast<uint32_t>(type));
  return int64_t(core::ggml_row_bytes(*info, uint64_t(n_cols)));
}

namespace {

bool use_int8(const Kernels& k, const MatrixView& w, Activations acts) {
  return acts == Activations::kInt8 && k.of(w.type).dot_q8 != nullptr;
}

// Quantises each of the n_tokens rows of X into consecutive activation rows.
// Rows are independent: a prefill ubatch quantises them across the pool, not on one thread.
void quantize_rows(const Kernels& k, core::GgmlType act, const float* X, int64_t n_tokens, int64_t n, uint8_t* out,
                   core::ThreadPool* pool) {
  const QuantizeActFn qf = act_converter(k, act);
  const int64_t bytes = act_bytes(act, n);
  auto rows = [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t) qf(X + int64_t(t) * n, out + int64_t(t) * bytes, n);
  };
  if (pool && n_tokens >= 8)
    pool->parallel_for(size_t(n_tokens), rows);
  else
    rows(0, size_t(n_tokens));
}

// The sum of dot_ref.cpp's dot_f32_blocked over a row decoded whole: the same products added in
// the same order into a double, so the same bits.
float dot_decoded(const float* w, const float* x, int64_t n) {
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += double(w[i]) * x[i];
  return float(acc);
}

// Rows [r0, r1) of Y = W · X, in blocks of rows so that each weight row is read once and used for
// every token while it is in cache. xq: X converted to the table's activation format (int8).
void product_rows(const TypeKernels& tk, const MatrixView& w, const float* X, const uint8_t* xq, bool int8,
                  int64_t n_tokens, float* Y, size_t r0, size_t r1) {
  const int64_t rb = w.row_bytes(), n = w.n_cols;
  const int64_t xq_bytes = int8 ? act_bytes(tk.act_type, n) : 0;
  if (w.packed_rows) {  // whole groups: row blocks start at multiples of kGemmRows, and n_rows is one of groups
    for (size_t g = r0; g < r1; g += size_t(w.packed_rows))
      tk.packed_product(w.data + int64_t(g) * rb, xq, xq_bytes, n_tokens, n, Y + g, w.n_rows);
    return;
  }
  for (size_t rb0 = r0; rb0 < r1; rb0 += kGemmRows) {
    const size_t rb1 = std::min(r1, rb0 + kGemmRows);
    if (int8 && tk.gemm_q8 && n_tokens >= kGemmMinTokens) {
      tk.gemm_q8(w.data + int64_t(rb0) * rb, rb, int(rb1 - rb0), xq, xq_bytes, n_tokens, n, Y + rb0, w.n_rows);
      continue;
    }
    int64_t t = 0;
    if (int8 && tk.dot_q8_multi) {  // groups of tokens share each decoded weight row
      const int mt = tk.multi_tokens;
      for (; t + mt <= n_tokens; t += mt) {
        const void* xs[kMaxDotTokens];
        for (int j = 0; j < mt; ++j) xs[j] = xq + (t + j) * xq_bytes;
        float out[kMaxDotTokens];
        for (size_t r = rb0; r < rb1; ++r) {
          tk.dot_q8_multi(w.data + int64_t(r) * rb, xs, n, out);
          for (int j = 0; j < mt; ++j) Y[(t + j) * w.n_rows + int64_t(r)] = out[j];
        }
      }
    }
    if (int8 && tk.dot_q8_2x2) {  // pairs of rows meet pairs of tokens (same bits as dot_q8)
      for (; t + 2 <= n_tokens; t += 2) {
        const uint8_t* x0 = xq + t * xq_bytes;
        const uint8_t* x1 = x0 + xq_bytes;
        size_t r = rb0;
        for (; r + 2 <= rb1; r += 2) {
          float out[4];
          tk.dot_q8_2x2(w.data + int64_t(r) * rb, w.data + int64_t(r + 1) * rb, x0, x1, n, out);
          Y[t * w.n_rows + int64_t(r)] = out[0], Y[(t + 1) * w.n_rows + int64_t(r)] = out[1];
          Y[t * w.n_rows + int64_t(r + 1)] = out[2], Y[(t + 1) * w.n_rows + int64_t(r + 1)] = out[3];
        }
        for (; r < rb1; ++r) {
          Y[t * w.n_rows + int64_t(r)] = tk.dot_q8(w.data + int64_t(r) * rb, x0, n);
          Y[(t + 1) * w.n_rows + int64_t(r)] = tk.dot_q8(w.data + int64_t(r) * rb, x1, n);
        }
      }
    }
    if (!int8 && n_tokens - t > 1 && tk.decode_row && tk.dot_f32 == tk.decoded_dot_f32) {
      thread_local std::vector<float> decoded;
      decoded.resize(size_t(n));
      for (size_t r = rb0; r < rb1; ++r) {
        tk.decode_row(w.data + int64_t(r) * rb, decoded.data(), n);
        for (int64_t tt = t; tt < n_tokens; ++tt)
          Y[tt * w.n_rows + int64_t(r)] = dot_decoded(decoded.data(), X + tt * n, n);
      }
      t = n_tokens;
    }
    for (; t < n_tokens; ++t)
      for (size_t r = rb0; r < rb1; ++r) {
        const uint8_t* row = w.data + int64_t(r) * rb;
        Y[t * w.n_rows + int64_t(r)] = int8 ? tk.dot_q8(row, xq + t * xq_bytes, n) : tk.dot_f32(row, X + t * n, n);
      }
  }
}

}  // namespace

int64_t matmul_scratch_bytes(const Kernels& k, const MatrixView& w, int64_t n_tokens, Activations acts) {
  if (!use_int8(k, w, acts)) return 0;
  return n_tokens * act_bytes(k.of(w.type).act_type, w.n_cols);
}

namespace {
// The activation formats a group needs, each once, in order of first use.
int distinct_act_types(const Kernels& k, std::span<const MatmulOut> outs, Activations acts, core::GgmlType* types) {
  int n = 0;
  for (const MatmulOut& o : outs) {
    if (!use_int8(k, o.w, acts)) continue;
    const core::GgmlType t = k.of(o.w.type).act_type;
    if (std::find(types, types + n, t) == types + n) types[n++] = t;
  }
  return n;
}
}  // namespace

int64_t matmul_group_scratch_bytes(const Kernels& k, std::span<const MatmulOut> outs, int64_t n_tokens,
                                   Activations acts) {
  if (outs.empty()) return 0;
  if (outs.size() > size_t(kMaxGroup)) outs = outs.first(size_t(kMaxGroup));
  core::GgmlType types[kMaxGroup];
  const int nt = distinct_act_types(k, outs, acts, types);
  int64_t bytes = 0;
  for (int i = 0; i < nt; ++i) bytes += n_tokens * act_bytes(types[i], outs[0].w.n_cols);
  return bytes;
}

namespace {

// The group's products, its formats known to fit the scratch.
void run_group(const Kernels& k, std::span<const MatmulOut> outs, const float* X, int64_t n_tokens, Activations acts,
               void* scratch, core::ThreadPool* pool) {
  const int64_t n = outs[0].w.n_cols;
  // X converted once per activation format, into consecutive regions of the scratch.
  core::GgmlType types[kMaxGroup];
  const int nt = distinct_act_types(k, outs, acts, types);
  const uint8_t* xq_of[kMaxGroup] = {};
  uint8_t* at = static_cast<uint8_t*>(scratch);
  for (int i = 0; i < nt; ++i) {
    quantize_rows(k, types[i], X, n_tokens, n, at, pool);
    xq_of[i] = at;
    at += n_tokens * act_bytes(types[i], n);
  }
  // Every matrix's rows in blocks of kGemmRows, numbered across the group: one dispatch for all.
  struct Part {
    const TypeKernels* tk;
    const uint8_t* xq;
    bool int8;
    size_t first_block, n_blocks;
  };
  Part parts[kMaxGroup];
  size_t blocks = 0;
  for (size_t i = 0; i < outs.size(); ++i) {
    const MatmulOut& o = outs[i];
    const bool int8 = use_int8(k, o.w, acts);
    if (o.w.packed_rows && (!int8 || k.of(o.w.type).packed_rows != o.w.packed_rows)) {
      // Repacked weights are multiplied only by the table they were packed for, on int8 activations
      // (model::repack_weights and forward check both); anything else is a bug, not an input.
      std::fprintf(stderr, "onprem: weights packed in groups of %d rows reached another kernel table\n",
                   o.w.packed_rows);
      std::abort();
    }
    const uint8_t* xq = nullptr;
    if (int8)
      for (int j = 0; j < nt; ++j)
        if (types[j] == k.of(o.w.type).act_type) xq = xq_of[j];
    const size_t nb = (size_t(o.w.n_rows) + kGemmRows - 1) / kGemmRows;
    parts[i] = Part{&k.of(o.w.type), xq, int8, blocks, nb};
    blocks += nb;
  }
  auto work = [&](size_t b0, size_t b1) {
    for (size_t i = 0; i < outs.size() && b0 < b1; ++i) {
      const Part& p = parts[i];
      const size_t end = p.first_block + p.n_blocks;
      if (b0 >= end) continue;
      const size_t stop = std::min(b1, end);
      const MatrixView& w = outs[i].w;
      const size_t r0 = (b0 - p.first_block) * kGemmRows;
      const size_t r1 = std::min(size_t(w.n_rows), (stop - p.first_block) * kGemmRows);
      product_rows(*p.tk, w, X, p.xq, p.int8, n_tokens, outs[i].y, r0, r1);
      b0 = stop;
    }
  };
  if (pool)
    pool->parallel_for(blocks, work);
  else
    work(0, blocks);
}

}  // namespace

void matmat_group(const Kernels& k, std::span<const MatmulOut> outs, const float* X, int64_t n_tokens, Activations acts,
                  void* scratch, int64_t scratch_bytes, core::ThreadPool* pool) {
  if (outs.empty()) return;
  const int64_t n = outs[0].w.n_cols;
  const bool grouped = outs.size() <= size_t(kMaxGroup) &&
                       std::all_of(outs.begin(), outs.end(), [&](const MatmulOut& o) { return o.w.n_cols == n; }) &&
                       matmul_group_scratch_bytes(k, outs, n_tokens, acts) <= scratch_bytes;
  if (grouped) {
    run_group(k, outs, X, n_tokens, acts, scratch, pool);
    return;
  }
  for (const MatmulOut& o : outs) run_group(k, {&o, 1}, X, n_tokens, acts, scratch, pool);
}

void matvec(const Kernels& k, const MatrixView& w, const float* x, float* y, Activations acts, void* scratch,
            core::ThreadPool* pool) {
  matmat(k, w, x, 1, y, acts, scratch, pool);
}

void matmat(const Kernels& k, const MatrixView& w, const float* X, int64_t n_tokens, float* Y, Activations acts,
            void* scratch, core::ThreadPool* pool) {
  const MatmulOut one{w, Y};
  run_group(k, {&one, 1}, X, n_tokens, acts, scratch, pool);
}

}  // namespace onprem::kernels
