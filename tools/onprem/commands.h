// Each subcommand registers itself on the CLI11 app and returns the function that runs it.
// Commands parse arguments and call libraries; they hold no logic of their own.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace onprem::tools {

using Run = std::function<int()>;

Run add_inspect(CLI::App& app);
Run add_gen_model(CLI::App& app);
Run add_tokenize(CLI::App& app);
Run add_detokenize(CLI::App& app);
Run add_vocab_from_hf(CLI::App& app);
Run add_logits(CLI::App& app);
Run add_run(CLI::App& app);
Run add_plan(CLI::App& app);
Run add_render_chat(CLI::App& app);
Run add_serve(CLI::App& app);
Run add_bench(CLI::App& app);
Run add_route(CLI::App& app);
Run add_quantize(CLI::App& app);
Run add_perplexity(CLI::App& app);
Run add_imatrix(CLI::App& app);

// Options several commands share, declared once: the model file (required) and the thread count
// (0, the default: every core; core::threads_or_all resolves it).
CLI::Option* add_model_option(CLI::App* cmd, std::string& path, const std::string& help = "GGUF model");
CLI::Option* add_threads_option(CLI::App* cmd, int& threads);
// --device cpu|vulkan:N, with --gpu-layers N and --cpu-moe for a partly offloaded model.
struct DeviceOptions;
void add_device_options(CLI::App* cmd, DeviceOptions& d);

// Prints "onprem: <message>" on stderr and returns the exit code 1.
int fail(const std::string& message);

}  // namespace onprem::tools
