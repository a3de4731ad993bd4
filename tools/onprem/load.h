// What several commands load the same way: a text file, a model with its tokenizer.
#pragma once

#include <string>

#include "core/status.h"
#include "engine/engine.h"
#include "model/repack.h"
#include "model/weights.h"
#include "text/tokenizer.h"

namespace onprem::tools {

core::Expected<std::string> read_text_file(const std::string& path);

struct LoadedModel {
  model::Model model;
  text::Tokenizer tokenizer;
};
core::Expected<LoadedModel> load_model_and_tokenizer(const std::string& path);

// For the commands that run the engine (run, serve, bench): the weights repacked for the
// engine's kernel table (model/repack.h), unless ONPREM_REPACK=0 keeps the file's layout (to
// compare the two). With `say`, says what it did on stderr.
model::RepackStats repack_for_engine(model::Model& m, int threads, bool say);

// Where a command runs its model (docs/gpu.md): --device, and on a GPU the partial offload options.
struct DeviceOptions {
  std::string device = "cpu";
  int gpu_layers = -1;  // -1: every layer on the GPU
  bool cpu_moe = false;
  std::string kv_type;  // the GPU's KV cache: f16 (empty: the default), f32 or q8_0; the CPU's is f32
};

// --device: "cpu" is -1, "vulkan:N" is N; anything else is an error that says what is accepted,
// as are --gpu-layers, --cpu-moe or a --kv-type other than f32 without a GPU.
core::Expected<int> parse_device(const DeviceOptions& d);

// The Vulkan options for device `index` (parse_device's, which checked them), with the partial
// offload options and the KV cache type.
model::VulkanOptions vulkan_options(const DeviceOptions& d, int index);

// For run and serve: puts the engine where --device says. cpu: the weights repacked for the CPU
// tables (repack_for_engine). vulkan:N: the weights uploaded to that device (with a progress line
// on stderr when `say`) and eo.gpu set; an error for a device that is missing or too small.
core::Status place_engine(model::Model& m, const DeviceOptions& d, engine::EngineOptions& eo, bool say);

}  // namespace onprem::tools
