// Scalar dequantisation: the reference every kernel is tested against. n is the number of
// values and must be a multiple of the type's block size; src holds n/block_size blocks.
#pragma once

#include <cstdint>

#include "core/ggml_type.h"

namespace onprem::quant {

void dequantize_row_f32(const void* src, float* dst, int64_t n);
void dequantize_row_f16(const void* src, float* dst, int64_t n);
void dequantize_row_bf16(const void* src, float* dst, int64_t n);
void dequantize_row_q4_0(const void* src, float* dst, int64_t n);
void dequantize_row_q8_0(const void* src, float* dst, int64_t n);
void dequantize_row_q4_k(const void* src, float* dst, int64_t n);
void dequantize_row_q5_k(const void* src, float* dst, int64_t n);
void dequantize_row_q6_k(const void* src, float* dst, int64_t n);
void dequantize_row_q8_k(const void* src, float* dst, int64_t n);

using DequantizeFn = void (*)(const void*, float*, int64_t);
// nullptr for types we cannot decode.
DequantizeFn dequantizer(core::GgmlType type);
bool can_dequantize(core::GgmlType type);

}  // namespace onprem::quant
