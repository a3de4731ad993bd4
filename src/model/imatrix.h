// Importance matrices: for each weight tensor, the sum of squared activations each input column
// met over a text, and how many (per expert for expert tensors). Quantisers weigh each weight's
// error by its column's mean (quant/fit.h). Read from llama-imatrix's GGUF files (tensors
// "<weight>.in_sum2" {ne0, n_mat} and "<weight>.counts" {1, n_mat}) and from its legacy .dat files
// (per entry: name, calls, and mean × calls per value); written as GGUF by `onprem imatrix`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace onprem::model {

struct ImatrixEntry {
  std::vector<float> sum2;    // ne0 × n_mat, matrix-major
  std::vector<float> counts;  // n_mat: activation rows each matrix saw
};

struct Imatrix {
  std::map<std::string, ImatrixEntry> entries;  // by weight tensor name
  std::vector<std::string> datasets;
  uint32_t chunk_count = 0, chunk_size = 0;

  // The mean squared activation of each column, for a weight of ne0 columns and n_mat matrices
  // (experts); empty if the matrix has no entry. An entry of another size is an error; a matrix
  // that saw no rows gets 1s (no preference), as llama-imatrix stores it.
  core::Expected<std::vector<float>> importance(const std::string& tensor, uint64_t ne0, uint64_t n_mat) const;
};

// GGUF or legacy, by content: GGUF files start with the magic "GGUF".
core::Expected<Imatrix> read_imatrix(const std::string& path);
core::Status write_imatrix(const Imatrix& m, const std::string& path);

}  // namespace onprem::model
