#version 450
// Rows of floats into the KV cache at the call's position, in the cache's type (-DKV_F16,
// -DKV_Q8_0): x[x_offset + t * row ...] -> cache row (step.pos0 + t). One workgroup per token.
// A Q8_0 row is ggml's blocks of 32 (an f16 scale d = max|x| / 127, then round(x / d) as int8,
// halves away from zero): 34 bytes a block, so blocks share words; each workgroup builds its row
// in shared memory and writes whole words (the row must be a multiple of 64 values).
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer C { uint w[]; };
layout(std430, binding = 2) readonly buffer Step { uint pos0; } step;

layout(push_constant) uniform Params {
  uint row;  // values per token
  uint x_offset;
} p;

#include "half.glsl"

#if defined(KV_Q8_0)
const uint kMaxWords = 1088u;  // 4,096 values a row
shared uint words[kMaxWords];
#endif

void main() {
  const uint t = gl_WorkGroupID.x, lid = gl_LocalInvocationID.x;
  const uint src = p.x_offset + t * p.row, pos = step.pos0 + t;
#if defined(KV_F16)
  const uint base = pos * (p.row / 2u);
  for (uint e = lid; e < p.row / 2u; e += 64u)
    w[base + e] = half_from_float(x[src + 2u * e]) | (half_from_float(x[src + 2u * e + 1u]) << 16);
#elif defined(KV_Q8_0)
  const uint n_words = p.row / 32u * 34u / 4u;
  for (uint i = lid; i < n_words; i += 64u) words[i] = 0u;
  barrier();
  for (uint b = lid; b < p.row / 32u; b += 64u) {
    float amax = 0.0;
    for (uint i = 0u; i < 32u; ++i) amax = max(amax, abs(x[src + b * 32u + i]));
    const float d = amax / 127.0;
    const float id = d != 0.0 ? 1.0 / d : 0.0;
    const uint off = b * 34u;
    const uint dh = half_from_float(d);
    atomicOr(words[off >> 2], (dh & 0xFFu) << ((off & 3u) * 8u));
    atomicOr(words[(off + 1u) >> 2], (dh >> 8) << (((off + 1u) & 3u) * 8u));
    for (uint i = 0u; i < 32u; ++i) {
      const float v = x[src + b * 32u + i] * id;
      const int q = int(sign(v) * floor(abs(v) + 0.5));  // roundf: halves away from zero
      const uint o = off + 2u + i;
      atomicOr(words[o >> 2], (uint(q) & 0xFFu) << ((o & 3u) * 8u));
    }
  }
  barrier();
  for (uint i = lid; i < n_words; i += 64u) w[pos * n_words + i] = words[i];
#else
#error "define KV_F16 or KV_Q8_0"
#endif
}
