#include <cstdio>
#include <filesystem>

#include "core/thread_pool.h"
#include "commands.h"
#include "load.h"
#include "model/evaluate.h"
#include "model/imatrix_collect.h"

namespace onprem::tools {

namespace {

struct ImatrixOptions {
  std::string model, file, output;
  int64_t ctx = 512, chunks = 0;
  int threads = 0;
};

int imatrix(const ImatrixOptions& o) {
  auto text = read_text_file(o.file);
  if (!text) return fail(text.error().to_string());
  auto loaded = load_model_and_tokenizer(o.model);
  if (!loaded) return fail(loaded.error().to_string());
  const model::Model& mod = loaded->model;
  const std::vector<int32_t> ids = loaded->tokenizer.encode(*text, false);
  const int threads = core::threads_or_all(o.threads);
  core::ThreadPool pool(threads);
  model::ImatrixCollector collector(mod);
  model::ForwardContext ctx;
  ctx.pool = &pool;
  ctx.matmul_observer = &collector.observer();
  // The perplexity pass runs every chunk of the text through the model from an empty state; the
  // collector sees each matrix's inputs on the way.
  model::EvalOptions eo;
  eo.ctx = o.ctx, eo.max_chunks = o.chunks;
  auto s = model::evaluate(mod, nullptr, ids, eo, ctx);
  if (!s) return fail(s.error().to_string());
  model::Imatrix result = collector.result();
  result.datasets = {std::filesystem::path(o.file).filename().string()};
  result.chunk_count = uint32_t(s->chunks), result.chunk_size = uint32_t(o.ctx);
  if (auto st = model::write_imatrix(result, o.output); !st) return fail(st.error().to_string());
  std::printf("%s: %zu tokens, %lld chunks of %lld; %zu matrices -> %s (perplexity %.4f)\n", o.file.c_str(), ids.size(),
              (long long)s->chunks, (long long)o.ctx, result.entries.size(), o.output.c_str(), s->ppl());
  return 0;
}

}  // namespace

Run add_imatrix(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "imatrix", "Importance matrix of a model over a text, for quantize --imatrix (llama-imatrix's GGUF format)");
  auto o = std::make_shared<ImatrixOptions>();
  add_model_option(cmd, o->model, "Model GGUF (the full-precision one)");
  cmd->add_option("-f,--file", o->file, "UTF-8 calibration text")->required();
  cmd->add_option("-o,--output", o->output, "Output .imatrix.gguf")->required();
  cmd->add_option("-c,--ctx", o->ctx, "Tokens per chunk")
      ->check(CLI::Range(int64_t(4), int64_t(1) << 20))
      ->capture_default_str();
  cmd->add_option("--chunks", o->chunks, "At most this many chunks (0: all)")->capture_default_str();
  add_threads_option(cmd, o->threads);
  return [o]() { return imatrix(*o); };
}

}  // namespace onprem::tools
