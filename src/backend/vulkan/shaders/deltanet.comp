#version 450
// Gated DeltaNet's per-layer steps (model.md §7), compiled once per step (-DSTEP_...):
//   STEP_CONV   causal depthwise conv over T tokens with the rolling state, then SiLU; one thread
//               per channel, tokens in order.
//   STEP_GATES  beta = sigmoid(b), g = max(softplus(a + dt_bias) * ssm_a, -88); one thread per
//               (token, v head).
//   STEP_RULE   the delta rule, token by token; one workgroup per v head, one thread per value
//               row of the head's state (value-major S[c][i], as the CPU keeps it).
//   STEP_CHUNKED the same rule over a prompt in chunks of 64 tokens (below).
// The conv and the rules work on one sequence's rows, from row0 of the buffers (a batch of
// sequences shares them), with that sequence's state.

#if defined(STEP_CONV)
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer U { float u[]; };       // [T][Ch] projections
layout(std430, binding = 1) readonly buffer W { float w[]; };       // [Ch][K] taps, K-1 = current
layout(std430, binding = 2) buffer State { float st[]; };           // [Ch][K-1], oldest first
layout(std430, binding = 3) writeonly buffer Out { float y[]; };    // [T][Ch]
layout(push_constant) uniform Params { uint tokens; uint channels; uint taps; uint row0; } p;
void main() {
  const uint ch = gl_GlobalInvocationID.x;
  if (ch >= p.channels) return;
  const uint K = p.taps, sb = ch * (K - 1u);
  for (uint t = p.row0; t < p.row0 + p.tokens; ++t) {
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
layout(push_constant) uniform Params { uint tokens; uint channels; uint hk; uint hv; uint dk; uint dv; uint row0; } p;
void main() {
  const uint j = gl_WorkGroupID.x, kh = j % p.hk, kd = p.hk * p.dk;
  for (uint c = gl_LocalInvocationID.x; c < p.dv; c += 64u) {
    const uint row = (j * p.dv + c) * p.dk;
    for (uint t = p.row0; t < p.row0 + p.tokens; ++t) {
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

#elif defined(STEP_CHUNKED)
// The chunked delta rule for a prompt (model.md §7.3), the CPU's deltanet_head_chunked on the
// device: chunks of 64 tokens in matrix form, one workgroup per v head. Within a chunk, with the
// cumulative log-decay gam (restarted each chunk) and every exponent <= 0:
//   B = strictly lower (beta_r (k_r . k_s) e^(gam_r - gam_s)); (I + B) [U | W] = [beta V | beta e^gam K]
//   Vnew = U - W S;  O_r = e^gam_r S q_r + sum_{s<=r} (q_r . k_s) e^(gam_r - gam_s) Vnew_s
//   S <- e^gam_L S + sum_r e^(gam_L - gam_r) Vnew_r k_r^T
// One dispatch per chunk (the host loops over them). Each thread owns columns: of U and W in the
// substitution, of Vnew and rows of S afterwards, so only what is read across columns needs a
// barrier. B, then the q.k weights, sit in shared memory (64 x 64 floats: the 16 KB every Vulkan
// device has); U | W and gam (a last column) in the work buffer.
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer U { float u[]; };       // [T][Ch]: q | k | v after conv
layout(std430, binding = 1) readonly buffer B { float beta[]; };    // [T][Hv]
layout(std430, binding = 2) readonly buffer G { float g[]; };       // [T][Hv]
layout(std430, binding = 3) buffer State { float S[]; };            // [Hv][dv][dk]
layout(std430, binding = 4) writeonly buffer O { float o[]; };      // [T][Hv * dv]
layout(std430, binding = 5) buffer Work { float work[]; };          // [Hv][64][dv + dk + 1]: U (then Vnew) | W | gam
layout(push_constant) uniform Params { uint tokens; uint channels; uint hk; uint hv; uint dk; uint dv; uint row0; uint c0; } p;
const uint C = 64u;
shared float m[C * C];

float ex(float x) { return exp(min(x, 0.0)); }

// Head j's work rows: U | W | gam, work_row() floats each; gam is the last column.
uint work_row() { return p.dv + p.dk + 1u; }
float gam(uint j, uint r) { return work[(j * C + r) * work_row() + work_row() - 1u]; }

void main() {
  const uint j = gl_WorkGroupID.x, kh = j % p.hk, kd = p.hk * p.dk, lid = gl_LocalInvocationID.x;
  const uint wrow = p.dv + p.dk + 1u, wb = j * C * wrow, gcol = p.dv + p.dk;
  // This dispatch's chunk, from token p.c0 of the rows from p.row0; the dispatches' order carries
  // the state across. c0 counts rows of the buffers from here on.
  const uint c0 = p.row0 + p.c0, L = min(C, p.tokens - p.c0);
  if (lid == 0u) {  // gam, each row's last column
    float acc = 0.0;
    for (uint r = 0u; r < L; ++r) {
      acc += g[(c0 + r) * p.hv + j];
      work[wb + r * wrow + gcol] = acc;
    }
  }
  memoryBarrierBuffer();
  barrier();
  for (uint e = lid; e < L * L; e += 64u) {
    const uint r = e / L, s = e % L;
    float v = 0.0;
    if (s < r) {
      const uint kr = (c0 + r) * p.channels + kd + kh * p.dk, ks = (c0 + s) * p.channels + kd + kh * p.dk;
      float d = 0.0;
      for (uint i = 0u; i < p.dk; ++i) d += u[kr + i] * u[ks + i];
      v = beta[(c0 + r) * p.hv + j] * d * ex(gam(j, r) - gam(j, s));
    }
    m[r * C + s] = v;
  }
  barrier();
  // Forward substitution, column by column: U's columns first, then W's.
  for (uint col = lid; col < gcol; col += 64u)
    for (uint r = 0u; r < L; ++r) {
      const uint ub = (c0 + r) * p.channels;
      const float bt = beta[(c0 + r) * p.hv + j];
      float x = col < p.dv ? bt * u[ub + 2u * kd + j * p.dv + col]
                           : bt * ex(gam(j, r)) * u[ub + kd + kh * p.dk + (col - p.dv)];
      for (uint s = 0u; s < r; ++s) x -= m[r * C + s] * work[wb + s * wrow + col];
      work[wb + r * wrow + col] = x;
    }
  memoryBarrierBuffer();
  barrier();
  // Vnew = U - W S, in U's place; then the q.k weights replace B.
  for (uint c = lid; c < p.dv; c += 64u) {
    const uint srow = (j * p.dv + c) * p.dk;
    for (uint r = 0u; r < L; ++r) {
      float d = 0.0;
      for (uint i = 0u; i < p.dk; ++i) d += S[srow + i] * work[wb + r * wrow + p.dv + i];
      work[wb + r * wrow + c] -= d;
    }
  }
  for (uint e = lid; e < L * L; e += 64u) {
    const uint r = e / L, s = e % L;
    float v = 0.0;
    if (s <= r) {
      const uint qr = (c0 + r) * p.channels + kh * p.dk, ks = (c0 + s) * p.channels + kd + kh * p.dk;
      float d = 0.0;
      for (uint i = 0u; i < p.dk; ++i) d += u[qr + i] * u[ks + i];
      v = d * ex(gam(j, r) - gam(j, s));
    }
    m[r * C + s] = v;
  }
  memoryBarrierBuffer();
  barrier();
  // The outputs from the state before this chunk, then the state after it: row c is this thread's.
  const float gl = gam(j, L - 1u), el = ex(gl);
  for (uint c = lid; c < p.dv; c += 64u) {
    const uint srow = (j * p.dv + c) * p.dk;
    for (uint r = 0u; r < L; ++r) {
      const uint qb = (c0 + r) * p.channels + kh * p.dk;
      float d = 0.0;
      for (uint i = 0u; i < p.dk; ++i) d += S[srow + i] * u[qb + i];
      float y = ex(gam(j, r)) * d;
      for (uint s = 0u; s <= r; ++s) y += m[r * C + s] * work[wb + s * wrow + c];
      o[(c0 + r) * p.hv * p.dv + j * p.dv + c] = y;
    }
    for (uint i = 0u; i < p.dk; ++i) {
      float x = S[srow + i] * el;
      for (uint r = 0u; r < L; ++r)
        x += ex(gl - gam(j, r)) * work[wb + r * wrow + c] * u[(c0 + r) * p.channels + kd + kh * p.dk + i];
      S[srow + i] = x;
    }
  }
}

#else
#error "define one STEP_*"
#endif
