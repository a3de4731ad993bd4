// Scalar quantisers. Weights: F16, BF16, Q8_0, Q4_K, Q6_K, and (quantize_legacy.cpp) Q4_0, Q4_1,
// Q5_0, Q5_1 (used by gen-model, quantize and the tests).
// Activations: Q8_0 and Q8_K in llama.cpp's exact rounding, so our int8 dot products see the
// same integers as the reference engine. n must be a multiple of the block size.
#pragma once

#include <cstdint>

#include "core/ggml_type.h"

namespace onprem::quant {

void quantize_row_f16(const float* x, void* dst, int64_t n);
void quantize_row_bf16(const float* x, void* dst, int64_t n);
void quantize_row_q8_0(const float* x, void* dst, int64_t n);
void quantize_row_q4_k(const float* x, void* dst, int64_t n);
void quantize_row_q6_k(const float* x, void* dst, int64_t n);
void quantize_row_q8_k(const float* x, void* dst, int64_t n);
void quantize_row_q4_0(const float* x, void* dst, int64_t n);
void quantize_row_q4_1(const float* x, void* dst, int64_t n);
void quantize_row_q5_0(const float* x, void* dst, int64_t n);
void quantize_row_q5_1(const float* x, void* dst, int64_t n);
// Activations to Q8_0 as llama.cpp's x86 SIMD path does it (multiply by 127/amax, round half to
// even), which differs from the scalar form above in the last bit of some codes.
void quantize_row_q8_0_act(const float* x, void* dst, int64_t n);

using QuantizeFn = void (*)(const float*, void*, int64_t);
// nullptr for types we cannot produce (F32 is a plain copy and also supported).
QuantizeFn quantizer(core::GgmlType type);

}  // namespace onprem::quant
