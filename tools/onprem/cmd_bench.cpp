#include <cstdio>

#include <nlohmann/json.hpp>

#include "load.h"
#include "commands.h"
#include "engine/bench.h"

namespace onprem::tools {

Run add_bench(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("bench", "Prompt processing and generation speed, bytes per token, share of memory bandwidth");
  struct Args {
    std::string model;
    engine::BenchOptions o;
    DeviceOptions device;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  add_model_option(cmd, a->model);
  cmd->add_option("-p,--n-prompt", a->o.n_prompt, "Prompt tokens (prefill)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("-n,--n-gen", a->o.n_gen, "Generated tokens (decode)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("-t,--threads", a->o.threads, "Threads")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("-r,--repetitions", a->o.reps, "Repetitions (median reported)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("-b,--ubatch", a->o.ubatch, "Prefill tokens per forward call")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_device_options(cmd, a->device);
  cmd->add_flag("--json", a->json, "Print a JSON object");
  return [a]() -> int {
    auto device = parse_device(a->device);
    if (!device) return fail(device.error().to_string());
    a->o.vulkan_device = *device;
    a->o.gpu = vulkan_options(a->device, *device);
    auto m = model::load_model(a->model);
    if (!m) return fail(m.error().to_string());
    if (*device < 0) repack_for_engine(*m, a->o.threads, true);  // the GPU reads the file's layout
    auto r = engine::run_bench(*m, a->o);
    if (!r) return fail(r.error().to_string());
    if (a->json) {
      nlohmann::json j = {{"model", a->model},
                          {"threads", a->o.threads},
                          {"n_prompt", a->o.n_prompt},
                          {"n_gen", a->o.n_gen},
                          {"pp_tokens_per_s", r->pp_tokens_per_s},
                          {"tg_tokens_per_s", r->tg_tokens_per_s},
                          {"pp_gflops", r->pp_gflops},
                          {"tg_bytes_per_token", r->tg_bytes_per_token},
                          {"weight_bytes_per_token", r->weight_bytes_per_token},
                          {"tg_gb_per_s", r->tg_gb_per_s},
                          {"machine_read_gb_per_s", r->machine_read_gb_per_s},
                          {"tg_bandwidth_fraction", r->tg_bandwidth_fraction},
                          {"tg_dispatches_per_token", r->tg_dispatches_per_token},
                          {"device", r->device.empty() ? "cpu" : r->device}};
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    if (r->device.empty())
      std::printf("model %s, %d threads\n", a->model.c_str(), a->o.threads);
    else
      std::printf("model %s, on %s (vulkan:%d)\n", a->model.c_str(), r->device.c_str(), *device);
    std::printf("pp%-6lld %8.1f tokens/s   %7.1f GFLOP/s\n", (long long)a->o.n_prompt, r->pp_tokens_per_s,
                r->pp_gflops);
    if (!r->device.empty() && r->tg_bandwidth_fraction == 0) {  // split between the GPU and the CPU
      std::printf("tg%-6lld %8.1f tokens/s   %7.1f GB/s (%.1f MB per token) from the device's and the host's memory\n",
                  (long long)a->o.n_gen, r->tg_tokens_per_s, r->tg_gb_per_s, double(r->tg_bytes_per_token) / 1e6);
      return 0;
    }
    std::printf("tg%-6lld %8.1f tokens/s   %7.1f GB/s (%.1f MB per token) = %.0f %% of the %.1f GB/s %s\n",
                (long long)a->o.n_gen, r->tg_tokens_per_s, r->tg_gb_per_s, double(r->tg_bytes_per_token) / 1e6,
                100 * r->tg_bandwidth_fraction, r->machine_read_gb_per_s,
                r->device.empty() ? "this machine reads" : "the device reads in a copy kernel");
    if (a->o.n_gen > 0 && a->o.threads > 1 && r->device.empty())
      std::printf("        %8.0f thread-pool dispatches per decoded token\n", r->tg_dispatches_per_token);
    return 0;
  };
}

}  // namespace onprem::tools
