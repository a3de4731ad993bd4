// The kernel table: every hot operation of the engine as a function pointer, one table per
// instruction set. The scalar table is the reference the SIMD tables are tested against; the
// engine takes the best table the CPU runs, chosen once at start (best_kernels()).
//
// Conventions for all kernels: n counts values; for quantised weights n is a multiple of the
// type's block size. Weight rows are 2-byte aligned (as in GGUF data); activation pointers may
// have any float alignment. Kernels are pure functions: no allocation, no globals, thread-safe.
#pragma once

#include <cstdint>
#include <iterator>

#include "core/ggml_type.h"
#include "kernels/cpu.h"

namespace onprem::kernels {

// w_row: one row of stored weights; x: n f32 activations.
using DotF32Fn = float (*)(const void* w_row, const float* x, int64_t n);
// xq: the same activations converted to act_type, as llama.cpp converts them for this weight type:
// int8 blocks (Q8_0 or Q8_K) for quantised weights, F16 or BF16 rows for F16 and BF16 weights.
using DotQ8Fn = float (*)(const void* w_row, const void* xq, int64_t n);
// Bytes per 32 values of the widest activation format (F16 / BF16; Q8_0 takes 34, Q8_K 36.5).
inline constexpr int64_t kMaxActBytesPer32 = 64;
using QuantizeActFn = void (*)(const float* x, void* dst, int64_t n);
// One weight row against TypeKernels::multi_tokens (at most kMaxDotTokens) activation rows at
// once (prefill): the row is decoded once and reused for every token. out[t] = dot_q8(w_row, xq[t], n).
inline constexpr int kMaxDotTokens = 8;
using DotQ8MultiFn = void (*)(const void* w_row, const void* const* xq, int64_t n, float* out);

// A block of up to kGemmRows weight rows (row_bytes apart) against n_tokens activation rows
// (xq_bytes apart): Y[t * ldy + r] = dot_q8(row r, token t) for r < n_rows, with the same bits.
// Prefill: the kernel packs the rows once, so that one vector holds values of every row, and
// each activation value meets all of them at once. matmat uses it from kGemmMinTokens tokens on,
// where the packing is paid back.
inline constexpr int kGemmRows = 16;
inline constexpr int64_t kGemmMinTokens = 16;
using GemmQ8Fn = void (*)(const uint8_t* w, int64_t row_bytes, int n_rows, const uint8_t* xq, int64_t xq_bytes,
                          int64_t n_tokens, int64_t n, float* y, int64_t ldy);

// Weights repacked at load into groups of TypeKernels::packed_rows rows (kernels/packed_rows.h).
// PackRowsFn: that many rows (row_bytes apart, n values each) into one group at out, which takes
// their bytes. PackedProductFn: a group against n_tokens activation rows (xq_bytes apart):
// Y[t * ldy + r] = dot_q8(row r, token t) with the same bits, for any n_tokens.
using PackRowsFn = void (*)(const uint8_t* w, int64_t row_bytes, int64_t n, uint8_t* out);
using PackedProductFn = void (*)(const uint8_t* group, const uint8_t* xq, int64_t xq_bytes, int64_t n_tokens, int64_t n,
                                 float* y, int64_t ldy);

// Two weight rows against two activation rows (ARM64 i8mm's 2×2 int8 tiles):
// out = {w0·x0, w0·x1, w1·x0, w1·x1}, each bit-identical to dot_q8 of the same table.
using DotQ8x2Fn = void (*)(const void* w0, const void* w1, const void* x0, const void* x1, int64_t n, float* out);

// Causal attention of queries that share one KV head (model.md §6): `rows` consecutive positions
// times `heads` query heads. Query (r, h) sees keys 0 .. n_kv0 + r - 1 and gets
// o = softmax(scale * q.K) V. q and o are addressed base + r * row + h * head; key and value j
// are rows kv_stride floats apart.
struct AttentionBlock {
  const float* q = nullptr;
  int64_t q_row = 0, q_head = 0;
  float* o = nullptr;
  int64_t o_row = 0, o_head = 0;
  int64_t rows = 0, heads = 0;
  const float* k = nullptr;
  const float* v = nullptr;
  int64_t kv_stride = 0;
  int64_t n_kv0 = 0, d = 0;
  float scale = 1;
};
// Keys per tile: the kernels never build a row of n_kv scores, only tiles of this many.
inline constexpr int64_t kAttentionTile = 64;
// Scratch floats Kernels::attention needs for `queries` (rows x heads) queries of head size d.
inline constexpr int64_t attention_scratch_floats(int64_t queries, int64_t d) {
  return d * kAttentionTile + queries * (d + kAttentionTile + 2);
}

struct TypeKernels {
  DotF32Fn dot_f32 = nullptr;
  DotQ8Fn dot_q8 = nullptr;             // nullptr for F32 (its activations stay float)
  DotQ8MultiFn dot_q8_multi = nullptr;  // optional; matmat falls back to dot_q8 per token
  int multi_tokens = 0;                 // rows dot_q8_multi takes; the best count depends on registers
  DotQ8x2Fn dot_q8_2x2 = nullptr;       // optional; matmat pairs rows and tokens with it
  GemmQ8Fn gemm_q8 = nullptr;           // optional; matmat's blocks of rows for long prompts
  int packed_rows = 0;                  // rows per repacked group; 0: this table keeps the file's layout
  PackRowsFn pack_rows = nullptr;
  PackedProductFn packed_product = nullptr;
  core::GgmlType act_type = core::GgmlType::kF32;  // what dot_q8 expects: kQ8_0, kQ8_K, kF16 or kBF16
  // Where dot_f32 is the scalar table's decode-a-block-then-multiply (dot_ref.cpp): the row decoder
  // and that dot. When a table's dot_f32 is still it, matmat decodes each row once for all tokens
  // and sums in the same order, so every result keeps its bits (the float path of the types without
  // SIMD float kernels decoded each row again per token).
  void (*decode_row)(const void* w_row, float* out, int64_t n) = nullptr;
  DotF32Fn decoded_dot_f32 = nullptr;
};

struct Kernels {
  Isa isa = Isa::kScalar;
  // Indexed by ggml type id; entries with dot_f32 == nullptr are unsupported types.
  TypeKernels types[40];
  QuantizeActFn quantize_q8_0 = nullptr;  // llama.cpp's rounding (formats.md §3, model.md §12)
  QuantizeActFn quantize_q8_k = nullptr;
  QuantizeActFn convert_f16 = nullptr;   // round to nearest even, as ggml's fp32 -> fp16
  QuantizeActFn convert_bf16 = nullptr;  // round to nearest even, as ggml's fp32 -> bf16

  // y = x / sqrt(mean(x^2) + eps) * w   (w may be null: no weight)
  void (*rms_norm)(const float* x, const float* w, float* y, int64_t n, float eps) = nullptr;
  // y = x / max(||x||, eps)
  void (*l2_norm)(const float* x, float* y, int64_t n, float eps) = nullptr;
  void (*silu)(const float* x, float* y, int64_t n) = nullptr;
  // y = silu(g) * u
  void (*swiglu)(const float* g, const float* u, float* y, int64_t n) = nullptr;
  void (*sigmoid)(const float* x, float* y, int64_t n) = nullptr;
  // ln(1 + e^x), x for x > 20 (llama.cpp's cut-off)
  void (*softplus)(const float* x, float* y, int64_t n) = nullptr;
  // y = exp(x - max) / sum
  void (*softmax)(const float* x, float* y, int64_t n) = nullptr;
  // One token of the gated delta rule on one head (model.md §7), S value-major [dv][dk]: for each
  // value row s, s *= decay; s += beta (v_c - s·k) k; o_c = s·q. Both dots keep 16 partial sums
  // in a fixed order (lane i % 16, then pairwise), so every table gives the same bits.
  void (*delta_rule_step)(float* S, const float* k, const float* q, const float* v, float beta, float decay, int64_t dk,
                          int64_t dv, float* o) = nullptr;
  // AttentionBlock above, with attention_scratch_floats(rows * heads, d) floats of scratch.
  void (*attention)(const AttentionBlock& b, float* scratch) = nullptr;

  // An id past the table (a type newer than this build) has no kernels, like an unsupported one.
  const TypeKernels& of(core::GgmlType t) const {
    static const TypeKernels kNone;
    const auto id = static_cast<uint32_t>(t);
    return id < std::size(types) ? types[id] : kNone;
  }
};

// The table of one instruction set; nullptr if this build or this CPU cannot run it.
const Kernels* kernels_for(Isa isa);
// The table the engine uses, chosen once: chosen_isa() (ONPREM_ISA, else the widest the CPU runs).
const Kernels& best_kernels();

// What converts f32 activations to act_type (Q8_0, Q8_K, F16 or BF16) in table k.
QuantizeActFn act_converter(const Kernels& k, core::GgmlType act_type);

// Bytes of quantised activations for n values of act_type.
int64_t act_bytes(core::GgmlType act_type, int64_t n);

}  // namespace onprem::kernels
