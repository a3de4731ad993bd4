#version 450
// y[t][r] = dot(row r of W, x[t]) for every row r and token t: one workgroup per row and group
// of tokens, its threads splitting the row's blocks, then a tree sum in shared memory. Compiled once per
// weight type (-DTYPE_...). Rows beyond 32,768 use the z dimension (the vocabulary has 151K).
// With -DMATMUL_ID, "token" t is an expert slot: its weights start ids[t] * expert_bytes further,
// and it reads activation row t / x_div (gate and up: the slot's token; down: the slot itself).
// The IQ lattice types read their lattice from one more buffer, after the others.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;

layout(std430, binding = 0) readonly buffer Weights { uint w[]; };
layout(std430, binding = 1) readonly buffer Acts { float x[]; };
layout(std430, binding = 2) writeonly buffer Out { float y[]; };
#if defined(MATMUL_ID)
layout(std430, binding = 3) readonly buffer Ids { uint ids[]; };
#define GRID_BINDING 4
#else
#define GRID_BINDING 3
#endif

layout(push_constant) uniform Params {
  uint rows;
  uint cols;
  uint row_bytes;  // bytes between rows of W
  uint w_offset;   // byte offset of row 0 (an expert's slice of a stacked tensor)
  uint x_offset;   // in floats
  uint x_stride;   // floats between tokens of x
  uint y_offset;
  uint y_stride;
  uint expert_bytes;
  uint x_div;
  uint tokens;
} p;

#include "bytes.glsl"
#include "blocks.glsl"

const uint kRowsPerX = 32768u;
// A workgroup takes up to kTokens tokens of its row, one after another: prefill then needs
// kTokens times fewer workgroups. Each (row, token) is summed in the same order whatever the
// grouping, so results do not depend on how a prompt is cut into calls.
const uint kTokens = 8u;
shared float partial[kTokens * 64u];

void main() {
  const uint row = gl_WorkGroupID.z * kRowsPerX + gl_WorkGroupID.x;
  const uint t0 = gl_WorkGroupID.y * kTokens;
  const uint n = min(kTokens, p.tokens - t0);
  const uint lid = gl_LocalInvocationID.x;
  for (uint j = 0u; j < n; ++j) {
    const uint t = t0 + j;
    float acc = 0.0;
    if (row < p.rows) {
#if defined(MATMUL_ID)
      const uint base = p.w_offset + ids[t] * p.expert_bytes + row * p.row_bytes;
      const uint xbase = p.x_offset + (t / p.x_div) * p.x_stride;
#else
      const uint base = p.w_offset + row * p.row_bytes;
      const uint xbase = p.x_offset + t * p.x_stride;
#endif
      const uint blocks = p.cols / BLOCK_VALUES;
      for (uint b = lid; b < blocks; b += 64u) acc += block_dot(base + b * BLOCK_BYTES, xbase + b * BLOCK_VALUES);
    }
    partial[j * 64u + lid] = acc;
  }
  barrier();
  for (uint s = 32u; s > 0u; s >>= 1) {
    if (lid < s)
      for (uint j = 0u; j < n; ++j) partial[j * 64u + lid] += partial[j * 64u + lid + s];
    barrier();
  }
  if (lid < n && row < p.rows) y[p.y_offset + (t0 + lid) * p.y_stride + row] = partial[lid * 64u];
}
