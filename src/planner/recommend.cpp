#include "planner/recommend.h"

#include <cstdio>

#include "planner/hardware.h"
#include "planner/quality.h"
#include "planner/tco.h"

namespace onprem::planner {

using core::ErrorCode;
using core::make_error;

core::Expected<Latency> latency_from_name(const std::string& s) {
  if (s == "interactive") return Latency::kInteractive;
  if (s == "batch") return Latency::kBatch;
  return make_error(ErrorCode::kInvalidArgument, "latency class '" + s + "' (interactive, batch)");
}

core::Expected<DataClass> data_class_from_name(const std::string& s) {
  if (s == "public") return DataClass::kPublic;
  if (s == "internal") return DataClass::kInternal;
  if (s == "confidential") return DataClass::kConfidential;
  if (s == "regulated") return DataClass::kRegulated;
  return make_error(ErrorCode::kInvalidArgument, "data class '" + s + "' (public, internal, confidential, regulated)");
}

core::Expected<Task> task_from_name(const std::string& s) {
  if (s == "general") return Task::kGeneral;
  if (s == "coding") return Task::kCoding;
  if (s == "agent") return Task::kAgent;
  if (s == "sre") return Task::kSre;
  if (s == "customer-facing") return Task::kCustomerFacing;
  return make_error(ErrorCode::kInvalidArgument, "task '" + s + "' (general, coding, agent, sre, customer-facing)");
}

namespace {

constexpr uint64_t kNativeContext = 262144;
constexpr uint64_t kMoeLoopContext = 80000;

std::string gb(uint64_t b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GB", double(b) / 1e9);
  return buf;
}

// The cheapest device where the model at this quantisation fits with 10 % headroom.
void pick_hardware(const Workload& w, Recommendation& r) {
  const model::FileType ft = *model::file_type_from_name(r.quant);
  const ModelSizing m = *builtin_model(r.model, ft);
  MemoryOptions o;
  o.ctx = w.context;
  o.parallel = w.parallel;
  const Device* best = nullptr;
  Fit best_fit;
  for (const auto& d : devices()) {
    const Fit f = fit(d, m, o);
    if (!f.fits || double(f.headroom_bytes) < 0.1 * double(d.usable_bytes())) continue;
    if (!best || d.price_usd < best->price_usd) best = &d, best_fit = f;
  }
  if (!best) {
    r.hardware = "several GPUs (tensor parallel) or a shorter context";
    r.reasons.push_back("no single device in the table holds " + r.model + " " + r.quant + " at " +
                        std::to_string(w.context) + " tokens x " + std::to_string(w.parallel) + " sequences");
    return;
  }
  r.hardware = best->name;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s: needs %s of %s usable, ~%.0f tokens/s per sequence at a full context",
                best->name.c_str(), gb(best_fit.plan.total_bytes()).c_str(), gb(best->usable_bytes()).c_str(),
                best_fit.decode_tokens_per_s);
  r.reasons.push_back(buf);
  if (best->kind == DeviceKind::kUnified)
    r.backend = "onprem serve (llama.cpp Metal as the alternative)";
  else if (w.parallel >= 8 && best->memory_gb >= 80)
    r.backend = "vLLM or SGLang (high concurrency), onprem route in front";
  else
    r.backend = "onprem serve (continuous batching), onprem route in front";
  // Volume: below break-even the API is cheaper, where the data may leave.
  TcoInputs in;
  in.hardware_usd = best->price_usd;
  in.power_w = best->power_w;
  const TcoResult t = compute_tco(in);
  if (w.tokens_per_month < t.break_even_tokens_per_month &&
      (w.data == DataClass::kPublic || w.data == DataClass::kInternal)) {
    std::snprintf(buf, sizeof buf,
                  "at %.3g tokens/month an API costs less than owning (break-even %.3g with default TCO inputs)",
                  w.tokens_per_month, t.break_even_tokens_per_month);
    r.reasons.push_back(buf);
  }
}

}  // namespace

Recommendation recommend(const Workload& w) {
  Recommendation r;
  const bool may_leave = w.data == DataClass::kPublic || w.data == DataClass::kInternal;
  if (!may_leave) r.reasons.push_back("data classed confidential/regulated never leaves: on-premises only");
  // Frontier API: where it is still needed and the data may go there.
  if (may_leave && (w.task == Task::kSre || w.task == Task::kCustomerFacing)) {
    r.model = "frontier API (Claude Sonnet)";
    r.backend = "Anthropic Messages API through onprem route";
    r.reasons.push_back(w.task == Task::kSre ? "SRE incident work still needs the frontier model"
                                             : "customer-facing answers need the frontier model's safety behaviour");
    return r;
  }
  if (w.context > kNativeContext) {
    if (may_leave) {
      r.model = "frontier API (Claude Sonnet)";
      r.backend = "Anthropic Messages API through onprem route";
      r.reasons.push_back("context past the native 262,144 tokens");
      return r;
    }
    r.model = "qwen3.6-27b";
    r.reasons.push_back(
        "context past 262,144 tokens on-premises: 27B with static YaRN (factor 4, up to 1,010,000), enabled only "
        "past the native context; expect some quality loss");
  } else if (w.context > kMoeLoopContext) {
    r.model = "qwen3.6-27b";
    r.reasons.push_back("context past 80K tokens: 35B-A3B is known to loop there, 27B holds up");
  } else if (w.tools || w.task == Task::kAgent) {
    r.model = "qwen3.6-27b";
    r.reasons.push_back("tool-calling agents: 27B is more reliable in long multi-turn work");
  } else if (!may_leave && w.latency == Latency::kBatch) {
    r.model = "qwen3.6-27b";
    r.reasons.push_back("regulated/confidential precise work: 27B");
  } else if (w.latency == Latency::kInteractive) {
    r.model = "qwen3.6-35b-a3b";
    r.reasons.push_back("interactive, short sessions: 35B-A3B decodes ~3.3x faster (3B active parameters)");
  } else {
    r.model = "qwen3.6-27b";
    r.reasons.push_back(
        "batch, precise work: 27B (matches a previous-generation frontier model on SWE-Bench Verified)");
  }
  r.quant = "Q4_K_M";
  std::string cost = "Q4_K_M: the size/quality point most users run; Q6_K or Q8_0 where memory allows";
  const auto q4 = measured_quality("Q4_K_M"), q6 = measured_quality("Q6_K"), q8 = measured_quality("Q8_0");
  if (q4 && q6 && q8) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  " (measured KL vs F32, nats/token: Q4_K_M %.2g, Q6_K %.2g, Q8_0 %.2g; docs/default-model.md)",
                  q4->kl_mean, q6->kl_mean, q8->kl_mean);
    cost += buf;
  }
  r.reasons.push_back(cost);
  pick_hardware(w, r);
  return r;
}

}  // namespace onprem::planner
