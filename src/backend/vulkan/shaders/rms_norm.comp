#version 450
// y[t] = x[t] / sqrt(mean(x[t]^2) + eps) * weight, one workgroup per token (model.md: RMSNorm).
// The output starts pos_stride * step.pos0 further (a K-cache row at the sequence's position,
// read from a buffer so that a recorded decode graph can be replayed at the next position).

layout(local_size_x = 64) in;

layout(std430, binding = 0) readonly buffer Weights { float w[]; };
layout(std430, binding = 1) readonly buffer Acts { float x[]; };
layout(std430, binding = 2) writeonly buffer Out { float y[]; };
layout(std430, binding = 3) readonly buffer Step { uint pos0; } step;

layout(push_constant) uniform Params {
  uint n;
  uint x_offset;
  uint x_stride;
  uint y_offset;
  uint y_stride;
  float eps;
  uint pos_stride;
} p;

shared float partial[64];

void main() {
  const uint t = gl_WorkGroupID.x;
  const uint lid = gl_LocalInvocationID.x;
  const uint xb = p.x_offset + t * p.x_stride, yb = p.y_offset + step.pos0 * p.pos_stride + t * p.y_stride;
  float acc = 0.0;
  for (uint i = lid; i < p.n; i += 64u) acc += x[xb + i] * x[xb + i];
  partial[lid] = acc;
  barrier();
  for (uint s = 32u; s > 0u; s >>= 1) {
    if (lid < s) partial[lid] += partial[lid + s];
    barrier();
  }
  const float scale = 1.0 / sqrt(partial[0] / float(p.n) + p.eps);
  for (uint i = lid; i < p.n; i += 64u) y[yb + i] = x[xb + i] * scale * w[i];
}
