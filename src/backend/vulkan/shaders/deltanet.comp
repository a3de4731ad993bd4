#version 450
// Gated DeltaNet's per-layer steps (model.md §7), compiled once per step (-DSTEP_...):
//   STEP_CONV   causal depthwise conv over T tokens with the rolling state, then SiLU; one thread
//               per channel, tokens in order.
//   STEP_GATES  beta = sigmoid(b), g = max(softplus(a + dt_bias) * ssm_a, -88); one thread per
//               (token, v head).
//   STEP_RULE   the delta rule, token by token; one workgroup per v head, one thread per value
//               row of the head's state (value-major S[c][i], as the CPU keeps it).

#if defined(STEP_CONV)
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer U { float u[]; };       // [T][Ch] projections
layout(std430, binding = 1) readonly buffer W { float w[]; };       // [Ch][K] taps, K-1 = current
layout(std430, binding = 2) buffer State { float st[]; };           // [Ch][K-1], oldest first
layout(std430, binding = 3) writeonly buffer Out { float y[]; };    // [T][Ch]
layout(push_constant) uniform Params { uint tokens; uint channels; uint taps; } p;
void main() {
  const uint ch = gl_GlobalInvocationID.x;
  if (ch >= p.channels) return;
  const uint K = p.taps, sb = ch * (K - 1u);
  for (uint t = 0u; t < p.tokens; ++t) {
    const float cur = u[t * p.channels + ch];
    float acc = w[ch * K + K - 1u] * cur;
    for (uint j = 0u; j + 1u < K; ++j) acc += w[ch * K + j] * st[sb + j];
    for (uint j = 0u; j + 2u < K; ++j) st[sb + j] = st[sb + j + 1u];
    st[sb + K - 2u] = cur;
    y[t * p.channels + ch] = acc / (1.0 + exp(-acc));
  }
}

#elif defined(STEP_GATES)
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer B { float b[]; };               // [T][Hv] in: beta logits, out: beta
layout(std430, binding = 1) buffer A { float a[]; };               // [T][Hv] in: alpha, out: log-decay g
layout(std430, binding = 2) readonly buffer Bias { float dt_bias[]; };
layout(std430, binding = 3) readonly buffer SsmA { float ssm_a[]; };
layout(push_constant) uniform Params { uint n; uint heads; } p;
void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= p.n) return;
  const uint j = i % p.heads;
  b[i] = 1.0 / (1.0 + exp(-b[i]));
  const float x = a[i] + dt_bias[j];
  const float sp = x > 20.0 ? x : log(1.0 + exp(x));
  a[i] = max(sp * ssm_a[j], -88.0);
}

#elif defined(STEP_RULE)
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer U { float u[]; };       // [T][Ch]: q | k | v after conv
layout(std430, binding = 1) readonly buffer B { float beta[]; };    // [T][Hv]
layout(std430, binding = 2) readonly buffer G { float g[]; };       // [T][Hv]
layout(std430, binding = 3) buffer State { float S[]; };            // [Hv][dv][dk]
layout(std430, binding = 4) writeonly buffer O { float o[]; };      // [T][Hv * dv]
layout(push_constant) uniform Params { uint tokens; uint channels; uint hk; uint hv; uint dk; uint dv; } p;
void main() {
  const uint j = gl_WorkGroupID.x, kh = j % p.hk, kd = p.hk * p.dk;
  for (uint c = gl_LocalInvocationID.x; c < p.dv; c += 64u) {
    const uint row = (j * p.dv + c) * p.dk;
    for (uint t = 0u; t < p.tokens; ++t) {
      const uint ub = t * p.channels;
      const uint qb = ub + kh * p.dk, kb = ub + kd + kh * p.dk;
      const float decay = exp(g[t * p.hv + j]);
      float kv = 0.0;
      for (uint i = 0u; i < p.dk; ++i) {
        const float s = S[row + i] * decay;
        S[row + i] = s;
        kv += s * u[kb + i];
      }
      const float delta = beta[t * p.hv + j] * (u[ub + 2u * kd + j * p.dv + c] - kv);
      float acc_o = 0.0;
      for (uint i = 0u; i < p.dk; ++i) {
        const float s = S[row + i] + delta * u[kb + i];
        S[row + i] = s;
        acc_o += s * u[qb + i];
      }
      o[t * p.hv * p.dv + j * p.dv + c] = acc_o;
    }
  }
}

#else
#error "define one STEP_*"
#endif
