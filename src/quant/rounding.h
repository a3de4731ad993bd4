// What the quantisers share: rounding as llama.cpp rounds, and moving an importance row along.
#pragma once

#include <cmath>
#include <cstdint>

namespace onprem::quant {

// Round half to even, like llama.cpp's nearest_int.
inline int nearest(float x) { return int(std::nearbyint(x)); }

// The importances of the values from `offset` on; a null row (no importance matrix) stays null.
inline const float* at(const float* w, int64_t offset) { return w ? w + offset : nullptr; }

}  // namespace onprem::quant
