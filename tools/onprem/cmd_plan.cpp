#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "planner/hardware.h"
#include "planner/offload.h"
#include "planner/quality.h"
#include "planner/recommend.h"
#include "planner/tco.h"

namespace onprem::tools {

namespace {

struct PlanOptions {
  std::string model = "qwen3.6-27b", quant = "Q4_K_M", kv_type = "F16", device, svg;
  planner::MemoryOptions mem;
  double cpu_gb = 0, cpu_bw = 50;
  planner::HostMemory host;
  bool json = false;
  planner::TcoInputs tco;
  bool price_set = false, power_set = false;
};

nlohmann::json fit_json(const planner::Fit& f, const planner::Device& d, const std::optional<planner::Offload>& split) {
  nlohmann::json j = {{"device", d.name},
                      {"model", f.model},
                      {"quant", f.quant},
                      {"fits", f.fits},
                      {"headroom_bytes", f.headroom_bytes},
                      {"total_bytes", f.plan.total_bytes()},
                      {"max_ctx", f.max_ctx},
                      {"decode_tokens_per_s", f.decode_tokens_per_s},
                      {"decode_roofline_tokens_per_s", f.decode_roofline}};
  if (split)
    j["split"] = {{"flags", split->flags()},         {"cpu_moe", split->cpu_moe},
                  {"gpu_layers", split->gpu_layers}, {"device_bytes", split->device_bytes},
                  {"host_bytes", split->host_bytes}, {"decode_tokens_per_s", split->decode_tokens_per_s}};
  return j;
}

int run_plan(PlanOptions& o) {
  auto ft = model::file_type_from_name(o.quant);
  if (!ft) return fail(ft.error().to_string());
  auto kv = planner::kv_type_from_name(o.kv_type);
  if (!kv) return fail(kv.error().to_string());
  o.mem.kv_type = *kv;
  auto m = planner::resolve_model(o.model, *ft);
  if (!m) return fail(m.error().to_string());
  const planner::MemoryPlan plan = planner::plan_memory(*m, o.mem);
  std::vector<planner::Device> devs = planner::devices();
  if (o.cpu_gb > 0) devs.push_back(planner::cpu_device(o.cpu_gb, o.cpu_bw));
  const planner::Device* chosen = nullptr;
  if (!o.device.empty()) {
    for (const auto& d : devs)
      if (planner::find_device(o.device) && d.name == planner::find_device(o.device)->name) chosen = &d;
    if (!chosen && o.cpu_gb > 0 && o.device.rfind("cpu", 0) == 0) chosen = &devs.back();
    if (!chosen) return fail("unknown device '" + o.device + "' (see the table `onprem plan` prints, or --cpu-gb N)");
  }
  if (chosen) {
    if (!o.price_set) o.tco.hardware_usd = chosen->price_usd;
    if (!o.power_set) o.tco.power_w = chosen->power_w;
  }
  const planner::TcoResult tco = planner::compute_tco(o.tco);
  if (!o.svg.empty()) {
    std::ofstream out(o.svg);
    out << planner::tco_svg(o.tco, tco);
    if (!out) return fail("cannot write '" + o.svg + "'");
  }
  if (o.json) {
    nlohmann::json j = {{"model", m->name},
                        {"quant", m->quant},
                        {"ctx", o.mem.ctx},
                        {"parallel", o.mem.parallel},
                        {"kv_type", planner::kv_type_name(o.mem.kv_type)},
                        {"weights_bytes", plan.weights_bytes},
                        {"kv_cache_bytes", plan.kv_cache_bytes},
                        {"state_bytes", plan.state_bytes},
                        {"compute_bytes", plan.compute_bytes},
                        {"overhead_bytes", plan.overhead_bytes},
                        {"total_bytes", plan.total_bytes()},
                        {"kv_bytes_per_token", plan.kv_bytes_per_token},
                        {"decode_bytes_per_token", plan.decode_bytes_per_token},
                        {"arithmetic", plan.arithmetic}};
    j["devices"] = nlohmann::json::array();
    for (const auto& d : devs)
      j["devices"].push_back(fit_json(planner::fit(d, *m, o.mem), d, planner::plan_offload(d, *m, o.mem, o.host)));
    j["tco"] = {{"onprem_usd_per_month", tco.onprem_usd_per_month},
                {"depreciation_usd", tco.depreciation_usd},
                {"energy_usd", tco.energy_usd},
                {"staff_usd", tco.staff_usd},
                {"capacity_tokens_per_month", tco.capacity_tokens_per_month},
                {"api_usd_per_mtok", tco.api_usd_per_token * 1e6},
                {"break_even_tokens_per_month", tco.break_even_tokens_per_month},
                {"break_even_within_capacity", tco.break_even_within_capacity}};
    if (auto q = planner::measured_quality(m->quant))
      j["quality_vs_f32"] = {{"kl_mean_nats", q->kl_mean},
                             {"top1_agreement", q->top1_agreement},
                             {"ppl_ratio", q->ppl_ratio},
                             {"source", "measured on onprem's default model, docs/default-model.md"}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s  %s  ctx %llu x %llu sequences  KV %s\n\n", m->name.c_str(), m->quant.c_str(),
              (unsigned long long)o.mem.ctx, (unsigned long long)o.mem.parallel, planner::kv_type_name(o.mem.kv_type));
  for (const auto& line : plan.arithmetic) std::printf("  %s\n", line.c_str());
  if (auto q = planner::measured_quality(m->quant))
    std::printf("  quality      = %s (measured on onprem's default model, docs/default-model.md)\n",
                planner::quality_line(*q).c_str());
  std::printf("\n%-20s %9s %9s %10s %9s %12s\n", "device", "memory", "needs", "headroom", "max ctx", "decode t/s");
  for (const auto& d : devs) {
    const planner::Fit f = planner::fit(d, *m, o.mem);
    std::printf("%-20s %7.0f G %7.1f G %8.1f G %9llu %12.1f %s\n", d.name.c_str(), d.memory_gb,
                double(f.plan.total_bytes()) / 1e9, double(f.headroom_bytes) / 1e9, (unsigned long long)f.max_ctx,
                f.decode_tokens_per_s, f.fits ? "" : "  (does not fit)");
    // Short of 10 % headroom on a GPU: the split with the host that fits (onprem's --cpu-moe, --gpu-layers).
    if (const auto split = planner::plan_offload(d, *m, o.mem, o.host))
      std::printf("%-20s split with %s: %.1f G on the GPU + %.1f G in host memory, ~%.1f tokens/s\n", "",
                  split->flags().c_str(), double(split->device_bytes) / 1e9, double(split->host_bytes) / 1e9,
                  split->decode_tokens_per_s);
  }
  if (chosen)
    std::printf("\n%s: %s\n", chosen->name.c_str(),
                planner::device_report(*chosen, o.mem, o.host).recommendation.c_str());
  std::printf(
      "\nTCO (one unit: $%.0f over %.0f years, %.0f W at $%.2f/kWh, staff $%.0f/month, %.0f tokens/s at %.0f%% use)\n",
      o.tco.hardware_usd, o.tco.depreciation_years, o.tco.power_w, o.tco.electricity_usd_per_kwh,
      o.tco.staff_usd_per_month, o.tco.throughput_tokens_per_s, 100 * o.tco.utilisation);
  std::printf("  owned:  $%.0f/month (depreciation %.0f + energy %.0f + staff %.0f), capacity %.3g tokens/month\n",
              tco.onprem_usd_per_month, tco.depreciation_usd, tco.energy_usd, tco.staff_usd,
              tco.capacity_tokens_per_month);
  std::printf(
      "  API:    $%.3f per million tokens blended (%.0f%% input at $%.2f with %.0f%% cache hits at -%.0f%%, output "
      "$%.2f)\n",
      tco.api_usd_per_token * 1e6, 100 * o.tco.input_share, o.tco.api_usd_per_mtok_in, 100 * o.tco.cache_hit_share,
      100 * o.tco.cache_discount, o.tco.api_usd_per_mtok_out);
  std::printf(
      "  break-even: %.3g tokens/month%s\n", tco.break_even_tokens_per_month,
      tco.break_even_within_capacity ? "" : " (beyond one unit's capacity: add units, the owned cost steps up)");
  if (!o.svg.empty()) std::printf("  plot: %s\n", o.svg.c_str());
  return 0;
}

}  // namespace

Run add_plan(CLI::App& app) {
  auto* cmd = app.add_subcommand("plan", "Memory, hardware fit, decode speed and TCO for a model and quantisation");
  auto o = std::make_shared<PlanOptions>();
  cmd->add_option("--model", o->model, "qwen3.6-27b, qwen3.6-35b-a3b, or a GGUF file")->capture_default_str();
  cmd->add_option(
         "--quant", o->quant,
         "Any llama.cpp preset: Q4_K_M, IQ4_XS, Q3_K_M, Q2_K, IQ2_XXS, MXFP4_MOE, Q8_0, BF16, ... (built-in models)")
      ->capture_default_str();
  cmd->add_option("--ctx", o->mem.ctx, "Context tokens per sequence")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--parallel", o->mem.parallel, "Concurrent sequences")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--kv-type", o->kv_type, "KV cache type: F16, Q8_0, F32")->capture_default_str();
  cmd->add_option("--ubatch", o->mem.ubatch, "Prefill chunk (compute buffer)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--overhead", o->mem.overhead_bytes, "Runtime overhead in bytes")->capture_default_str();
  cmd->add_option("--device", o->device, "Use this device's price and power for the TCO and print its recommendation");
  cmd->add_option("--cpu-gb", o->cpu_gb, "Add a CPU-only machine with this much memory to the table");
  cmd->add_option("--cpu-bw", o->cpu_bw, "Its read bandwidth in GB/s")->capture_default_str();
  cmd->add_option("--host-gb", o->host.memory_gb, "A GPU's host: system memory in GB, for a model split between them")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--host-bw", o->host.bandwidth_gb_s, "The host's memory read bandwidth in GB/s")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "Print a JSON object (documented in docs/planner.md)");
  cmd->add_option("--svg", o->svg, "Write the two monthly cost curves (API vs owned) as an SVG plot");
  cmd->add_option("--hw-price", o->tco.hardware_usd, "TCO: hardware price per unit, USD")
      ->each([o](const std::string&) { o->price_set = true; });
  cmd->add_option("--years", o->tco.depreciation_years, "TCO: depreciation years")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--power-w", o->tco.power_w, "TCO: average power draw per unit, W")->each([o](const std::string&) {
    o->power_set = true;
  });
  cmd->add_option("--kwh", o->tco.electricity_usd_per_kwh, "TCO: electricity USD per kWh")->capture_default_str();
  cmd->add_option("--staff", o->tco.staff_usd_per_month, "TCO: operations staff share per unit, USD/month")
      ->capture_default_str();
  cmd->add_option("--utilisation", o->tco.utilisation, "TCO: fraction of the month serving")
      ->check(CLI::Range(0.01, 1.0))
      ->capture_default_str();
  cmd->add_option("--throughput", o->tco.throughput_tokens_per_s, "TCO: aggregate tokens/s one unit serves")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--api-in", o->tco.api_usd_per_mtok_in, "TCO: API USD per million input tokens")
      ->capture_default_str();
  cmd->add_option("--api-out", o->tco.api_usd_per_mtok_out, "TCO: API USD per million output tokens")
      ->capture_default_str();
  cmd->add_option("--input-share", o->tco.input_share, "TCO: fraction of tokens that are input")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--cache-hit", o->tco.cache_hit_share, "TCO: fraction of input tokens hitting the API's cache")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--cache-discount", o->tco.cache_discount, "TCO: price reduction on cached input")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();

  auto* rec =
      cmd->add_subcommand("recommend", "Model, quantisation, hardware and backend for a workload, with the reasons");
  struct RecArgs {
    std::string latency = "interactive", data = "internal", task = "coding";
    planner::Workload w;
  };
  auto r = std::make_shared<RecArgs>();
  rec->add_option("--latency", r->latency, "interactive or batch")->capture_default_str();
  rec->add_option("--context", r->w.context, "Context tokens")->check(CLI::PositiveNumber)->capture_default_str();
  rec->add_flag("--tools", r->w.tools, "Requests carry tools (agents)");
  rec->add_option("--data", r->data, "public, internal, confidential, regulated")->capture_default_str();
  rec->add_option("--task", r->task, "general, coding, agent, sre, customer-facing")->capture_default_str();
  rec->add_option("--tokens-per-month", r->w.tokens_per_month, "Monthly volume")->capture_default_str();
  rec->add_option("--parallel", r->w.parallel, "Concurrent sequences")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  return [o, r, rec]() -> int {
    if (!rec->parsed()) return run_plan(*o);
    auto lat = planner::latency_from_name(r->latency);
    auto dc = planner::data_class_from_name(r->data);
    auto task = planner::task_from_name(r->task);
    for (const auto* e :
         {lat.ok() ? nullptr : &lat.error(), dc.ok() ? nullptr : &dc.error(), task.ok() ? nullptr : &task.error()})
      if (e) return fail(e->to_string());
    r->w.latency = *lat, r->w.data = *dc, r->w.task = *task;
    const planner::Recommendation rc = planner::recommend(r->w);
    std::printf("model     %s\n", rc.model.c_str());
    if (!rc.quant.empty()) std::printf("quant     %s\n", rc.quant.c_str());
    if (!rc.hardware.empty()) std::printf("hardware  %s\n", rc.hardware.c_str());
    std::printf("backend   %s\nwhy\n", rc.backend.c_str());
    for (const auto& why : rc.reasons) std::printf("  - %s\n", why.c_str());
    return 0;
  };
}

}  // namespace onprem::tools
