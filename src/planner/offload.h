// Partial offload (docs/gpu.md): a model that does not fit a GPU whole runs split with the host,
// as `--device vulkan:N` with `--cpu-moe` and/or `--gpu-layers N` does. Which split fits, what
// each memory holds, and a decode estimate: each token reads the device's share at the device's
// rate and the host's share (the routed experts a token picks, or the layers left behind, and
// the head) at the host's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "planner/hardware.h"

namespace onprem::planner {

struct Offload {
  bool cpu_moe = false;  // the routed experts in host memory
  int gpu_layers = 0, n_layers = 0;
  uint64_t device_bytes = 0, host_bytes = 0;  // what each memory holds
  double decode_tokens_per_s = 0;
  std::string flags() const;  // "--cpu-moe", "--gpu-layers 40", or both
};

// The split to use on a GPU that cannot hold the model whole, leaving 10 % of it free: for a MoE
// model, the experts in host memory first (a token reads only n_expert_used of them), then as
// few layers as must leave; for a dense model, the most layers that fit. Nothing for a model that
// fits whole, a device that is not a discrete GPU, or a split that the host cannot hold either.
std::optional<Offload> plan_offload(const Device& d, const ModelSizing& m, const MemoryOptions& o,
                                    const HostMemory& host = {});

}  // namespace onprem::planner
