// Scalar quantisers. Weights: F16, BF16, Q8_0, Q4_K, Q6_K; (quantize_legacy.cpp) Q4_0, Q4_1, Q5_0,
// Q5_1; (quantize_kquant.cpp) Q2_K, Q3_K, Q5_K; (quantize_codebook.cpp) IQ4_NL, IQ4_XS, MXFP4; (quantize_lattice.cpp)
// the IQ3, IQ2 and IQ1 types. Used by gen-model, quantize and the tests. w, where taken, is one importance per value of
// the row (an imatrix's mean squared activation of each column; fit.h); null means all equal. Activations: Q8_0 and
// Q8_K in llama.cpp's exact rounding, so our int8 dot products see the same integers as the reference engine. n must be
// a multiple of the block size.
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
void quantize_row_q4_k_weighted(const float* x, void* dst, int64_t n, const float* w);
void quantize_row_q6_k_weighted(const float* x, void* dst, int64_t n, const float* w);
void quantize_row_q4_0(const float* x, void* dst, int64_t n, const float* w = nullptr);
void quantize_row_q4_1(const float* x, void* dst, int64_t n, const float* w = nullptr);
void quantize_row_q5_0(const float* x, void* dst, int64_t n, const float* w = nullptr);
void quantize_row_q5_1(const float* x, void* dst, int64_t n, const float* w = nullptr);
void quantize_row_q2_k(const float* x, void* dst, int64_t n, const float* w = nullptr);
void quantize_row_q3_k(const float* x, void* dst, int64_t n, const float* w = nullptr);
void quantize_row_q5_k(const float* x, void* dst, int64_t n, const float* w = nullptr);
void quantize_row_iq4_nl(const float* x, void* dst, int64_t n, const float* w = nullptr);
void quantize_row_iq4_xs(const float* x, void* dst, int64_t n, const float* w = nullptr);
void quantize_row_mxfp4(const float* x, void* dst, int64_t n, const float* w = nullptr);
// (quantize_lattice.cpp) The lattice types: made for use with an importance matrix (without one,
// every value weighs the same).
void quantize_row_iq2_xxs(const float* x, void* dst, int64_t n, const float* w = nullptr);
void quantize_row_iq2_xs(const float* x, void* dst, int64_t n, const float* w = nullptr);
void quantize_row_iq2_s(const float* x, void* dst, int64_t n, const float* w = nullptr);
void quantize_row_iq3_xxs(const float* x, void* dst, int64_t n, const float* w = nullptr);
void quantize_row_iq3_s(const float* x, void* dst, int64_t n, const float* w = nullptr);
void quantize_row_iq1_s(const float* x, void* dst, int64_t n, const float* w = nullptr);
void quantize_row_iq1_m(const float* x, void* dst, int64_t n, const float* w = nullptr);
// Activations to Q8_0 as llama.cpp's x86 SIMD path does it (multiply by 127/amax, round half to
// even), which differs from the scalar form above in the last bit of some codes.
void quantize_row_q8_0_act(const float* x, void* dst, int64_t n);

// (x, dst, n, w): n values of one row, w its importances or null. Types without a weighted form
// ignore w (F32, F16, BF16, Q8_0: rounding to nearest is already the least error per value).
using QuantizeFn = void (*)(const float*, void*, int64_t, const float*);
// nullptr for types we cannot produce (F32 is a plain copy and also supported).
QuantizeFn quantizer(core::GgmlType type);

}  // namespace onprem::quant
