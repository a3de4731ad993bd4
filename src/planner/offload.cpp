#include "planner/offload.h"

#include <algorithm>

namespace onprem::planner {

std::string Offload::flags() const {
  std::string s = cpu_moe ? "--cpu-moe" : "";
  if (gpu_layers < n_layers) s += std::string(s.empty() ? "" : " ") + "--gpu-layers " + std::to_string(gpu_layers);
  return s;
}

namespace {

// The model in per-layer shares (spread evenly: one layer in four is attention, so the first N
// layers hold N/4 of the KV cache to within one layer), as onprem places them: the embedding
// table always in host memory, the head on the device only when every layer is.
struct Shares {
  int layers = 0;
  double layer = 0, experts = 0, state = 0;           // bytes held per layer: weights less experts, experts, KV + state
  double read = 0, experts_read = 0, state_read = 0;  // bytes read per token per layer, the same three
  double head = 0, embd = 0, compute = 0;
};

Shares shares(const ModelSizing& m, const MemoryOptions& o) {
  const MemoryPlan p = plan_memory(m, o);
  const model::ModelConfig& c = m.config;
  Shares s;
  s.layers = int(c.n_main());
  const double L = std::max(1, s.layers);
  const double routed = c.is_moe() && c.n_expert ? double(c.n_expert_used) / double(c.n_expert) : 1;
  s.layer = double(m.weights_bytes - m.embd_bytes - m.head_bytes - m.expert_bytes) / L;
  s.experts = double(m.expert_bytes) / L;
  s.state = double(p.kv_cache_bytes + p.state_bytes) / L;
  s.read = s.layer;
  s.experts_read = s.experts * routed;
  s.state_read = double(p.decode_bytes_per_token - weight_bytes_per_token(m)) / L;
  s.head = double(m.head_bytes);
  s.embd = double(m.embd_bytes);
  s.compute = double(p.compute_bytes + p.overhead_bytes);
  return s;
}

Offload split(const Shares& s, const Device& d, const HostMemory& h, int n, bool cpu_moe) {
  Offload f;
  f.cpu_moe = cpu_moe, f.gpu_layers = n, f.n_layers = s.layers;
  const bool head_here = n == s.layers;
  const double left = s.layers - n;
  f.device_bytes = uint64_t(n * (s.layer + (cpu_moe ? 0 : s.experts) + s.state) + (head_here ? s.head : 0) + s.compute);
  f.host_bytes = uint64_t(s.embd + left * (s.layer + s.experts + s.state) + (cpu_moe ? n * s.experts : 0) +
                          (head_here ? 0 : s.head) + s.compute);
  const double dev_read = n * (s.read + (cpu_moe ? 0 : s.experts_read) + s.state_read) + (head_here ? s.head : 0);
  const double host_read =
      left * (s.read + s.experts_read + s.state_read) + (cpu_moe ? n * s.experts_read : 0) + (head_here ? 0 : s.head);
  const double seconds =
      dev_read / (d.bandwidth_gb_s * 1e9 * d.efficiency) + host_read / (h.bandwidth_gb_s * 1e9 * h.efficiency);
  f.decode_tokens_per_s = seconds > 0 ? 1 / seconds : 0;
  return f;
}

}  // namespace

std::optional<Offload> plan_offload(const Device& d, const ModelSizing& m, const MemoryOptions& o,
                                    const HostMemory& host) {
  if (d.kind != DeviceKind::kGpu) return std::nullopt;
  if (plan_memory(m, o).total_bytes() <= d.usable_bytes()) return std::nullopt;  // fits whole: faster whole
  const double limit = 0.9 * double(d.usable_bytes());
  const Shares s = shares(m, o);
  std::optional<Offload> best;
  for (const bool cpu_moe : {false, true}) {
    if (cpu_moe && !m.config.is_moe()) continue;
    for (int n = s.layers; n >= 1; --n) {  // the most layers that fit
      const Offload f = split(s, d, host, n, cpu_moe);
      if (double(f.device_bytes) > limit) continue;
      if (f.host_bytes <= host.usable_bytes() && (!best || f.decode_tokens_per_s > best->decode_tokens_per_s)) best = f;
      break;
    }
  }
  return best;
}

}  // namespace onprem::planner
