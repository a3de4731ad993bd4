#version 450
// Element-wise ops over n floats, one thread per element; compiled once per op (-DOP_...):
//   OP_ADD     y = a + b          (the residual stream)
//   OP_SWIGLU  y = silu(a) * b    (SwiGLU; with a = z, b = o the DeltaNet output gate)
//   OP_COPY    y = a              (V rows into the cache)
// y may be the same buffer as a or b: each thread reads its elements before writing them, so
// the buffers carry no readonly / writeonly qualifiers.

layout(local_size_x = 256) in;

layout(std430, binding = 0) buffer A { float a[]; };
layout(std430, binding = 1) buffer B { float b[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(std430, binding = 3) readonly buffer Step { uint pos0; } step;  // y starts pos0 * pos_stride further

layout(push_constant) uniform Params {
  uint n;
  uint a_offset;
  uint b_offset;
  uint y_offset;
  uint pos_stride;
} p;

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 256u;
  if (i >= p.n) return;
  const float av = a[p.a_offset + i];
  const uint yi = p.y_offset + step.pos0 * p.pos_stride + i;
#if defined(OP_ADD)
  y[yi] = av + b[p.b_offset + i];
#elif defined(OP_SWIGLU)
  y[yi] = av / (1.0 + exp(-av)) * b[p.b_offset + i];
#elif defined(OP_COPY)
  y[yi] = av;
#else
#error "define one OP_*"
#endif
}
