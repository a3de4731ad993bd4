// Collects an importance matrix while the forward pass runs over a text: for every weight matrix
// that multiplies activations, the sum of each input column's squares and the number of rows,
// per expert for expert matrices (the activations routed to that expert only). The LM head and
// the embedding table are left out, as llama-imatrix leaves them.
#pragma once

#include <map>
#include <mutex>

#include "model/forward.h"
#include "model/imatrix.h"
#include "model/weights.h"

namespace onprem::model {

class ImatrixCollector {
 public:
  explicit ImatrixCollector(const Model& m);
  // Pass as ForwardContext::matmul_observer; valid while this collector lives.
  const MatmulObserver& observer() const { return observer_; }
  // What was seen so far.
  Imatrix result() const;

 private:
  struct Range {
    std::string name;
    int64_t ne0 = 0, expert_bytes = 0;
  };
  void see(const kernels::MatrixView& w, const float* X, int64_t T);

  std::map<const uint8_t*, Range> ranges_;  // by the tensor's first byte
  mutable std::mutex mu_;
  std::map<std::string, ImatrixEntry> entries_;
  MatmulObserver observer_;
};

}  // namespace onprem::model
