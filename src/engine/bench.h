// `onprem bench`: prompt processing and generation speed like llama-bench, with the bytes a
// decoded token reads and the share of this machine's read bandwidth (measured in the same run).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/forward_vulkan.h"
#include "model/weights.h"

namespace onprem::engine {

struct BenchOptions {
  int64_t n_prompt = 512, n_gen = 128;
  int threads = 2, reps = 3;
  int64_t ubatch = 512;
  int vulkan_device = -1;  // >= 0: run on that Vulkan device (--device vulkan:N) instead of the CPU
  // With it: the partial offload and KV cache options (its device, token and context sizes and
  // threads are the bench's own).
  model::VulkanOptions gpu;
};

struct BenchResult {
  double pp_tokens_per_s = 0, tg_tokens_per_s = 0;  // medians
  double pp_gflops = 0;             // 2 x multiply-adds per prompt token (head once per ubatch) x tokens / s
  uint64_t tg_bytes_per_token = 0;  // weights + KV at the mean context + state r/w
  double tg_gb_per_s = 0, machine_read_gb_per_s = 0, tg_bandwidth_fraction = 0;
  uint64_t weight_bytes_per_token = 0, macs_per_token = 0;
  double tg_dispatches_per_token = 0;  // thread-pool dispatches per decoded token
  // On a Vulkan device: its name, and machine_read_gb_per_s is the device's copy-kernel read rate.
  std::string device;
};

core::Expected<BenchResult> run_bench(const model::Model& m, const BenchOptions& o);

// The same measurement on a Vulkan device (bench_vulkan.cpp); an error where the build has none.
core::Expected<BenchResult> run_bench_vulkan(const model::Model& m, const BenchOptions& o);

// What a decoded token reads (weights, the KV cache at its mean length over the run, the DeltaNet
// state read and written), and the prefill multiply-adds per prompt token (the output head once
// per ubatch): one accounting for the CPU and the GPU.
// The prompt both benches evaluate: n ids spread over the vocabulary (at least one).
std::vector<int32_t> bench_prompt(const model::Model& m, int64_t n);

// The median of the repetitions (the upper one of an even count).
double bench_median(std::vector<double> v);

// The KV cache's bytes per value: kv_num / kv_den (F32 4/1, the CPU's; F16 2/1; Q8_0 34/32).
void fill_per_token_costs(const model::Model& m, const BenchOptions& o, int64_t ubatch, BenchResult& r,
                          uint64_t kv_num = 4, uint64_t kv_den = 1);

}  // namespace onprem::engine
