// `onprem plan recommend`: a workload in, a model / quantisation / hardware / backend out, with the
// reasons, by the decision rules the router will apply (35B-A3B for real-time short sessions;
// 27B for precise work, contexts past 80K, tool-calling agents and regulated data; a frontier API
// only for SRE incident work, contexts past 262K and customer-facing safety; data classed
// confidential or regulated never leaves).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace onprem::planner {

enum class Latency { kInteractive, kBatch };
enum class DataClass { kPublic, kInternal, kConfidential, kRegulated };
enum class Task { kGeneral, kCoding, kAgent, kSre, kCustomerFacing };

struct Workload {
  Latency latency = Latency::kInteractive;
  uint64_t context = 32768;
  bool tools = false;
  DataClass data = DataClass::kInternal;
  Task task = Task::kCoding;
  double tokens_per_month = 1e9;
  uint64_t parallel = 4;
};

core::Expected<Latency> latency_from_name(const std::string& s);
core::Expected<DataClass> data_class_from_name(const std::string& s);
core::Expected<Task> task_from_name(const std::string& s);

struct Recommendation {
  std::string model;     // "qwen3.6-27b", "qwen3.6-35b-a3b" or "frontier API (Claude Sonnet)"
  std::string quant;     // empty for the API
  std::string hardware;  // device name, empty for the API
  std::string backend;
  std::vector<std::string> reasons;
};

Recommendation recommend(const Workload& w);

}  // namespace onprem::planner
