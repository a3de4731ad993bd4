// Devices people run these models on, which model x quantisation x context fits each, with what
// headroom, and a decode-speed estimate from memory bandwidth and bytes read per token.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "planner/memory_plan.h"

namespace onprem::planner {

enum class DeviceKind { kGpu, kUnified, kCpu };

struct Device {
  std::string name;
  double memory_gb = 0;       // total
  double bandwidth_gb_s = 0;  // peak memory read bandwidth (vendor figure)
  DeviceKind kind = DeviceKind::kGpu;
  double usable_fraction = 1.0;       // unified memory: what the OS lets the GPU use; CPU: what is left for us
  double efficiency = 0.75;           // achieved / peak bandwidth in decode (assumption, see docs/planner.md)
  double price_usd = 0, power_w = 0;  // for TCO defaults
  uint64_t usable_bytes() const { return uint64_t(memory_gb * usable_fraction * 1e9); }
};

// The built-in table (vendor spec-sheet figures; Apple M5 Max and prices are assumptions).
const std::vector<Device>& devices();
const Device* find_device(const std::string& name);  // case-insensitive, spaces or dashes
Device cpu_device(double memory_gb, double bandwidth_gb_s);

struct Fit {
  std::string model, quant;
  MemoryPlan plan;
  bool fits = false;
  int64_t headroom_bytes = 0;      // usable - total (negative: short by)
  uint64_t max_ctx = 0;            // longest context per sequence that fits (capped at 262,144)
  double decode_tokens_per_s = 0;  // per sequence at the requested context
  double decode_roofline = 0;      // at 100 % of the bandwidth
};

Fit fit(const Device& d, const ModelSizing& m, const MemoryOptions& o);

// Every built-in model x preset on one device, and the line of advice we give for it.
struct DeviceReport {
  Device device;
  std::vector<Fit> fits;
  std::string recommendation;
};
// The machine a GPU sits in, for a model split between the two (planner/offload.h). Defaults: a
// workstation with 64 GB of dual-channel DDR5 (2 x 8 bytes x 5,200 MT/s = 83 GB/s peak, rounded
// down); CPU decode reaches ~80 % of it.
struct HostMemory {
  double memory_gb = 64;
  double bandwidth_gb_s = 80;
  double efficiency = 0.8;
  uint64_t usable_bytes() const { return memory_gb > 8 ? uint64_t((memory_gb - 4) * 1e9) : 0; }  // less the OS's
};

// A model that fits no preset whole is offered its Q4_K_M split with `host` (planner/offload.h).
DeviceReport device_report(const Device& d, const MemoryOptions& o, const HostMemory& host = {});

}  // namespace onprem::planner
