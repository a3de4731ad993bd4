// The qwen35 / qwen35moe forward pass (model.md §4-9): token ids in, logits out. Evaluates a
// ubatch of tokens appended to a sequence's state; one call may carry any number of tokens up to
// the workspace's capacity. Not thread-safe per state; the pool parallelises inside one call.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "model/state.h"
#include "model/weights.h"

namespace onprem::model {

// Called with every named intermediate: name ("attn_norm", "gdn_out", "moe_out", ...), layer
// (-1 for global), data [n_tokens][width] row-major.
using Observer = std::function<void(const char* name, int layer, const float* data, int64_t n_tokens, int64_t width)>;

enum class DeltaNetPrefill {
  kSequential,  // token by token, exactly llama.cpp's CPU op
  kChunked,     // chunks of 64 in matrix form (model.md §7.3), every exponent <= 0
};

struct ForwardOptions {
  // Quantised weights: quantise activations to 8 bits first, as llama.cpp's CPU backend does.
  kernels::Activations activations = kernels::Activations::kInt8;
  DeltaNetPrefill prefill = DeltaNetPrefill::kSequential;
};

// Several sequences in one call: their rows share every weight read (continuous batching).
// Each entry is validated before anything runs; on error no state changes.
struct BatchEntry {
  SequenceState* state = nullptr;
  const int32_t* tokens = nullptr;
  int64_t n = 0;
  float* logits = nullptr;  // [n][n_vocab] if all_logits, else [n_vocab]
  bool all_logits = false;
};

// One sequence's rows in a multi-sequence ubatch: rows [row0, row0 + n) at positions pos0 ...
struct Segment {
  SequenceState* state;
  int64_t row0, n, pos0;
};

// Attention works on blocks of up to this many rows of one sequence (kernels::AttentionBlock).
inline constexpr int64_t kAttentionRows = 32;
struct AttentionItem {
  int32_t seg;   // index into the call's segments
  int64_t row0;  // first row, relative to the segment
  int64_t kv_head;
};

inline constexpr int kScratchBuffers = 5;

// Scratch for up to max_tokens tokens per call; allocated once. The bookkeeping vectors below
// keep their capacity between calls, so a warm decode step allocates nothing.
struct Workspace {
  int64_t max_tokens = 0;
  int n_threads = 1;             // the most pool threads a call may use (per-worker scratch)
  std::vector<float> residual;   // [max_tokens][n_embd]: the residual stream
  std::vector<float> normed;     // [max_tokens][n_embd]: its RMS-normed copy, each block's input
  std::vector<float> block_out;  // [max_tokens][widest row]: a block's output, added to the residual
  // [max_tokens][widest row] each: the blocks' own intermediates, reused block after block; each
  // block names what it keeps in which at the top of its function (attention.cpp, deltanet.cpp,
  // ffn.cpp).
  std::array<std::vector<float>, kScratchBuffers> scratch;
  std::vector<uint8_t> qscratch;  // int8 activations
  std::vector<float> scores;      // attention kernel scratch, per worker thread
  std::vector<float> logits;      // multi-sequence calls: logits rows before they are scattered
  // MoE: each worker runs whole experts, with its own inputs, hidden rows and int8 activations;
  // expert outputs land in one row per (token, chosen expert) and are summed afterwards in a
  // fixed order, so the result does not depend on the thread count.
  std::vector<float> moe;
  std::vector<uint8_t> moe_q;
  uint64_t moe_worker_floats = 0, moe_worker_qbytes = 0;          // each worker's share of moe / moe_q
  std::vector<BatchEntry> single;                                 // forward()'s one entry
  std::vector<Segment> segs;                                      // this call's sequences
  std::vector<AttentionItem> attention_items;                     // this call's attention blocks
  std::vector<std::vector<std::pair<int64_t, float>>> moe_lists;  // expert -> (row, weight)
  std::vector<int64_t> moe_idx, moe_active, moe_slot0;
  std::vector<float> gdn_gates;  // per worker: beta and g of one head over max_tokens
};
Workspace make_workspace(const ModelConfig& c, int64_t max_tokens, int n_threads);

// What make_workspace allocates, in bytes (the planner's "compute buffers" use the same numbers).
struct WorkspaceSizes {
  uint64_t hidden_floats = 0;   // residual and normed: [max_tokens][n_embd] each
  uint64_t scratch_floats = 0;  // block_out and each scratch buffer: [max_tokens][widest row]
  uint64_t qscratch_bytes = 0;  // int8 activations
  uint64_t score_floats = 0;    // attention kernel scratch, per thread (independent of the context)
  uint64_t moe_floats = 0;      // MoE: per-worker inputs and hidden rows, plus one output row per routed token
  uint64_t moe_qbytes = 0;      // MoE: per-worker int8 activations
  uint64_t moe_worker_floats = 0, moe_worker_qbytes = 0;  // one worker's share of the two above
  uint64_t total_bytes() const {
    return 4 * (2 * hidden_floats + (1 + kScratchBuffers) * scratch_floats + score_floats + moe_floats) +
           qscratch_bytes + moe_qbytes;
  }
};
WorkspaceSizes workspace_sizes(const ModelConfig& c, int64_t max_tokens, int n_threads);

// Sees the input rows X[T][w.n_cols] of every weight matrix product before it runs (w.data points
// into the file: for an expert matrix, at that expert). Expert products call it from several
// threads at once. Importance matrices are collected so (model/imatrix_collect.h).
using MatmulObserver = std::function<void(const kernels::MatrixView& w, const float* X, int64_t T)>;

struct ForwardContext {
  const kernels::Kernels* kernels = nullptr;  // default: best_kernels()
  core::ThreadPool* pool = nullptr;
  const Observer* observer = nullptr;
  const MatmulObserver* matmul_observer = nullptr;
  ForwardOptions options;
};

// Evaluates tokens[0..n) at positions state.n_past .. state.n_past+n-1 and advances the state.
// logits: [n][n_vocab] for every token when all_logits, else [n_vocab] for the last token only.
core::Status forward(const Model& m, SequenceState& state, Workspace& ws, const int32_t* tokens, int64_t n,
                     float* logits, bool all_logits, const ForwardContext& ctx);

// Several sequences in one call (see forward_batch).
core::Status forward_batch(const Model& m, std::vector<BatchEntry>& batch, Workspace& ws, const ForwardContext& ctx);

// A forward pass in pieces, for a backend that runs only some layers here (model/forward_vulkan.cpp,
// --gpu-layers and --cpu-moe). Each works on the Workspace's rows in place; none advances a state.
//   forward_layers: layers [first, last) over the n hidden rows in ws.residual, one sequence at
//     positions state.n_past ...
//   forward_ffn: one layer's FFN block (a MoE layer: router, routed experts, shared expert) from
//     the normed rows in ws.normed into ws.block_out.
//   forward_head: the final norm and the output head for rows [first, n) of ws.residual into
//     logits[n - first][n_vocab].
core::Status forward_layers(const Model& m, SequenceState& state, Workspace& ws, int64_t n, int first, int last,
                            const ForwardContext& ctx);
void forward_ffn(const Model& m, Workspace& ws, int layer, int64_t n, const ForwardContext& ctx);
void forward_head(const Model& m, Workspace& ws, int64_t first, int64_t n, float* logits, const ForwardContext& ctx);

}  // namespace onprem::model
