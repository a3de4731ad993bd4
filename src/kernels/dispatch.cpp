#include <cstdio>
#include <cstdlib>

#include "kernels/cpu.h"
#include "kernels/kernels.h"
#include "kernels/variants.h"

namespace onprem::kernels {

namespace {

// The only caller of the fill functions of files compiled with wider ISA flags; build(isa) runs
// only for an isa the CPU supports (kernels_for checks first). tests/isa checks that no other
// object reaches into those files.
Kernels build(Isa isa) {
  Kernels k;
  k.isa = isa;
  fill_scalar(k);
#if defined(__x86_64__)
  if (isa == Isa::kAvx2 || isa == Isa::kAvx512) fill_avx2(k);
  if (isa == Isa::kAvx512) fill_avx512(k);
#elif defined(__aarch64__)
  if (isa == Isa::kNeon || isa == Isa::kDotprod || isa == Isa::kI8mm) fill_neon(k);
  if (isa == Isa::kDotprod || isa == Isa::kI8mm) fill_dotprod(k);
  if (isa == Isa::kI8mm) fill_i8mm(k);
#endif
  return k;
}

}  // namespace

const Kernels* kernels_for(Isa isa) {
  if (!cpu_supports(isa)) return nullptr;
  // One function-local static per table: each is built the first time its case runs, and the
  // case runs only for an ISA the CPU has.
  switch (isa) {
    case Isa::kScalar: {
      static const Kernels t = build(Isa::kScalar);
      return &t;
    }
    case Isa::kAvx2: {
      static const Kernels t = build(Isa::kAvx2);
      return &t;
    }
    case Isa::kAvx512: {
      static const Kernels t = build(Isa::kAvx512);
      return &t;
    }
    case Isa::kNeon: {
      static const Kernels t = build(Isa::kNeon);
      return &t;
    }
    case Isa::kDotprod: {
      static const Kernels t = build(Isa::kDotprod);
      return &t;
    }
    case Isa::kI8mm: {
      static const Kernels t = build(Isa::kI8mm);
      return &t;
    }
  }
  return nullptr;
}

const Kernels& best_kernels() {
  static const Kernels* best = [] {
    const auto isa = chosen_isa();
    if (!isa) {
      // The CLI checks ONPREM_ISA before any command runs; this is the library's last word.
      std::fprintf(stderr, "onprem: %s\n", isa.error().message.c_str());
      std::exit(2);
    }
    return kernels_for(*isa);
  }();
  return *best;
}

QuantizeActFn act_converter(const Kernels& k, core::GgmlType act_type) {
  switch (act_type) {
    case core::GgmlType::kQ8_K:
      return k.quantize_q8_k;
    case core::GgmlType::kF16:
      return k.convert_f16;
    case core::GgmlType::kBF16:
      return k.convert_bf16;
    default:
      return k.quantize_q8_0;
  }
}

int64_t act_bytes(core::GgmlType act_type, int64_t n) {
  const auto info = core::ggml_type_info(static_cast<uint32_t>(act_type));
  return info ? int64_t(core::ggml_row_bytes(*info, uint64_t(n))) : n * 4;
}

}  // namespace onprem::kernels
