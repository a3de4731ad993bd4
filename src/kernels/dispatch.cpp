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

// CPUID and XGETBV directly: compilers disagree on the feature names __builtin_cpu_supports
// accepts (clang 14 knows neither "f16c" nor "avx512vnni"), and the OS must save the registers.
struct CpuFeatures {
  bool avx2 = false, avx512 = false;
};

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
  if (!(osxsave && avx)) return f;
  unsigned lo = 0, hi = 0;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  const bool ymm_state = (lo & 0x6) == 0x6, zmm_state = (lo & 0xE6) == 0xE6;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  const bool avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1, avx512bw = (b >> 30) & 1,
             avx512vl = (b >> 31) & 1, vnni = (c >> 11) & 1;
  f.avx2 = ymm_state && avx2 && fma && f16c;
  f.avx512 = f.avx2 && zmm_state && avx512f && avx512dq && avx512bw && avx512vl && vnni;
  return f;
}

}  // namespace

bool cpu_supports(Isa isa) {
  static const CpuFeatures f = detect();
  switch (isa) {
    case Isa::kScalar: return true;
    case Isa::kAvx2: return f.avx2;
    case Isa::kAvx512: return f.avx512;
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
