// Internal: each instruction set fills (or overrides) its entries of a table. The AVX2 and
// AVX-512 fillers live in files compiled with their own ISA flags and are only called when
// cpu_supports() says the CPU runs them.
#pragma once

#include "kernels/kernels.h"

namespace onprem::kernels {

void fill_scalar(Kernels& k);
void fill_avx2(Kernels& k);
void fill_avx512(Kernels& k);

// The scalar delta-rule step, which SIMD versions fall back to for head sizes they do not tile.
void delta_rule_step_ref(float* S, const float* k, const float* q, const float* v, float beta, float decay,
                         int64_t dk, int64_t dv, float* o);

}  // namespace onprem::kernels
