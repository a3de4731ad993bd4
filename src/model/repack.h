// Weights repacked once, at load, for the kernel table that will multiply them
// (kernels/packed_rows.h): decode then reads each weight byte once with one vector load feeding
// every row of a group.
#pragma once

#include <cstdint>

#include "kernels/kernels.h"
#include "model/weights.h"

namespace onprem::model {

struct RepackStats {
  int64_t tensors = 0;  // tensors repacked
  uint64_t bytes = 0;   // their bytes
  double seconds = 0;
};

// Every matrix tensor whose type k repacks, and whose views (experts, the halves of a fused
// gate_up) all cover whole groups of rows, is copied into groups in memory of its own, and its
// views point there. The embedding table is left alone (its rows are looked up one at a time),
// and so is an LM head tied to it. The file's pages of a repacked tensor are then dropped from the
// mapping, so the process holds one copy. Afterwards m.packed_for is &k, and forward refuses any
// other table (or float activations) for m.
RepackStats repack_weights(Model& m, const kernels::Kernels& k, int n_threads);

}  // namespace onprem::model
