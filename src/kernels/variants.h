// Internal: each instruction set fills (or overrides) its entries of a table. The fillers of
// files compiled with wider ISA flags (AVX2, AVX-512, ARM64 dotprod and i8mm) are called only by
// dispatch.cpp, only when cpu_supports() says the CPU runs them; those files export nothing else
// (tests/isa/check_isa_objects.py enforces both).
#pragma once

#include "kernels/kernels.h"

namespace onprem::kernels {

void fill_scalar(Kernels& k);
#if defined(__x86_64__)
void fill_avx2(Kernels& k);
void fill_avx2_lowbit(Kernels& k);  // dot_avx2_lowbit.cpp, called by fill_avx2
void fill_avx512(Kernels& k);
#elif defined(__aarch64__)
void fill_neon(Kernels& k);
void fill_dotprod(Kernels& k);
void fill_i8mm(Kernels& k);
#endif

// The scalar delta-rule step, which SIMD versions fall back to for head sizes they do not tile.
void delta_rule_step_ref(float* S, const float* k, const float* q, const float* v, float beta, float decay, int64_t dk,
                         int64_t dv, float* o);

}  // namespace onprem::kernels
