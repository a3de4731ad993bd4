#include <cstdio>
#include <vector>

#include "commands.h"
#include "load.h"
#include "kernels/cpu.h"

namespace onprem::tools {
CLI::Option* add_model_option(CLI::App* cmd, std::string& path, const std::string& help) {
  return cmd->add_option("-m,--model", path, help)->required();
}

CLI::Option* add_threads_option(CLI::App* cmd, int& threads) {
  return cmd->add_option("-t,--threads", threads, "Threads (default: all cores)")->check(CLI::Range(0, 4096));
}

void add_device_options(CLI::App* cmd, DeviceOptions& d) {
  cmd->add_option("--device", d.device, "Where the model runs: cpu, or vulkan:N (onprem inspect --system lists them)")
      ->capture_default_str();
  cmd->add_option("--gpu-layers", d.gpu_layers,
                  "With --device vulkan:N: the first N layers on the GPU, the rest and the output head on the CPU "
                  "(default: all on the GPU)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--cpu-moe", d.cpu_moe,
                "With --device vulkan:N: keep the MoE layers' experts in host memory and run them on the CPU");
  cmd->add_option("--kv-type", d.kv_type,
                  "With --device vulkan:N: the KV cache's type, f16 (default), f32 or q8_0 (the CPU's is f32)");
}

int fail(const std::string& message) {
  std::fprintf(stderr, "onprem: %s\n", message.c_str());
  return 1;
}
}  // namespace onprem::tools

int main(int argc, char** argv) {
  using namespace onprem::tools;
  CLI::App app{"onprem: run Qwen3.6 models on your own hardware"};
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, Run>> commands;
  auto add = [&](Run (*fn)(CLI::App&)) {
    const size_t before = app.get_subcommands({}).size();
    Run run = fn(app);
    commands.emplace_back(app.get_subcommands({})[before], std::move(run));
  };
  add(add_inspect);
  add(add_gen_model);
  add(add_tokenize);
  add(add_detokenize);
  add(add_vocab_from_hf);
  add(add_logits);
  add(add_run);
  add(add_plan);
  add(add_render_chat);
  add(add_serve);
  add(add_bench);
  add(add_route);
  add(add_quantize);
  add(add_perplexity);
  add(add_imatrix);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // ONPREM_ISA names a kernel path; one this CPU cannot run is refused before any work starts.
  if (const auto isa = onprem::kernels::chosen_isa(); !isa) {
    fail(isa.error().message);
    return 2;
  }
  for (auto& [sub, run] : commands)
    if (sub->parsed()) return run();
  return 1;
}
