#include <cpuid.h>

#include "kernels/kernels.h"
#include "kernels/variants.h"

namespace onprem::kernels {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "?";
}

namespace {
// clang 14 does not know "avx512vnni" as a __builtin_cpu_supports name: ask CPUID (leaf 7, ECX bit 11).
bool has_avx512_vnni() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return (c >> 11) & 1u;
}
}  // namespace

bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return true;
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case Isa::kAvx512:
      return cpu_supports(Isa::kAvx2) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && has_avx512_vnni();
  }
  return false;
}

namespace {

Kernels build(Isa isa) {
  Kernels k;
  k.isa = isa;
  fill_scalar(k);
  if (isa == Isa::kAvx2 || isa == Isa::kAvx512) fill_avx2(k);
  if (isa == Isa::kAvx512) fill_avx512(k);
  return k;
}

}  // namespace

const Kernels* kernels_for(Isa isa) {
  static const Kernels scalar = build(Isa::kScalar);
  static const Kernels avx2 = build(Isa::kAvx2);
  static const Kernels avx512 = build(Isa::kAvx512);
  if (!cpu_supports(isa)) return nullptr;
  switch (isa) {
    case Isa::kScalar: return &scalar;
    case Isa::kAvx2: return &avx2;
    case Isa::kAvx512: return &avx512;
  }
  return nullptr;
}

const Kernels& best_kernels() {
  static const Kernels* best = [] {
    for (Isa isa : {Isa::kAvx512, Isa::kAvx2})
      if (const Kernels* k = kernels_for(isa)) return k;
    return kernels_for(Isa::kScalar);
  }();
  return *best;
}

int64_t act_bytes(core::GgmlType act_type, int64_t n) {
  const auto info = core::ggml_type_info(static_cast<uint32_t>(act_type));
  return info ? int64_t(core::ggml_row_bytes(*info, uint64_t(n))) : n * 4;
}

}  // namespace onprem::kernels
