#version 450
// x[row] = x[row] / max(|x[row]|, eps) * scale, in place, one workgroup per row (Gated DeltaNet's
// q and k heads; q also takes 1/sqrt(dk)). Rows are `stride` floats apart from `offset`.

layout(local_size_x = 64) in;

layout(std430, binding = 0) buffer X { float x[]; };

layout(push_constant) uniform Params {
  uint n;
  uint rows_per_token;  // row r is head r % rows_per_token of token r / rows_per_token
  uint token_stride;
  uint offset;
  float eps;
  float scale;
} p;

shared float partial[64];

void main() {
  const uint r = gl_WorkGroupID.x, lid = gl_LocalInvocationID.x;
  const uint base = p.offset + (r / p.rows_per_token) * p.token_stride + (r % p.rows_per_token) * p.n;
  float acc = 0.0;
  for (uint i = lid; i < p.n; i += 64u) acc += x[base + i] * x[base + i];
  partial[lid] = acc;
  barrier();
  for (uint s = 32u; s > 0u; s >>= 1) {
    if (lid < s) partial[lid] += partial[lid + s];
    barrier();
  }
  const float inv = 1.0 / max(sqrt(partial[0]), p.eps) * p.scale;
  for (uint i = lid; i < p.n; i += 64u) x[base + i] = x[base + i] * inv;
}
