#version 450
// y[t][r] = dot(row r of W, x[t]) for every row r and token t: one workgroup per (row, token),
// its threads splitting the row's blocks, then a tree sum in shared memory. Compiled once per
// weight type (-DTYPE_...). Rows beyond 32,768 use the z dimension (the vocabulary has 151K).
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;

layout(std430, binding = 0) readonly buffer Weights { uint w[]; };
layout(std430, binding = 1) readonly buffer Acts { float x[]; };
layout(std430, binding = 2) writeonly buffer Out { float y[]; };

layout(push_constant) uniform Params {
  uint rows;
  uint cols;
  uint row_bytes;  // bytes between rows of W
  uint w_offset;   // byte offset of row 0 (an expert's slice of a stacked tensor)
  uint x_offset;   // in floats
  uint x_stride;   // floats between tokens of x
  uint y_offset;
  uint y_stride;
} p;

#include "bytes.glsl"
#include "blocks.glsl"

const uint kRowsPerX = 32768u;
shared float partial[64];

void main() {
  const uint row = gl_WorkGroupID.z * kRowsPerX + gl_WorkGroupID.x;
  const uint t = gl_WorkGroupID.y;
  const uint lid = gl_LocalInvocationID.x;
  float acc = 0.0;
  if (row < p.rows) {
    const uint base = p.w_offset + row * p.row_bytes;
    const uint xbase = p.x_offset + t * p.x_stride;
    const uint blocks = p.cols / BLOCK_VALUES;
    for (uint b = lid; b < blocks; b += 64u) acc += block_dot(base + b * BLOCK_BYTES, xbase + b * BLOCK_VALUES);
  }
  partial[lid] = acc;
  barrier();
  for (uint s = 32u; s > 0u; s >>= 1) {
    if (lid < s) partial[lid] += partial[lid + s];
    barrier();
  }
  if (lid == 0u && row < p.rows) y[p.y_offset + t * p.y_stride + row] = partial[0];
}
