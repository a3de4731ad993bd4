// `onprem bench`: prompt processing and generation speed like llama-bench, with the bytes a
// decoded token reads and the share of this machine's read bandwidth (measured in the same run).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "model/weights.h"

namespace onprem::engine {

struct BenchOptions {
  int64_t n_prompt = 512, n_gen = 128;
  int threads = 2, reps = 3;
  int64_t ubatch = 512;
};

struct BenchResult {
  double pp_tokens_per_s = 0, tg_tokens_per_s = 0;  // medians
  double pp_gflops = 0;             // 2 x multiply-adds per prompt token (head once per ubatch) x tokens / s
  uint64_t tg_bytes_per_token = 0;  // weights + KV at the mean context + state r/w
  double tg_gb_per_s = 0, machine_read_gb_per_s = 0, tg_bandwidth_fraction = 0;
  uint64_t weight_bytes_per_token = 0, macs_per_token = 0;
  double tg_dispatches_per_token = 0;  // thread-pool dispatches per decoded token
};

core::Expected<BenchResult> run_bench(const model::Model& m, const BenchOptions& o);

}  // namespace onprem::engine
