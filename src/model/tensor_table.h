// The one place tensor names and shapes live (model.md §3). The loader checks a file against
// it and binds the weights from it, gen-model writes from it, the planner sums it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/status.h"
#include "model/config.h"

namespace onprem::gguf {
class File;
}

namespace onprem::model {

struct Matrix;
struct LayerWeights;
struct Model;

// What a tensor is for; gen-model picks its random distribution and the quantiser its type by it.
enum class TensorRole {
  kEmbedding,
  kOutput,
  kNorm,
  kLinear,
  kRouter,
  kSharedGate,
  kConv,
  kSsmA,
  kSsmDtBias,
  kSsmNorm,
};

struct TensorSpec {
  std::string name;
  std::vector<uint64_t> ne;  // ggml order: ne[0] contiguous (the input dimension of a matrix)
  TensorRole role = TensorRole::kLinear;
  int layer = -1;         // -1 for global tensors
  bool optional = false;  // output.weight: llama.cpp reuses token_embd when absent
  // One slice per expert (the last dimension): a token reads n_expert_used of them.
  bool routed_expert = false;
  // Where bind_model puts it: a view into the file (matrices) or decoded floats, in the layer's
  // weights or, for global tensors, in the model. Exactly one is set.
  Matrix LayerWeights::*layer_matrix = nullptr;
  std::vector<float> LayerWeights::*layer_floats = nullptr;
  Matrix Model::*model_matrix = nullptr;
  std::vector<float> Model::*model_floats = nullptr;
  // llama-quantize never quantises 1-D tensors, norms, conv, routers or non-".weight" tensors.
  bool stays_f32() const;
  uint64_t n_elements() const;
  std::string shape_string() const;
};

// Every tensor the forward pass reads, in file order (global first, then layer by layer).
std::vector<TensorSpec> tensor_table(const ModelConfig& c);

// MoE files may store the expert gate and up projections fused as ffn_gate_up_exps {N, 2F, E}
// (gate rows first) instead of ffn_gate_exps + ffn_up_exps; both are accepted.
bool is_split_gate_up(const std::string& name);
std::string fused_gate_up_name(int layer);
// The names of the routed-expert tensors a file of this config may hold (the table's, the fused
// gate_up form, and those of MTP blocks), so that callers look names up instead of matching
// substrings.
std::unordered_set<std::string> routed_expert_names(const ModelConfig& c);
// The layer of a "blk.N." name; nullopt for any other name, including a malformed or out-of-range
// N in a hostile file (never an exception).
std::optional<uint32_t> block_index(std::string_view name);

// Checks presence, shape and a decodable type of every tensor; the error names the tensor, the
// expected and the found shape.
core::Status check_tensors(const gguf::File& file, const ModelConfig& c);

}  // namespace onprem::model
