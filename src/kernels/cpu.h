// What this CPU is and which kernel tables it runs. Detection reads the CPU itself (CPUID and
// XGETBV on x86-64, the kernel's HWCAP bits on ARM64); nothing here executes an instruction the
// CPU might lack.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace onprem::kernels {

// One per kernel table. Each ISA's table is built on the one before it in its family:
// avx512 overrides entries of avx2; i8mm overrides dotprod, which overrides neon.
enum class Isa { kScalar, kAvx2, kAvx512, kNeon, kDotprod, kI8mm };
inline constexpr Isa kAllIsas[] = {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kNeon, Isa::kDotprod, Isa::kI8mm};

const char* isa_name(Isa isa);
std::optional<Isa> isa_from_name(std::string_view name);
// The CPU features a table needs, as /proc/cpuinfo spells them.
const char* isa_requirements(Isa isa);

struct CpuInfo {
  std::string arch;                   // "x86_64", "aarch64"
  std::string model;                  // the CPU's brand string, or "unknown"
  std::vector<std::string> features;  // the ones that matter to the kernels, present only
};
const CpuInfo& cpu_info();

// The tables this build has: scalar and those of its architecture's ISA family.
std::vector<Isa> built_isas();
// Whether this build has the table and this CPU (and its OS) runs every instruction in it.
bool cpu_supports(Isa isa);
// The widest table the CPU runs.
Isa widest_isa();

// The table to use: ONPREM_ISA if set (an error names an unknown ISA, or one this CPU lacks),
// else the widest.
core::Expected<Isa> chosen_isa();

}  // namespace onprem::kernels
