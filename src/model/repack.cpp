#include "model/repack.h"

#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <vector>

#include "core/thread_pool.h"

namespace onprem::model {

namespace {

// Every matrix the forward pass multiplies.
std::vector<Matrix*> multiplied(Model& m) {
  std::vector<Matrix*> out;
  if (m.output.view.data != m.token_embd.view.data) out.push_back(&m.output);
  for (LayerWeights& L : m.layers)
    for (Matrix* x :
         {&L.qkv, &L.gate, &L.beta, &L.alpha, &L.ssm_out, &L.wq, &L.wk, &L.wv, &L.wo, &L.ffn_gate, &L.ffn_up,
          &L.ffn_down, &L.gate_exps, &L.up_exps, &L.down_exps, &L.gate_shexp, &L.up_shexp, &L.down_shexp})
      if (x->present()) out.push_back(x);
  return out;
}

// Gives the pages wholly inside [p, p + n) back to the file (reads would fault them in again).
void drop_pages(const uint8_t* p, uint64_t n) {
  const auto page = uintptr_t(sysconf(_SC_PAGESIZE));
  const uintptr_t lo = (uintptr_t(p) + page - 1) / page * page, hi = (uintptr_t(p) + n) / page * page;
  if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

}  // namespace

RepackStats repack_weights(Model& m, const kernels::Kernels& k, int n_threads) {
  const auto t0 = std::chrono::steady_clock::now();
  RepackStats st;
  const std::vector<Matrix*> mats = multiplied(m);
  core::ThreadPool pool(n_threads);
  for (const gguf::TensorInfo& t : m.file->tensors()) {
    const kernels::TypeKernels& tk = k.of(t.type);
    if (!tk.packed_rows || t.n_dims < 2 || !t.data || t.n_bytes == 0) continue;
    const uint8_t* base = t.data;
    if (m.token_embd.view.data == base) continue;
    const int64_t R = tk.packed_rows, rb = int64_t(t.row_bytes()), rows = int64_t(t.ne[1] * t.ne[2] * t.ne[3]);
    // The views into this tensor, and whether each starts and ends on a group.
    std::vector<Matrix*> views;
    bool whole = rows % R == 0;
    for (Matrix* x : mats) {
      if (x->view.data < base || x->view.data >= base + t.n_bytes) continue;
      views.push_back(x);
      const int64_t off = x->view.data - base;
      whole = whole && off % (R * rb) == 0 && x->view.n_rows % R == 0 && x->expert_bytes % (R * rb) == 0;
    }
    if (views.empty() || !whole) continue;
    auto* buf = static_cast<uint8_t*>(std::aligned_alloc(64, (t.n_bytes + 63) / 64 * 64));
    if (!buf) continue;  // no memory for a copy: this tensor stays in the file's layout
    m.packed_storage.emplace_back(buf, std::free);
    const int64_t n = int64_t(t.ne[0]);
    pool.parallel_for(size_t(rows / R), [&](size_t g0, size_t g1) {
      for (size_t g = g0; g < g1; ++g) tk.pack_rows(base + int64_t(g) * R * rb, rb, n, buf + int64_t(g) * R * rb);
    });
    for (Matrix* x : views) {
      x->view.data = buf + (x->view.data - base);
      x->view.packed_rows = int(R);
    }
    drop_pages(base, t.n_bytes);
    ++st.tensors, st.bytes += t.n_bytes;
  }
  m.packed_for = &k;
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return st;
}

}  // namespace onprem::model
