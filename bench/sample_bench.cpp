// Cost of drawing one token at the real Qwen3 vocabulary size (151,936 logits), with the sampling
// the server uses: the default parameters, a Qwen preset, and greedy. The engine draws one per
// decoding sequence per step, in parallel across the sequences.
#include <benchmark/benchmark.h>

#include <random>

#include "sample/sampler.h"

namespace {

using namespace onprem;

constexpr int64_t kVocab = 151936;

std::vector<float> logits() {
  std::mt19937 rng(1);
  std::normal_distribution<float> n(0.0f, 3.0f);
  std::vector<float> l(kVocab);
  for (auto& x : l) x = n(rng);
  return l;
}

void BM_Draw(benchmark::State& state, sample::SamplingParams p) {
  const std::vector<float> l = logits();
  sample::Sampler s(p);
  for (auto _ : state) benchmark::DoNotOptimize(s.sample(l.data(), kVocab));
  state.SetItemsProcessed(state.iterations());
}

sample::SamplingParams preset(const char* name) { return *sample::preset(name, "qwen3.6-27b"); }
sample::SamplingParams greedy() {
  sample::SamplingParams p;
  p.temperature = 0.0f;
  return p;
}

BENCHMARK_CAPTURE(BM_Draw, defaults, sample::SamplingParams{})->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Draw, thinking_coding, preset("thinking-coding"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Draw, greedy, greedy())->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
