#version 450
#extension GL_GOOGLE_include_directive : require
// Gated causal attention for one (token, query head) per workgroup over the KV cache (model.md
// §6): scores q.k * scale for the keys up to the token's own position, softmax, the weighted sum
// of V, times sigmoid(gate). Scores go through a scratch row of the context's length, for the
// tokens of one dispatch (a long prompt takes several, so the scratch stays bounded); a tiled
// (flash) form is for the speed work on a real GPU.

layout(local_size_x = 64) in;

layout(std430, binding = 0) readonly buffer Q { float q[]; };     // [T][Hq][D], normed and turned
layout(std430, binding = 1) readonly buffer G { float qg[]; };    // [T][Hq][2D]: the gate is the second half
// The caches, [n_ctx][Hkv][D] in the type they are kept in (-DKV_F16, -DKV_Q8_0; F32 without).
#if defined(KV_F16) || defined(KV_Q8_0)
layout(std430, binding = 2) readonly buffer K { uint kc[]; };
layout(std430, binding = 3) readonly buffer V { uint vc[]; };
#else
layout(std430, binding = 2) readonly buffer K { float kc[]; };
layout(std430, binding = 3) readonly buffer V { float vc[]; };
#endif
layout(std430, binding = 4) buffer S { float scores[]; };         // [T][Hq][score_stride]
layout(std430, binding = 5) writeonly buffer O { float o[]; };    // [T][Hq][D]
layout(std430, binding = 6) readonly buffer Step { uint pos0; } step;  // added to the push constant's

layout(push_constant) uniform Params {
  uint d;
  uint hq;
  uint hkv;
  uint pos0;          // the first token's position
  uint score_stride;
  float scale;
  uint t0;            // this dispatch's first token: q, the gate and o rows start there; scores do not
  uint row0;          // the sequence's first row in q, the gate and o (a batch of sequences shares them)
} p;

#include "half.glsl"

// Element i of a cache, counted over the whole cache as floats.
#if defined(KV_F16)
float k_at(uint i) { return half_bits((kc[i >> 1] >> ((i & 1u) * 16u)) & 0xFFFFu); }
float v_at(uint i) { return half_bits((vc[i >> 1] >> ((i & 1u) * 16u)) & 0xFFFFu); }
#elif defined(KV_Q8_0)
// Blocks of 32: an f16 scale, then 32 int8 (34 bytes).
uint kbyte(uint off) { return (kc[off >> 2] >> ((off & 3u) * 8u)) & 0xFFu; }
uint vbyte(uint off) { return (vc[off >> 2] >> ((off & 3u) * 8u)) & 0xFFu; }
float k_at(uint i) {
  const uint off = (i >> 5) * 34u;
  return half_bits(kbyte(off) | (kbyte(off + 1u) << 8)) * float(int(kbyte(off + 2u + (i & 31u)) << 24) >> 24);
}
float v_at(uint i) {
  const uint off = (i >> 5) * 34u;
  return half_bits(vbyte(off) | (vbyte(off + 1u) << 8)) * float(int(vbyte(off + 2u + (i & 31u)) << 24) >> 24);
}
#else
float k_at(uint i) { return kc[i]; }
float v_at(uint i) { return vc[i]; }
#endif

shared float red[64];

float reduce_max(float v, uint lid) {
  red[lid] = v;
  barrier();
  for (uint s = 32u; s > 0u; s >>= 1) {
    if (lid < s) red[lid] = max(red[lid], red[lid + s]);
    barrier();
  }
  const float r = red[0];
  barrier();
  return r;
}

float reduce_sum(float v, uint lid) {
  red[lid] = v;
  barrier();
  for (uint s = 32u; s > 0u; s >>= 1) {
    if (lid < s) red[lid] += red[lid + s];
    barrier();
  }
  const float r = red[0];
  barrier();
  return r;
}

void main() {
  const uint tc = gl_WorkGroupID.y, t = p.t0 + tc, h = gl_WorkGroupID.x, lid = gl_LocalInvocationID.x;
  const uint kvh = h / (p.hq / p.hkv);
  const uint n_kv = p.pos0 + step.pos0 + t + 1u;
  const uint qb = ((p.row0 + t) * p.hq + h) * p.d, sb = (tc * p.hq + h) * p.score_stride;
  float mx = -3.402823466e38;
  for (uint j = lid; j < n_kv; j += 64u) {
    const uint kb = (j * p.hkv + kvh) * p.d;
    float s = 0.0;
    for (uint i = 0u; i < p.d; ++i) s += q[qb + i] * k_at(kb + i);
    s *= p.scale;
    scores[sb + j] = s;
    mx = max(mx, s);
  }
  mx = reduce_max(mx, lid);
  float sum = 0.0;
  for (uint j = lid; j < n_kv; j += 64u) {
    const float e = exp(scores[sb + j] - mx);
    scores[sb + j] = e;
    sum += e;
  }
  memoryBarrierBuffer();       // the score writes (a buffer), made visible to the workgroup
  sum = reduce_sum(sum, lid);  // whose barriers order them before the reads below
  const float inv = 1.0 / sum;
  const uint gb = ((p.row0 + t) * p.hq + h) * 2u * p.d + p.d;
  for (uint i = lid; i < p.d; i += 64u) {
    float acc = 0.0;
    for (uint j = 0u; j < n_kv; ++j) acc += scores[sb + j] * v_at((j * p.hkv + kvh) * p.d + i);
    const float gate = qg[gb + i];
    o[qb + i] = acc * inv / (1.0 + exp(-gate));
  }
}
