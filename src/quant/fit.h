// Weighted least-squares fits of one group of values onto a scaled set of levels: the step every
// quantiser below 8 bits shares. Each fit tries a fan of candidate scales, rounds every value to
// its nearest level under each, solves for the best scale (and offset) of those codes, and keeps
// the least weighted squared error Σ w (x - x̂)². w may be null (all weights 1); a group whose
// weights are all zero is fitted as if they were 1. Weights are an importance matrix's mean
// squared activations: then the error is what the matrix product would lose on average.
#pragma once

#include <cstdint>

namespace onprem::quant {

// x ≈ s·q with integer q in [-nmax, nmax - 1]; returns s (0 for an all-zero group).
float fit_signed(const float* x, const float* w, int n, int nmax, int8_t* q);

// x ≈ s·q + b with integer q in [0, nmax] and s ≥ 0; with b_le_zero, b ≤ 0 (K-quants store −b
// as an unsigned minimum). Returns s, writes b.
float fit_affine(const float* x, const float* w, int n, int nmax, bool b_le_zero, float* b, uint8_t* q);

// x ≈ s·levels[q] for a 16-entry codebook (IQ4_NL's, MXFP4's); s may be negative. Returns s.
float fit_levels(const float* x, const float* w, int n, const int8_t* levels, uint8_t* q);

// The index of the level nearest v.
uint8_t nearest_level(const int8_t* levels, float v);

// Σ w (x - s·levels[q])², with the same all-zero rule for w.
float levels_error(const float* x, const float* w, int n, const int8_t* levels, const uint8_t* q, float s);

}  // namespace onprem::quant
