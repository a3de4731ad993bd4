#version 450
// Mixture-of-experts routing and combination (model.md §8), compiled once per step (-DSTEP_...):
//   STEP_ROUTE    softmax over the router's logits, the top k (ties: the lower expert id), their
//                 probabilities renormalised; one thread per token.
//   STEP_COMBINE  out[t] = sum over its k slots of weight * the expert's output row; one thread
//                 per value.
//   STEP_SHARED   out[t] += sigmoid(gate logit of t) * shared expert's row; one thread per value.

layout(local_size_x = 64) in;

#if defined(STEP_ROUTE)
layout(std430, binding = 0) readonly buffer L { float logits[]; };  // [T][E]
layout(std430, binding = 1) writeonly buffer I { uint ids[]; };     // [T][k]
layout(std430, binding = 2) writeonly buffer W { float wts[]; };    // [T][k]
layout(push_constant) uniform Params { uint tokens; uint experts; uint k; } p;
void main() {
  const uint t = gl_GlobalInvocationID.x;
  if (t >= p.tokens) return;
  const uint lb = t * p.experts;
  float mx = logits[lb];
  for (uint e = 1u; e < p.experts; ++e) mx = max(mx, logits[lb + e]);
  float sum = 0.0;
  for (uint e = 0u; e < p.experts; ++e) sum += exp(logits[lb + e] - mx);
  // Selection by repeated scans: the slot's best is the largest probability below the previous
  // pick (or equal to it at a higher id), which keeps the order without a second buffer.
  float prev = 3.402823466e38;
  uint prev_id = 0xFFFFFFFFu;
  float picked = 0.0;
  for (uint s = 0u; s < p.k; ++s) {
    uint best = 0xFFFFFFFFu;
    float bv = -3.402823466e38;
    for (uint e = 0u; e < p.experts; ++e) {
      const float v = logits[lb + e];
      const bool after_prev = v < prev || (v == prev && (prev_id == 0xFFFFFFFFu || e > prev_id));
      if (after_prev && (best == 0xFFFFFFFFu || v > bv)) best = e, bv = v;
    }
    const float prob = exp(bv - mx) / sum;
    ids[t * p.k + s] = best;
    wts[t * p.k + s] = prob;
    picked += prob;
    prev = bv;
    prev_id = best;
  }
  const float norm = max(picked, 6.103515625e-5);
  for (uint s = 0u; s < p.k; ++s) wts[t * p.k + s] /= norm;
}

#elif defined(STEP_COMBINE)
layout(std430, binding = 0) readonly buffer Y { float ys[]; };      // [T*k][N]
layout(std430, binding = 1) readonly buffer W { float wts[]; };     // [T][k]
layout(std430, binding = 2) writeonly buffer O { float o[]; };      // [T][N]
layout(push_constant) uniform Params { uint tokens; uint n; uint k; } p;
void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= p.tokens * p.n) return;
  const uint t = i / p.n, c = i % p.n;
  float acc = 0.0;
  for (uint s = 0u; s < p.k; ++s) acc += wts[t * p.k + s] * ys[(t * p.k + s) * p.n + c];
  o[i] = acc;
}

#elif defined(STEP_SHARED)
layout(std430, binding = 0) readonly buffer Sh { float sh[]; };     // [T][N]
layout(std430, binding = 1) readonly buffer G { float gl[]; };      // [T]
layout(std430, binding = 2) buffer O { float o[]; };                // [T][N]
layout(push_constant) uniform Params { uint tokens; uint n; uint k; } p;
void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= p.tokens * p.n) return;
  o[i] += sh[i] / (1.0 + exp(-gl[i / p.n]));
}

#else
#error "define one STEP_*"
#endif
