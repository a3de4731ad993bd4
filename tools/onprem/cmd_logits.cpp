#include <cstdio>
#include <cstring>
#include <fstream>

#include "core/thread_pool.h"
#include "commands.h"
#include "load.h"
#include "model/forward.h"
#include "model/forward_vulkan.h"

namespace onprem::tools {

namespace {

int write_floats(const std::string& path, const std::vector<float>& v) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(float)));
  if (!out) return fail("cannot write '" + path + "'");
  return 0;
}

// --device vulkan:N: the same logits from model/forward_vulkan.h, `step` tokens per call.
int logits_on_gpu(const model::Model& m, const std::vector<int32_t>& ids, model::VulkanOptions vo, int64_t step,
                  const std::string& out) {
  const int64_t n = int64_t(ids.size()), V = m.config.n_vocab;
  vo.max_tokens = std::min(step, n);
  vo.max_ctx = n;
  auto gpu = model::make_vulkan_engine(m, vo);
  if (!gpu) return fail(gpu.error().to_string());
  auto seq = model::make_vulkan_sequence(**gpu, n);
  if (!seq) return fail(seq.error().to_string());
  std::vector<float> logits(static_cast<size_t>(n * V));
  for (int64_t i = 0; i < n; i += vo.max_tokens) {
    const int64_t cnt = std::min(vo.max_tokens, n - i);
    auto st = model::forward_vulkan(**gpu, *seq, ids.data() + i, cnt, logits.data() + i * V, true);
    if (!st) return fail(st.error().to_string());
  }
  return write_floats(out, logits);
}

}  // namespace

Run add_logits(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "logits", "Evaluate token ids and write the logits of every position (float32 [n_tokens][n_vocab])");
  struct Options {
    std::string model, tokens, out, mode = "batch", prefill = "sequential", acts, dump;
    DeviceOptions device;
    int64_t ubatch = 512;
    int threads = 0;
  };
  auto o = std::make_shared<Options>();
  add_model_option(cmd, o->model);
  cmd->add_option("--tokens", o->tokens, "File of whitespace-separated token ids")->required();
  cmd->add_option("--out", o->out, "Output file (raw little-endian float32)")->required();
  cmd->add_option("--mode", o->mode, "batch (ubatches of --ubatch tokens) or incremental (one token per call)")
      ->check(CLI::IsMember({"batch", "incremental"}))
      ->capture_default_str();
  cmd->add_option("--ubatch", o->ubatch, "Tokens per forward call in batch mode")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--prefill", o->prefill, "DeltaNet prefill: sequential or chunked")
      ->check(CLI::IsMember({"sequential", "chunked"}))
      ->capture_default_str();
  cmd->add_option("--activations", o->acts,
                  "Quantised weights: int8 (llama.cpp's CPU path; the CPU's default) or f32 activations (a GPU's)")
      ->check(CLI::IsMember({"int8", "f32"}));
  add_threads_option(cmd, o->threads);
  add_device_options(cmd, o->device);
  cmd->add_option("--dump", o->dump,
                  "Also write every named intermediate to this file: records of u32 name length, name, i32 layer, "
                  "i64 rows, i64 cols, float32 data [rows][cols]");
  return [o]() -> int {
    std::ifstream in(o->tokens);
    if (!in) return fail("cannot read '" + o->tokens + "'");
    std::vector<int32_t> ids;
    std::string word;
    while (in >> word) {
      char* end = nullptr;
      const long v = std::strtol(word.c_str(), &end, 10);
      if (*end != '\0' || v < 0 || v > INT32_MAX) return fail(o->tokens + ": '" + word + "' is not a token id");
      ids.push_back(int32_t(v));
    }
    if (ids.empty()) return fail(o->tokens + " holds no token ids");
    auto m = model::load_model(o->model);
    if (!m) return fail(m.error().to_string());
    auto device = parse_device(o->device);
    if (!device) return fail(device.error().to_string());
    if (*device >= 0) {
      if (o->acts == "int8") return fail("--activations int8 is the CPU's path; on a GPU activations are f32");
      if (!o->dump.empty()) return fail("--dump is a CPU option");
      model::VulkanOptions vo = vulkan_options(o->device, *device);
      vo.threads = o->threads;
      if (o->prefill == "chunked") vo.prefill = model::DeltaNetPrefill::kChunked;
      return logits_on_gpu(*m, ids, vo, o->mode == "incremental" ? 1 : o->ubatch, o->out);
    }
    const int threads = core::threads_or_all(o->threads);
    core::ThreadPool pool(threads);
    const int64_t n = int64_t(ids.size()), V = m->config.n_vocab;
    const int64_t step = o->mode == "incremental" ? 1 : std::min(o->ubatch, n);
    auto state = model::make_state(m->config, n);
    auto ws = model::make_workspace(m->config, step, threads);
    model::ForwardContext ctx;
    ctx.pool = &pool;
    ctx.options.prefill =
        o->prefill == "chunked" ? model::DeltaNetPrefill::kChunked : model::DeltaNetPrefill::kSequential;
    ctx.options.activations = o->acts == "f32" ? kernels::Activations::kFloat : kernels::Activations::kInt8;
    std::vector<float> logits(static_cast<size_t>(n * V));
    std::ofstream dump;
    model::Observer observer;
    if (!o->dump.empty()) {
      dump.open(o->dump, std::ios::binary);
      if (!dump) return fail("cannot write '" + o->dump + "'");
      observer = [&dump](const char* name, int layer, const float* data, int64_t rows, int64_t cols) {
        const uint32_t len = uint32_t(std::strlen(name));
        const int32_t il = layer;
        dump.write(reinterpret_cast<const char*>(&len), 4).write(name, len);
        dump.write(reinterpret_cast<const char*>(&il), 4);
        dump.write(reinterpret_cast<const char*>(&rows), 8).write(reinterpret_cast<const char*>(&cols), 8);
        dump.write(reinterpret_cast<const char*>(data), std::streamsize(rows * cols * 4));
      };
      ctx.observer = &observer;
    }
    for (int64_t i = 0; i < n; i += step) {
      const int64_t cnt = std::min(step, n - i);
      auto st = model::forward(*m, state, ws, ids.data() + i, cnt, logits.data() + i * V, true, ctx);
      if (!st) return fail(st.error().to_string());
    }
    return write_floats(o->out, logits);
  };
}

}  // namespace onprem::tools
