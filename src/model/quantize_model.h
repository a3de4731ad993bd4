// Re-quantises a model file: every tensor the forward pass reads gets the type the preset's
// llama-quantize mix gives it (quant_mix.h), decoded from whatever it is stored as; tensors the
// table does not know are copied as they are; metadata is copied in order with general.file_type
// updated. The output is written through a .part file, so a failure leaves no half file.
#pragma once

#include <map>
#include <string>

#include "core/thread_pool.h"
#include "gguf/file.h"
#include "model/imatrix.h"
#include "model/quant_mix.h"

namespace onprem::model {

struct QuantizeReport {
  uint64_t bytes_in = 0, bytes_out = 0;
  int weighted_tensors = 0;                    // fitted with importance
  std::map<std::string, int> tensors_by_type;  // output type name -> tensors
};

// imatrix (may be null): each tensor it has an entry for is fitted with its columns' importance.
core::Expected<QuantizeReport> quantize_model(const gguf::File& in, FileType ft, const std::string& out_path,
                                              core::ThreadPool& pool, const Imatrix* imatrix = nullptr);

}  // namespace onprem::model
