#include "backend/vulkan/ops.h"

#include <algorithm>

namespace onprem::vulkan {

namespace {

using core::GgmlType;

// Must match the push-constant blocks of shaders/matmul.comp and shaders/rms_norm.comp.
struct MatmulPush {
  uint32_t rows, cols, row_bytes, w_offset, x_offset, x_stride, y_offset, y_stride;
};
struct RmsNormPush {
  uint32_t n, x_offset, x_stride, y_offset, y_stride;
  float eps;
};

constexpr uint32_t kRowsPerX = 32768;  // matmul.comp's kRowsPerX

const char* matmul_shader(GgmlType t) {
  switch (t) {
    case GgmlType::kF32:
      return "matmul_f32";
    case GgmlType::kF16:
      return "matmul_f16";
    case GgmlType::kBF16:
      return "matmul_bf16";
    case GgmlType::kQ8_0:
      return "matmul_q8_0";
    case GgmlType::kQ4_0:
      return "matmul_q4_0";
    case GgmlType::kQ4_K:
      return "matmul_q4_k";
    case GgmlType::kQ5_K:
      return "matmul_q5_k";
    case GgmlType::kQ6_K:
      return "matmul_q6_k";
    default:
      return nullptr;
  }
}

// The shader addresses bytes and floats with 32-bit integers.
bool fits_u32(uint64_t v) { return v <= 0xFFFFFFFFull; }

}  // namespace

bool matmul_supports(GgmlType type) { return matmul_shader(type) != nullptr; }

const Pipeline* Ops::pipeline(std::unique_ptr<Pipeline>& slot, const std::string& shader, uint32_t n_buffers,
                              uint32_t push_bytes, std::string* error) {
  if (!slot) slot = make_pipeline(d_, shader, n_buffers, push_bytes, error);
  return slot.get();
}

bool Ops::matmul(Graph& g, const Buffer& w, const Buffer& x, const Buffer& y, const MatmulArgs& a, std::string* error) {
  const char* shader = matmul_shader(a.type);
  const auto info = core::ggml_type_info(uint32_t(a.type));
  if (!shader || !info) {
    if (error) *error = "the Vulkan backend has no matmul for " + core::ggml_type_name(a.type);
    return false;
  }
  // The F16/BF16 shaders read two values per word.
  const uint32_t values_per_step = (a.type == GgmlType::kF16 || a.type == GgmlType::kBF16) ? 2 : info->block_size;
  if (a.rows == 0 || a.tokens == 0 || a.cols == 0 || a.cols % values_per_step != 0) {
    if (error)
      *error = "Vulkan matmul: " + std::to_string(a.rows) + " rows of " + std::to_string(a.cols) +
               " values is not a whole number of " + core::ggml_type_name(a.type) + " blocks";
    return false;
  }
  const uint64_t last_byte = a.w_offset + uint64_t(a.rows - 1) * a.row_bytes + core::ggml_row_bytes(*info, a.cols);
  const uint64_t last_x = a.x_offset + uint64_t(a.tokens - 1) * a.x_stride + a.cols;
  const uint64_t last_y = a.y_offset + uint64_t(a.tokens - 1) * a.y_stride + a.rows;
  if (last_byte > w.bytes || last_x * 4 > x.bytes || last_y * 4 > y.bytes || !fits_u32(a.row_bytes) ||
      !fits_u32(a.w_offset) || !fits_u32(last_byte)) {
    if (error) *error = "Vulkan matmul overruns its buffers (or a 4 GiB weight buffer)";
    return false;
  }
  const Pipeline* p = pipeline(matmul_[uint32_t(a.type)], shader, 3, sizeof(MatmulPush), error);
  if (!p) return false;
  const MatmulPush push{a.rows,     a.cols,    uint32_t(a.row_bytes), uint32_t(a.w_offset), a.x_offset, a.x_stride,
                        a.y_offset, a.y_stride};
  const Buffer* bufs[] = {&w, &x, &y};
  return g.dispatch(*p, bufs, &push, std::min(a.rows, kRowsPerX), a.tokens, (a.rows + kRowsPerX - 1) / kRowsPerX,
                    error);
}

bool Ops::rms_norm(Graph& g, const Buffer& weight, const Buffer& x, const Buffer& y, const RmsNormArgs& a,
                   std::string* error) {
  const uint64_t last_x = a.x_offset + uint64_t(a.tokens - 1) * a.x_stride + a.n;
  const uint64_t last_y = a.y_offset + uint64_t(a.tokens - 1) * a.y_stride + a.n;
  if (a.n == 0 || a.tokens == 0 || uint64_t(a.n) * 4 > weight.bytes || last_x * 4 > x.bytes || last_y * 4 > y.bytes) {
    if (error) *error = "Vulkan rms_norm overruns its buffers";
    return false;
  }
  const Pipeline* p = pipeline(rms_norm_, "rms_norm", 3, sizeof(RmsNormPush), error);
  if (!p) return false;
  const RmsNormPush push{a.n, a.x_offset, a.x_stride, a.y_offset, a.y_stride, a.eps};
  const Buffer* bufs[] = {&weight, &x, &y};
  return g.dispatch(*p, bufs, &push, a.tokens, 1, 1, error);
}

}  // namespace onprem::vulkan
