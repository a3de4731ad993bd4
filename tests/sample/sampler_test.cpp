// Statistical and exact checks of the sampler.
#include <cmath>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "sample/sampler.h"

namespace onprem::sample {
namespace {

const std::vector<float> kLogits = {2.0f, 1.5f, 1.0f, 0.5f, 0.0f, -0.5f, -1.0f, 1.2f, 0.8f, -2.0f};

// Pearson chi-square of observed counts against expected probabilities (cells with p > 0).
double chi_square(const std::vector<int>& counts, const std::vector<double>& p, int draws, int* dof) {
  double chi = 0;
  *dof = -1;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0) {
      EXPECT_EQ(counts[i], 0) << "token " << i << " has probability 0 but was drawn";
      continue;
    }
    const double e = p[i] * draws;
    chi += (counts[i] - e) * (counts[i] - e) / e;
    ++*dof;
  }
  return chi;
}

// Critical values of chi-square at p = 0.001 (tables): a correct sampler fails 1 run in 1000.
double critical_001(int dof) {
  static const double t[] = {0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88, 29.59};
  return t[dof];
}

// The target distribution computed independently: softmax(l / T), keep the k largest, the
// nucleus up to top_p, then those with p >= min_p * p_max, renormalised.
std::vector<double> reference(const std::vector<float>& l, float T, int k, float top_p, float min_p) {
  std::vector<std::pair<double, int>> v;
  double mx = -1e30;
  for (float x : l) mx = std::max(mx, double(x) / T);
  for (size_t i = 0; i < l.size(); ++i) v.push_back({std::exp(double(l[i]) / T - mx), int(i)});
  std::sort(v.begin(), v.end(), [](auto a, auto b) { return a.first > b.first; });
  size_t keep = k > 0 ? size_t(k) : v.size();
  double s = 0;
  for (size_t i = 0; i < keep; ++i) s += v[i].first;
  for (size_t i = 0; i < keep; ++i) v[i].first /= s;
  double acc = 0;
  for (size_t i = 0; i < keep; ++i)
    if ((acc += v[i].first) >= top_p) {
      keep = i + 1;
      break;
    }
  size_t m = 1;
  while (m < keep && v[m].first >= min_p * v[0].first) ++m;
  keep = m;
  std::vector<double> p(l.size(), 0);
  s = 0;
  for (size_t i = 0; i < keep; ++i) s += v[i].first;
  for (size_t i = 0; i < keep; ++i) p[size_t(v[i].second)] = v[i].first / s;
  return p;
}

TEST(Sampler, EmpiricalFrequenciesMatchTheTarget) {
  struct Setting {
    float T;
    int k;
    float top_p, min_p;
  };
  for (const Setting s : {Setting{1.0f, 0, 1.0f, 0.0f}, Setting{0.5f, 0, 1.0f, 0.0f}, Setting{1.0f, 5, 1.0f, 0.0f},
                          Setting{0.7f, 0, 0.8f, 0.0f}, Setting{1.0f, 0, 1.0f, 0.3f}, Setting{1.3f, 6, 0.9f, 0.05f}}) {
    SamplingParams p;
    p.temperature = s.T, p.top_k = s.k, p.top_p = s.top_p, p.min_p = s.min_p, p.seed = 42;
    const auto want = reference(kLogits, s.T, s.k, s.top_p, s.min_p);
    const auto dist = target_distribution(kLogits.data(), int64_t(kLogits.size()), p);
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(dist[i], want[i], 1e-6);
    Sampler sampler(p);
    const int draws = 20000;
    std::vector<int> counts(kLogits.size(), 0);
    for (int d = 0; d < draws; ++d) counts[size_t(sampler.sample(kLogits.data(), int64_t(kLogits.size())))]++;
    int dof = 0;
    const double chi = chi_square(counts, want, draws, &dof);
    if (dof > 0) {
      EXPECT_LT(chi, critical_001(dof)) << "T=" << s.T << " k=" << s.k << " top_p=" << s.top_p;
    }
  }
}

// A vocabulary-sized row with many ties (values on a 0.25 grid): the kept set is the k best by
// (logit, then lower id), and the probabilities are the reference's.
TEST(Sampler, TopKOnALargeVocabularyWithTies) {
  std::mt19937 rng(3);
  std::vector<float> l(20000);
  for (auto& x : l) x = float(int(rng() % 64)) * 0.25f - 8.0f;
  for (const int k : {1, 20, 40, 1000}) {
    SamplingParams p;
    p.temperature = 0.7f, p.top_k = k, p.top_p = 1.0f, p.min_p = 0.0f;
    const std::vector<float> got = target_distribution(l.data(), int64_t(l.size()), p);
    // The k best by value, ties to the lower id, found by sorting everything.
    std::vector<int> ids(l.size());
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = int(i);
    std::stable_sort(ids.begin(), ids.end(), [&](int a, int b) { return l[size_t(a)] > l[size_t(b)]; });
    std::set<int> want(ids.begin(), ids.begin() + k);
    double total = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i] > 0, want.count(int(i)) == 1) << "token " << i << ", k " << k;
      total += got[i];
    }
    EXPECT_NEAR(total, 1.0, 1e-5);
    // Within the kept set, softmax of l / T.
    double z = 0;
    for (int id : want) z += std::exp((double(l[size_t(id)]) - l[size_t(ids[0])]) / 0.7);
    for (int id : want) {
      const double ref = std::exp((double(l[size_t(id)]) - l[size_t(ids[0])]) / 0.7) / z;
      EXPECT_NEAR(got[size_t(id)], ref, 1e-6) << "token " << id;
    }
  }
}

TEST(Sampler, TopKNeverLeavesTheTopK) {
  SamplingParams p;
  p.temperature = 5.0f, p.top_k = 3, p.top_p = 1.0f, p.seed = 1;  // flat: every token would be likely
  Sampler s(p);
  const std::set<int32_t> top3 = {0, 1, 7};
  for (int d = 0; d < 10000; ++d) EXPECT_TRUE(top3.count(s.sample(kLogits.data(), int64_t(kLogits.size()))));
}

TEST(Sampler, PenaltiesChangeExactlyTheirTokens) {
  SamplingParams p;
  p.presence_penalty = 0.5f, p.frequency_penalty = 0.25f, p.repetition_penalty = 2.0f;
  p.logit_bias = {{9, 3.0f}};
  std::vector<float> l = kLogits;
  const std::unordered_map<int32_t, int> counts = {{0, 3}, {5, 1}};  // token 0 three times, token 5 once
  apply_bias_and_penalties(l.data(), int64_t(l.size()), p, counts);
  for (size_t i = 0; i < l.size(); ++i) {
    if (i == 0)
      EXPECT_FLOAT_EQ(l[i], 2.0f / 2.0f - 0.5f - 0.75f);  // positive: divided, then presence + 3 x frequency
    else if (i == 5)
      EXPECT_FLOAT_EQ(l[i], -0.5f * 2.0f - 0.5f - 0.25f);  // negative: multiplied
    else if (i == 9)
      EXPECT_FLOAT_EQ(l[i], -2.0f + 3.0f);  // bias only
    else
      EXPECT_EQ(l[i], kLogits[i]) << i;  // untouched
  }
}

TEST(Sampler, SameSeedSameOutput) {
  SamplingParams p;
  p.temperature = 1.0f, p.top_k = 0, p.top_p = 1.0f, p.seed = 123;
  std::vector<int32_t> a, b, c;
  Sampler s1(p), s2(p);
  p.seed = 124;
  Sampler s3(p);
  for (int i = 0; i < 200; ++i) {
    a.push_back(s1.sample(kLogits.data(), 10));
    b.push_back(s2.sample(kLogits.data(), 10));
    c.push_back(s3.sample(kLogits.data(), 10));
  }
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  p.temperature = 0;
  Sampler g(p);
  EXPECT_EQ(g.sample(kLogits.data(), 10), 0);  // greedy
}

TEST(Sampler, PresetsAndOverrides) {
  auto moe = *preset("thinking-general", "qwen3.6-35b-a3b");
  auto dense = *preset("thinking-general", "qwen3.6-27b");
  EXPECT_EQ(moe.presence_penalty, 1.5f);
  EXPECT_EQ(dense.presence_penalty, 0.0f);
  EXPECT_EQ(moe.temperature, 1.0f);
  EXPECT_EQ(moe.top_k, 20);
  auto inst = *preset("instruct", "qwen3.6-27b");
  EXPECT_EQ(inst.top_p, 0.8f);
  EXPECT_EQ(inst.temperature, 0.7f);
  EXPECT_FALSE(preset("creative", "qwen3.6-27b").ok());
  SamplingOverrides o;
  o.temperature = 0.2f;
  const auto merged = apply_overrides(moe, o);
  EXPECT_EQ(merged.temperature, 0.2f);
  EXPECT_EQ(merged.presence_penalty, 1.5f);  // not overridden: the preset's
}

}  // namespace
}  // namespace onprem::sample
