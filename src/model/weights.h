// Weights bound to a mapped GGUF file: one struct per layer with a view of every tensor the
// forward pass reads (tensor_table.cpp names them). Matrices stay in the file (any supported
// type); small vectors (norms, gates, conv taps, ssm_a, dt bias, routers) are decoded to f32 once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "gguf/file.h"
#include "kernels/matmul.h"
#include "model/config.h"

namespace onprem::model {

// A matrix of n_rows outputs over n_cols inputs, possibly a stack of experts (ne[2]).
struct Matrix {
  kernels::MatrixView view;  // the first (or only) expert
  int64_t n_expert = 1;
  int64_t expert_bytes = 0;  // bytes between consecutive experts
  bool present() const { return view.data != nullptr; }
  kernels::MatrixView expert(int64_t e) const {
    kernels::MatrixView v = view;
    v.data += e * expert_bytes;
    return v;
  }
};

struct LayerWeights {
  bool recurrent = false;
  std::vector<float> attn_norm, post_norm;  // [n_embd]
  // Gated DeltaNet
  Matrix qkv, gate, beta, alpha, ssm_out;
  std::vector<float> conv;            // [C][kernel], tap kernel-1 multiplies the current token
  std::vector<float> dt_bias, ssm_a;  // [Hv]
  std::vector<float> ssm_norm;        // [dv]
  // Gated attention
  Matrix wq, wk, wv, wo;
  std::vector<float> q_norm, k_norm;  // [head_dim]
  // FFN: dense or MoE
  Matrix ffn_gate, ffn_up, ffn_down;
  std::vector<float> router;  // [n_expert][n_embd]
  Matrix gate_exps, up_exps, down_exps;
  std::vector<float> shexp_gate;  // [n_embd] (empty if no shared expert)
  Matrix gate_shexp, up_shexp, down_shexp;
};

struct Model {
  ModelConfig config;
  std::shared_ptr<const gguf::File> file;  // owns the mapping the matrices point into
  Matrix token_embd;                       // [n_vocab] rows of n_embd
  std::vector<float> output_norm;
  Matrix output;                     // LM head (token_embd when the file has none)
  std::vector<LayerWeights> layers;  // main layers only (MTP blocks are not run)
  // Set by repack_weights (model/repack.h): the kernel table the repacked matrices are laid out
  // for, and the memory that holds them.
  const kernels::Kernels* packed_for = nullptr;
  std::vector<std::shared_ptr<uint8_t>> packed_storage;
};

// Bytes of weights one decoded token reads: every matrix once, one row of the embedding table,
// and for MoE only n_expert_used of n_expert routed experts (plus the shared expert).
uint64_t weight_bytes_per_token(const Model& m);
// Multiply-adds per token of the matrices a token goes through (same accounting): x2 = FLOPs.
uint64_t weight_macs_per_token(const Model& m);

// Reads the config, checks every tensor (names, shapes, types) and binds the weights.
core::Expected<Model> load_model(const std::string& path);
core::Expected<Model> bind_model(std::shared_ptr<const gguf::File> file);

}  // namespace onprem::model
