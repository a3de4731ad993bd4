// Token sampling: pure functions over a logit row plus a Sampler that carries the per-request
// state (RNG, counts of generated tokens). Order of operations (stated because engines differ):
// logit bias -> penalties -> temperature -> top-k -> softmax -> top-p -> min-p -> draw, i.e. the
// Hugging Face / vLLM order (temperature before truncation), not llama.cpp's default chain.
// Penalties count the tokens this request generated (not the prompt), as vLLM does:
// presence subtracts once per distinct token, frequency once per occurrence, repetition divides
// positive logits and multiplies negative ones (1.0 = off).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace onprem::sample {

struct SamplingParams {
  float temperature = 0.8f;  // <= 0: greedy (argmax, lowest id on ties)
  int32_t top_k = 40;        // <= 0: all tokens
  float top_p = 0.95f;       // >= 1: off
  float min_p = 0.0f;        // <= 0: off; keeps tokens with p >= min_p * p_max
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  float repetition_penalty = 1.0f;
  std::vector<std::pair<int32_t, float>> logit_bias;  // added to the logit of each id
  uint64_t seed = 0;
};

using Rng = std::mt19937_64;

int32_t argmax(const float* logits, int64_t n);

// In place: bias, then the three penalties for the generated-token counts given.
void apply_bias_and_penalties(float* logits, int64_t n, const SamplingParams& p,
                              const std::unordered_map<int32_t, int>& counts);

// The probability of every token after temperature, top-k, top-p and min-p (zero for the cut
// ones); what sample_token draws from. For tests and for logprobs.
std::vector<float> target_distribution(const float* logits, int64_t n, const SamplingParams& p);

// Draws one token id from logits that already carry bias and penalties.
int32_t sample_token(const float* logits, int64_t n, const SamplingParams& p, Rng& rng,
                     std::vector<std::pair<float, int32_t>>& scratch);

// A request's sampler: owns its RNG (seeded) and the counts the penalties need.
class Sampler {
 public:
  explicit Sampler(SamplingParams p) : p_(std::move(p)), rng_(p_.seed) {}
  // Applies bias and penalties to a copy of the logits, then draws.
  int32_t sample(const float* logits, int64_t n);
  void accept(int32_t id) { ++counts_[id]; }
  const SamplingParams& params() const { return p_; }

 private:
  SamplingParams p_;
  Rng rng_;
  std::unordered_map<int32_t, int> counts_;
  std::vector<float> work_;
  std::vector<std::pair<float, int32_t>> scratch_;
};

// chat.md §5 presets. Names: "thinking-general", "thinking-coding", "instruct" (alias
// "non-thinking"); model: "qwen3.6-27b" or "qwen3.6-35b-a3b" (thinking-general differs:
// presence 0.0 for 27B, 1.5 for 35B-A3B).
core::Expected<SamplingParams> preset(std::string_view name, std::string_view model);

// Values a request sets explicitly; they override the preset.
struct SamplingOverrides {
  std::optional<float> temperature, top_p, min_p, presence_penalty, frequency_penalty, repetition_penalty;
  std::optional<int32_t> top_k;
  std::optional<uint64_t> seed;
  std::vector<std::pair<int32_t, float>> logit_bias;
};
SamplingParams apply_overrides(SamplingParams base, const SamplingOverrides& o);

}  // namespace onprem::sample
