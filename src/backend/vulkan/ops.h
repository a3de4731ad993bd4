// The model's operations on a Vulkan device, as dispatches recorded into a Graph. Each has a CPU
// counterpart in kernels/ that the tests hold it to (tests/backend/vulkan_test.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "backend/vulkan/pipeline.h"
#include "core/ggml_type.h"

namespace onprem::vulkan {

// Whether matmul reads this weight type on the device.
bool matmul_supports(core::GgmlType type);

// y[y_offset + t * y_stride + r] = dot(row r of W, x[x_offset + t * x_stride ...]) for r < rows,
// t < tokens. W's rows are `row_bytes` apart from byte `w_offset` (an expert's slice). Offsets and
// strides are in elements of y and x (floats).
struct MatmulArgs {
  core::GgmlType type = core::GgmlType::kF32;
  uint32_t rows = 0, cols = 0, tokens = 1;
  uint64_t row_bytes = 0, w_offset = 0;
  uint32_t x_offset = 0, x_stride = 0, y_offset = 0, y_stride = 0;
};

struct RmsNormArgs {
  uint32_t n = 0, tokens = 1;
  uint32_t x_offset = 0, x_stride = 0, y_offset = 0, y_stride = 0;
  float eps = 1e-6f;
};

// The pipelines of one device, made on first use.
class Ops {
 public:
  explicit Ops(Device& d) : d_(d) {}

  bool matmul(Graph& g, const Buffer& w, const Buffer& x, const Buffer& y, const MatmulArgs& a, std::string* error);
  bool rms_norm(Graph& g, const Buffer& weight, const Buffer& x, const Buffer& y, const RmsNormArgs& a,
                std::string* error);

 private:
  const Pipeline* pipeline(std::unique_ptr<Pipeline>& slot, const std::string& shader, uint32_t n_buffers,
                           uint32_t push_bytes, std::string* error);

  Device& d_;
  std::array<std::unique_ptr<Pipeline>, 40> matmul_;  // by GgmlType id
  std::unique_ptr<Pipeline> rms_norm_;
};

}  // namespace onprem::vulkan
