#version 450
// NEOX RoPE in place: pair (j, j + half) of each head row turns by the angle whose cos and sin
// the host computed for that token (model/rope.h: the M-RoPE sections and YaRN live there once).

layout(local_size_x = 64) in;

layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Table { float cs[]; };  // [token][half][cos, sin]
layout(std430, binding = 2) readonly buffer Step { uint pos0; } step;  // rows start pos0 * pos_stride further

layout(push_constant) uniform Params {
  uint heads;       // head rows per token
  uint head_stride; // floats between heads of one token
  uint token_stride;
  uint offset;
  uint half_dims;
  uint pos_stride;
} p;

void main() {
  const uint r = gl_WorkGroupID.x, t = r / p.heads, h = r % p.heads;
  const uint base = p.offset + step.pos0 * p.pos_stride + t * p.token_stride + h * p.head_stride;
  for (uint j = gl_LocalInvocationID.x; j < p.half_dims; j += 64u) {
    const float c = cs[(t * p.half_dims + j) * 2u], s = cs[(t * p.half_dims + j) * 2u + 1u];
    const float x0 = x[base + j], x1 = x[base + j + p.half_dims];
    x[base + j] = x0 * c - x1 * s;
    x[base + j + p.half_dims] = x0 * s + x1 * c;
  }
}
