#include "load.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace onprem::tools {

core::Expected<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error(core::ErrorCode::kNotFound, "cannot read '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

core::Expected<LoadedModel> load_model_and_tokenizer(const std::string& path) {
  ONPREM_TRY_ASSIGN(m, model::load_model(path));
  auto vocab = text::load_vocab(*m.file);
  if (!vocab) return core::make_error(vocab.error().code, path + ": " + vocab.error().to_string());
  ONPREM_TRY_ASSIGN(tok, text::Tokenizer::create(std::move(*vocab)));
  return LoadedModel{std::move(m), std::move(tok)};
}

model::RepackStats repack_for_engine(model::Model& m, int threads, bool say) {
  const char* env = std::getenv("ONPREM_REPACK");
  if (env && std::strcmp(env, "0") == 0) return {};
  const kernels::Kernels& k = kernels::best_kernels();
  const model::RepackStats st = model::repack_weights(m, k, core::threads_or_all(threads));
  if (say && st.tensors)
    std::fprintf(stderr, "weights repacked for the %s kernels: %lld tensors, %.2f GB in %.2f s\n",
                 std::string(kernels::isa_name(k.isa)).c_str(), (long long)st.tensors, double(st.bytes) / 1e9,
                 st.seconds);
  return st;
}

namespace {
core::Expected<core::GgmlType> kv_type(const std::string& name) {
  if (name.empty() || name == "f16") return core::GgmlType::kF16;
  if (name == "f32") return core::GgmlType::kF32;
  if (name == "q8_0") return core::GgmlType::kQ8_0;
  return core::make_error(core::ErrorCode::kInvalidArgument, "--kv-type " + name + ": expected f16, f32 or q8_0");
}
}  // namespace

core::Expected<int> parse_device(const DeviceOptions& d) {
  const std::string& device = d.device;
  ONPREM_TRY(kv_type(d.kv_type));
  if (device == "cpu") {
    if (!d.kv_type.empty() && d.kv_type != "f32")
      return core::make_error(core::ErrorCode::kInvalidArgument,
                              "--kv-type " + d.kv_type +
                                  ": the CPU keeps its KV cache in f32 (other types are for "
                                  "--device vulkan:N)");
    if (d.gpu_layers >= 0 || d.cpu_moe)
      return core::make_error(core::ErrorCode::kInvalidArgument,
                              std::string(d.cpu_moe ? "--cpu-moe" : "--gpu-layers") +
                                  " splits a model between a GPU and the CPU: add --device vulkan:N");
    return -1;
  }
  const std::string prefix = "vulkan:";
  if (device.rfind(prefix, 0) == 0 && device.size() > prefix.size() && device.size() <= prefix.size() + 3 &&
      device.find_first_not_of("0123456789", prefix.size()) == std::string::npos)
    return std::stoi(device.substr(prefix.size()));
  return core::make_error(
      core::ErrorCode::kInvalidArgument,
      "--device " + device + ": expected cpu or vulkan:N (onprem inspect --system lists the devices)");
}

model::VulkanOptions vulkan_options(const DeviceOptions& d, int index) {
  model::VulkanOptions vo;
  vo.device = uint32_t(std::max(index, 0));
  vo.gpu_layers = d.gpu_layers;
  vo.cpu_moe = d.cpu_moe;
  const auto kv = kv_type(d.kv_type);
  vo.kv_type = kv ? *kv : core::GgmlType::kF16;
  return vo;
}

core::Status place_engine(model::Model& m, const DeviceOptions& d, engine::EngineOptions& eo, bool say) {
  ONPREM_TRY_ASSIGN(index, parse_device(d));
  if (index < 0) {
    repack_for_engine(m, eo.threads, say);
    return core::Ok{};
  }
  model::VulkanOptions vo = vulkan_options(d, index);
  vo.threads = eo.threads;
  vo.max_tokens = eo.ubatch;
  vo.max_ctx = eo.ctx_size;
  int last = -1;
  if (say)
    vo.progress = [&last](uint64_t done, uint64_t total) {
      const int pct = total ? int(100 * done / total) : 100;
      if (pct / 10 == last / 10) return;
      last = pct;
      std::fprintf(stderr, "\ruploading weights: %3d %%", pct);
      if (done >= total) std::fprintf(stderr, "\n");
    };
  ONPREM_TRY_ASSIGN(gpu, model::make_vulkan_engine(m, vo));
  if (say) {
    const model::VulkanPlacement p = model::vulkan_placement(*gpu);
    std::fprintf(stderr, "running on %s (%s)", model::vulkan_engine_device(*gpu).c_str(), d.device.c_str());
    const auto size = [](uint64_t b) {
      char buf[32];
      std::snprintf(buf, sizeof buf, b >= 1000000000 ? "%.2f GB" : "%.1f MB",
                    double(b) / (b >= 1000000000 ? 1e9 : 1e6));
      return std::string(buf);
    };
    if (p.gpu_layers < p.n_layers || p.moe_on_cpu)
      std::fprintf(stderr, ": %d of %d layers%s on the GPU (%s of weights), %s of weights on the CPU", p.gpu_layers,
                   p.n_layers, p.moe_on_cpu ? " less their experts" : "", size(p.device_weight_bytes).c_str(),
                   size(p.host_weight_bytes).c_str());
    std::fprintf(stderr, "\n");
  }
  eo.gpu = gpu;
  return core::Ok{};
}

}  // namespace onprem::tools
