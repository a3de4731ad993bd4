// ARM64 int8 dot products with sdot (ARMv8.2 dotprod: 16 int8 products summed into four int32
// lanes in one instruction). Compiled with -march=armv8.2-a+dotprod; dispatch.cpp calls
// fill_dotprod only when AT_HWCAP reports asimddp.
#include "kernels/simd_neon.h"
#include "kernels/variants.h"

namespace onprem::kernels {

namespace {

struct DotSdot {
  static int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b) { return vdotq_s32(acc, a, b); }
};

}  // namespace

void fill_dotprod(Kernels& k) { neon::fill_int8_dots<DotSdot>(k); }

}  // namespace onprem::kernels
