#include "planner/hardware.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <tuple>

#include "planner/offload.h"

namespace onprem::planner {

const std::vector<Device>& devices() {
  // name, GB, GB/s, kind, usable fraction, decode efficiency, price USD, power W
  static const std::vector<Device> k = {
      {"RTX 4080", 16, 717, DeviceKind::kGpu, 1.0, 0.75, 1100, 320},
      {"RTX 5080", 16, 960, DeviceKind::kGpu, 1.0, 0.75, 1100, 360},
      {"RTX 4090", 24, 1008, DeviceKind::kGpu, 1.0, 0.75, 1800, 450},
      {"RTX 5090", 32, 1792, DeviceKind::kGpu, 1.0, 0.75, 2000, 575},
      {"RTX 6000 Ada", 48, 960, DeviceKind::kGpu, 1.0, 0.75, 6800, 300},
      {"L40S", 48, 864, DeviceKind::kGpu, 1.0, 0.75, 8000, 350},
      {"RTX PRO 6000", 96, 1792, DeviceKind::kGpu, 1.0, 0.75, 8500, 600},
      {"A100 80GB", 80, 2039, DeviceKind::kGpu, 1.0, 0.75, 15000, 400},
      {"H100 80GB", 80, 3350, DeviceKind::kGpu, 1.0, 0.75, 30000, 700},
      {"H200", 141, 4800, DeviceKind::kGpu, 1.0, 0.75, 35000, 700},
      // macOS lets the GPU wire about 75 % of unified memory by default.
      {"Apple M5 Max 128GB", 128, 610, DeviceKind::kUnified, 0.75, 0.7, 5000, 120},
  };
  return k;
}

namespace {
std::string squash(const std::string& s) {
  std::string out;
  for (char ch : s)
    if (std::isalnum(static_cast<unsigned char>(ch))) out += char(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}
}  // namespace

const Device* find_device(const std::string& name) {
  for (const auto& d : devices())
    if (squash(d.name) == squash(name) || squash(d.name).rfind(squash(name), 0) == 0) return &d;
  return nullptr;
}

Device cpu_device(double memory_gb, double bandwidth_gb_s) {
  char name[64];
  std::snprintf(name, sizeof name, "CPU-only %.0f GB", memory_gb);
  // Leave 4 GB to the operating system; CPU decode reaches ~80 % of the read bandwidth (onprem target).
  const double usable = memory_gb > 8 ? (memory_gb - 4) / memory_gb : 0.5;
  return Device{name, memory_gb, bandwidth_gb_s, DeviceKind::kCpu, usable, 0.8, 2500, 200};
}

Fit fit(const Device& d, const ModelSizing& m, const MemoryOptions& o) {
  Fit f;
  f.model = m.name;
  f.quant = m.quant;
  f.plan = plan_memory(m, o);
  const int64_t usable = int64_t(d.usable_bytes());
  f.headroom_bytes = usable - int64_t(f.plan.total_bytes());
  f.fits = f.headroom_bytes >= 0;
  // Longest context: what is left after everything that does not grow with the context.
  const MemoryPlan base =
      plan_memory(m, MemoryOptions{1, o.parallel, o.kv_type, o.ubatch, o.threads, o.overhead_bytes});
  const int64_t left = usable - int64_t(base.total_bytes());
  const uint64_t per_token = f.plan.kv_bytes_per_token * o.parallel;  // attention scratch does not grow with it
  f.max_ctx = left > 0 ? std::min<uint64_t>(262144, uint64_t(left) / per_token) : 0;
  f.decode_roofline = d.bandwidth_gb_s * 1e9 / double(f.plan.decode_bytes_per_token);
  f.decode_tokens_per_s = f.decode_roofline * d.efficiency;
  return f;
}

namespace {
// "35B-A3B Q4_K_M split with --cpu-moe: 4.1 GB on the GPU, 22.0 GB in host memory, ~52 tokens/s",
// or empty where no split fits either.
std::string split_advice(const Device& d, const char* model, const char* label, const MemoryOptions& o,
                         const HostMemory& host) {
  const auto f = plan_offload(d, *builtin_model(model, model::FileType::kQ4_K_M), o, host);
  if (!f) return "";
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s Q4_K_M split with %s: %.1f GB on the GPU, %.1f GB in host memory, ~%.0f tokens/s",
                label, f->flags().c_str(), double(f->device_bytes) / 1e9, double(f->host_bytes) / 1e9,
                f->decode_tokens_per_s);
  return buf;
}
}  // namespace

DeviceReport device_report(const Device& d, const MemoryOptions& o, const HostMemory& host) {
  DeviceReport r;
  r.device = d;
  const model::FileType presets[] = {model::FileType::kBF16,   model::FileType::kQ8_0,   model::FileType::kQ6_K,
                                     model::FileType::kQ5_K_M, model::FileType::kQ4_K_M, model::FileType::kQ3_K_M};
  const Fit* best27 = nullptr;
  const Fit* best35 = nullptr;
  for (const char* name : {"qwen3.6-27b", "qwen3.6-35b-a3b"})
    for (auto p : presets) r.fits.push_back(fit(d, *builtin_model(name, p), o));
  // Highest precision that fits with 10 % headroom (presets are ordered best first).
  for (const auto& f : r.fits) {
    const bool ok = f.fits && double(f.headroom_bytes) >= 0.1 * double(d.usable_bytes());
    if (!ok) continue;
    if (f.model == "qwen3.6-27b" && !best27) best27 = &f;
    if (f.model == "qwen3.6-35b-a3b" && !best35) best35 = &f;
  }
  char buf[512];
  if (!best27 && !best35) {
    std::snprintf(buf, sizeof buf,
                  "neither model fits at %llu tokens x %llu sequences: shorten the context, lower the concurrency, "
                  "or use a larger device",
                  (unsigned long long)o.ctx, (unsigned long long)o.parallel);
  } else if (best27 && best35) {
    std::snprintf(buf, sizeof buf,
                  "27B %s for precise work, agents and long context (~%.0f tokens/s); 35B-A3B %s for interactive "
                  "sessions (~%.0f tokens/s) below 80K tokens",
                  best27->quant.c_str(), best27->decode_tokens_per_s, best35->quant.c_str(),
                  best35->decode_tokens_per_s);
  } else {
    const Fit* b = best27 ? best27 : best35;
    std::snprintf(buf, sizeof buf, "%s %s (~%.0f tokens/s); the other model does not fit with 10%% headroom",
                  b->model.c_str(), b->quant.c_str(), b->decode_tokens_per_s);
  }
  r.recommendation = buf;
  // What does not fit whole may still run split with the host (--cpu-moe, --gpu-layers).
  for (auto [best, model, label] :
       {std::tuple{best35, "qwen3.6-35b-a3b", "35B-A3B"}, std::tuple{best27, "qwen3.6-27b", "27B"}}) {
    if (best) continue;
    const std::string split = split_advice(d, model, label, o, host);
    if (!split.empty()) r.recommendation += "; " + split;
  }
  return r;
}

}  // namespace onprem::planner
