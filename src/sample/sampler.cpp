#include "sample/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace onprem::sample {

int32_t argmax(const float* logits, int64_t n) {
  // The largest value first, over 8 independent running maxima (one chain would wait on each
  // comparison: ~4 cycles a token at 151K tokens), then its first position. NaN never wins.
  float m[8];
  for (float& x : m) x = -std::numeric_limits<float>::infinity();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) m[j] = logits[i + j] > m[j] ? logits[i + j] : m[j];
  for (; i < n; ++i) m[0] = logits[i] > m[0] ? logits[i] : m[0];
  float best = m[0];
  for (int j = 1; j < 8; ++j) best = m[j] > best ? m[j] : best;
  for (i = 0; i < n; ++i)
    if (logits[i] == best) return int32_t(i);
  return 0;  // every logit NaN
}

void apply_bias_and_penalties(float* logits, int64_t n, const SamplingParams& p,
                              const std::unordered_map<int32_t, int>& counts) {
  for (const auto& [id, b] : p.logit_bias)
    if (id >= 0 && id < n) logits[id] += b;
  for (const auto& [id, c] : counts) {
    if (id < 0 || id >= n || c <= 0) continue;
    float& l = logits[id];
    if (p.repetition_penalty != 1.0f) l = l > 0 ? l / p.repetition_penalty : l * p.repetition_penalty;
    l -= p.presence_penalty + p.frequency_penalty * float(c);
  }
}

namespace {

// Fills cand with (probability, id) of the tokens that survive, largest first; returns their count.
size_t candidates(const float* logits, int64_t n, const SamplingParams& p,
                  std::vector<std::pair<float, int32_t>>& cand) {
  const float inv_t = 1.0f / p.temperature;
  // Better: the larger scaled logit, then the lower id (a total order, so the top k is one set).
  auto by_value = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  size_t keep = size_t(n);
  if (p.top_k > 0 && size_t(p.top_k) < keep) {
    // The k best in one pass over the logits: a heap of k whose top is the worst kept, so almost
    // every token costs one comparison, and nothing of vocabulary size is written.
    keep = size_t(p.top_k);
    cand.clear();
    float worst = -std::numeric_limits<float>::infinity();  // the worst kept value, once k are kept
    for (int64_t i = 0; i < n; ++i) {
      const float v = logits[i] * inv_t;
      if (v < worst) continue;  // cannot enter: the one comparison most tokens cost
      const std::pair<float, int32_t> c = {v, int32_t(i)};
      if (cand.size() < keep) {
        cand.push_back(c);
        std::push_heap(cand.begin(), cand.end(), by_value);
      } else if (by_value(c, cand.front())) {
        std::pop_heap(cand.begin(), cand.end(), by_value);
        cand.back() = c;
        std::push_heap(cand.begin(), cand.end(), by_value);
      } else {
        continue;
      }
      if (cand.size() == keep) worst = cand.front().first;
    }
    std::sort(cand.begin(), cand.end(), by_value);
  } else {
    cand.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) cand[size_t(i)] = {logits[i] * inv_t, int32_t(i)};
    std::sort(cand.begin(), cand.end(), by_value);
  }
  const float top = cand[0].first;
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) sum += cand[i].first = std::exp(cand[i].first - top);
  for (size_t i = 0; i < keep; ++i) cand[i].first = float(cand[i].first / sum);
  if (p.top_p < 1.0f) {
    double acc = 0;
    for (size_t i = 0; i < keep; ++i) {
      acc += cand[i].first;
      if (acc >= p.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (p.min_p > 0.0f) {
    const float floor = p.min_p * cand[0].first;
    size_t k = 1;
    while (k < keep && cand[k].first >= floor) ++k;
    keep = k;
  }
  double s = 0;
  for (size_t i = 0; i < keep; ++i) s += cand[i].first;
  for (size_t i = 0; i < keep; ++i) cand[i].first = float(cand[i].first / s);
  return keep;
}

}  // namespace

std::vector<float> target_distribution(const float* logits, int64_t n, const SamplingParams& p) {
  std::vector<float> out(static_cast<size_t>(n), 0.0f);
  if (p.temperature <= 0.0f) {
    out[size_t(argmax(logits, n))] = 1.0f;
    return out;
  }
  std::vector<std::pair<float, int32_t>> cand;
  const size_t keep = candidates(logits, n, p, cand);
  for (size_t i = 0; i < keep; ++i) out[size_t(cand[i].second)] = cand[i].first;
  return out;
}

int32_t sample_token(const float* logits, int64_t n, const SamplingParams& p, Rng& rng,
                     std::vector<std::pair<float, int32_t>>& cand) {
  if (p.temperature <= 0.0f || n == 1) return argmax(logits, n);
  const size_t keep = candidates(logits, n, p, cand);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  double r = u(rng);
  for (size_t i = 0; i < keep; ++i) {
    r -= cand[i].first;
    if (r <= 0) return cand[i].second;
  }
  return cand[keep - 1].second;
}

int32_t Sampler::sample(const float* logits, int64_t n) {
  // Bias and penalties change a copy; without them the logits are read as they are.
  const bool penalties = p_.presence_penalty != 0.0f || p_.frequency_penalty != 0.0f || p_.repetition_penalty != 1.0f;
  if (p_.logit_bias.empty() && (!penalties || counts_.empty())) return sample_token(logits, n, p_, rng_, scratch_);
  work_.assign(logits, logits + n);
  apply_bias_and_penalties(work_.data(), n, p_, counts_);
  return sample_token(work_.data(), n, p_, rng_, scratch_);
}

core::Expected<SamplingParams> preset(std::string_view name, std::string_view model) {
  const bool moe = model == "qwen3.6-35b-a3b";
  if (!moe && model != "qwen3.6-27b")
    return core::make_error(core::ErrorCode::kInvalidArgument, "no presets for model '" + std::string(model) + "'");
  SamplingParams p;
  p.min_p = 0.0f, p.repetition_penalty = 1.0f, p.top_k = 20;
  if (name == "thinking-general") {
    p.temperature = 1.0f, p.top_p = 0.95f, p.presence_penalty = moe ? 1.5f : 0.0f;
  } else if (name == "thinking-coding") {
    p.temperature = 0.6f, p.top_p = 0.95f, p.presence_penalty = 0.0f;
  } else if (name == "instruct" || name == "non-thinking") {
    p.temperature = 0.7f, p.top_p = 0.80f, p.presence_penalty = 1.5f;
  } else {
    return core::make_error(core::ErrorCode::kInvalidArgument, "unknown sampling preset '" + std::string(name) +
                                                                   "' (thinking-general, thinking-coding, instruct)");
  }
  return p;
}

SamplingParams apply_overrides(SamplingParams b, const SamplingOverrides& o) {
  if (o.temperature) b.temperature = *o.temperature;
  if (o.top_p) b.top_p = *o.top_p;
  if (o.min_p) b.min_p = *o.min_p;
  if (o.top_k) b.top_k = *o.top_k;
  if (o.presence_penalty) b.presence_penalty = *o.presence_penalty;
  if (o.frequency_penalty) b.frequency_penalty = *o.frequency_penalty;
  if (o.repetition_penalty) b.repetition_penalty = *o.repetition_penalty;
  if (o.seed) b.seed = *o.seed;
  if (!o.logit_bias.empty()) b.logit_bias = o.logit_bias;
  return b;
}

}  // namespace onprem::sample
