#include "kernels/cpu.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <sys/auxv.h>
#endif

namespace onprem::kernels {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
    case Isa::kNeon:
      return "neon";
    case Isa::kDotprod:
      return "dotprod";
    case Isa::kI8mm:
      return "i8mm";
  }
  return "?";
}

std::optional<Isa> isa_from_name(std::string_view name) {
  for (Isa isa : kAllIsas)
    if (name == isa_name(isa)) return isa;
  return std::nullopt;
}

const char* isa_requirements(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "nothing";
    case Isa::kAvx2:
      return "x86-64 with avx2 fma f16c and OS-saved ymm state";
    case Isa::kAvx512:
      return "x86-64 with avx2 fma f16c avx512f avx512dq avx512bw avx512vl avx512_vnni and OS-saved zmm state";
    case Isa::kNeon:
      return "aarch64 (asimd)";
    case Isa::kDotprod:
      return "aarch64 with asimddp (sdot)";
    case Isa::kI8mm:
      return "aarch64 with asimddp and i8mm (smmla)";
  }
  return "?";
}

namespace {

struct Detected {
  CpuInfo info;
  bool supports[std::size(kAllIsas)] = {};
};

void add(std::vector<std::string>& out, bool present, const char* name) {
  if (present) out.emplace_back(name);
}

#if defined(__x86_64__)
// CPUID and XGETBV directly: compilers disagree on the feature names __builtin_cpu_supports
// accepts (clang 14 knows neither "f16c" nor "avx512vnni"), and the OS must save the registers.
Detected detect() {
  Detected d;
  d.info.arch = "x86_64";
  d.info.model = "unknown";
  unsigned a = 0, b = 0, c = 0, x = 0;
  if (__get_cpuid(0x80000000, &a, &b, &c, &x) && a >= 0x80000004) {
    char brand[49] = {};
    for (unsigned leaf = 0; leaf < 3; ++leaf) {
      unsigned r[4] = {};
      __get_cpuid(0x80000002 + leaf, &r[0], &r[1], &r[2], &r[3]);
      std::memcpy(brand + 16 * leaf, r, 16);
    }
    std::string s(brand);
    const size_t first = s.find_first_not_of(' '), last = s.find_last_not_of(' ');
    if (first != std::string::npos) d.info.model = s.substr(first, last - first + 1);
  }
  d.supports[size_t(Isa::kScalar)] = true;
  if (!__get_cpuid(1, &a, &b, &c, &x)) return d;
  const bool sse42 = (c >> 20) & 1, fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1,
             f16c = (c >> 29) & 1;
  auto& f = d.info.features;
  add(f, sse42, "sse4_2");
  add(f, avx, "avx");
  add(f, fma, "fma");
  add(f, f16c, "f16c");
  unsigned xcr0 = 0;
  if (osxsave) {
    unsigned hi = 0;
    __asm__("xgetbv" : "=a"(xcr0), "=d"(hi) : "c"(0));
  }
  const bool ymm_state = (xcr0 & 0x6) == 0x6, zmm_state = (xcr0 & 0xE6) == 0xE6;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &x)) return d;
  const bool avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1, avx512bw = (b >> 30) & 1,
             avx512vl = (b >> 31) & 1, vnni = (c >> 11) & 1;
  add(f, avx2, "avx2");
  add(f, avx512f, "avx512f");
  add(f, avx512dq, "avx512dq");
  add(f, avx512bw, "avx512bw");
  add(f, avx512vl, "avx512vl");
  add(f, vnni, "avx512_vnni");
  add(f, ymm_state, "os:ymm");
  add(f, zmm_state, "os:zmm");
  const bool has_avx2 = avx && ymm_state && avx2 && fma && f16c;
  d.supports[size_t(Isa::kAvx2)] = has_avx2;
  d.supports[size_t(Isa::kAvx512)] = has_avx2 && zmm_state && avx512f && avx512dq && avx512bw && avx512vl && vnni;
  return d;
}
#elif defined(__aarch64__)
// The kernel reports what user space may run in the auxiliary vector (AT_HWCAP, AT_HWCAP2);
// the bit numbers are the Linux ABI's (asm/hwcap.h), spelled here so no header version matters.
constexpr unsigned long kHwcapAsimd = 1ul << 1, kHwcapAsimddp = 1ul << 20, kHwcapSve = 1ul << 22;
constexpr unsigned long kHwcap2I8mm = 1ul << 13, kHwcap2Bf16 = 1ul << 14;

std::string arm_model() {
  // /proc/cpuinfo names no model on ARM, only the implementer and part numbers.
  std::string model = "unknown";
  if (FILE* f = std::fopen("/proc/cpuinfo", "r")) {
    char line[256];
    std::string impl, part;
    while (std::fgets(line, sizeof line, f)) {
      std::string_view l(line);
      auto value = [&](std::string_view key) -> std::string {
        if (l.substr(0, key.size()) != key) return {};
        const size_t colon = l.find(':');
        if (colon == std::string_view::npos) return {};
        std::string v(l.substr(colon + 1));
        while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
        while (!v.empty() && v.front() == ' ') v.erase(v.begin());
        return v;
      };
      if (impl.empty()) impl = value("CPU implementer");
      if (part.empty()) part = value("CPU part");
    }
    std::fclose(f);
    if (!impl.empty()) model = "implementer " + impl + " part " + part;
  }
  return model;
}

Detected detect() {
  Detected d;
  d.info.arch = "aarch64";
  d.info.model = arm_model();
  const unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
  auto& f = d.info.features;
  add(f, hw & kHwcapAsimd, "asimd");
  add(f, hw & kHwcapAsimddp, "asimddp");
  add(f, hw2 & kHwcap2I8mm, "i8mm");
  add(f, hw2 & kHwcap2Bf16, "bf16");
  add(f, hw & kHwcapSve, "sve");
  d.supports[size_t(Isa::kScalar)] = true;
  const bool neon = hw & kHwcapAsimd, dp = neon && (hw & kHwcapAsimddp);
  d.supports[size_t(Isa::kNeon)] = neon;
  d.supports[size_t(Isa::kDotprod)] = dp;
  d.supports[size_t(Isa::kI8mm)] = dp && (hw2 & kHwcap2I8mm);
  return d;
}
#else
Detected detect() {
  Detected d;
  d.info.arch = "other";
  d.info.model = "unknown";
  d.supports[size_t(Isa::kScalar)] = true;
  return d;
}
#endif

const Detected& detected() {
  static const Detected d = detect();
  return d;
}

}  // namespace

const CpuInfo& cpu_info() { return detected().info; }

std::vector<Isa> built_isas() {
#if defined(__x86_64__)
  return {Isa::kScalar, Isa::kAvx2, Isa::kAvx512};
#elif defined(__aarch64__)
  return {Isa::kScalar, Isa::kNeon, Isa::kDotprod, Isa::kI8mm};
#else
  return {Isa::kScalar};
#endif
}

bool cpu_supports(Isa isa) { return detected().supports[size_t(isa)]; }

Isa widest_isa() {
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2, Isa::kI8mm, Isa::kDotprod, Isa::kNeon})
    if (cpu_supports(isa)) return isa;
  return Isa::kScalar;
}

core::Expected<Isa> chosen_isa() {
  const char* env = std::getenv("ONPREM_ISA");
  if (!env || !*env) return widest_isa();
  std::string names;
  for (Isa isa : kAllIsas)
    if (cpu_supports(isa)) names += std::string(names.empty() ? "" : ", ") + isa_name(isa);
  const auto isa = isa_from_name(env);
  if (!isa)
    return core::make_error(
        core::ErrorCode::kInvalidArgument,
        "ONPREM_ISA=" + std::string(env) + " is not an instruction set onprem knows (this CPU runs: " + names + ")");
  if (!cpu_supports(*isa))
    return core::make_error(core::ErrorCode::kUnsupported, "ONPREM_ISA=" + std::string(env) + " needs " +
                                                               isa_requirements(*isa) + "; this CPU (" +
                                                               cpu_info().model + ") runs: " + names);
  return *isa;
}

}  // namespace onprem::kernels
