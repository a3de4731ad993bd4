#include <cstdio>
#include <optional>

#include "core/thread_pool.h"
#include "commands.h"
#include "model/quantize_model.h"

namespace onprem::tools {

namespace {

struct QuantizeOptions {
  std::string input, output, type, imatrix;
  int threads = 0;
};

int quantize(const QuantizeOptions& o) {
  auto ft = model::file_type_from_name(o.type);
  if (!ft) return fail(ft.error().to_string());
  if (o.input == o.output) return fail("the output must be another file than the input");
  auto in = gguf::File::open(o.input);
  if (!in) return fail(in.error().to_string());
  std::optional<model::Imatrix> imatrix;
  if (!o.imatrix.empty()) {
    auto m = model::read_imatrix(o.imatrix);
    if (!m) return fail(m.error().to_string());
    imatrix = std::move(*m);
  }
  core::ThreadPool pool(core::threads_or_all(o.threads));
  auto rep = model::quantize_model(*in, *ft, o.output, pool, imatrix ? &*imatrix : nullptr);
  if (!rep) return fail(o.input + ": " + rep.error().to_string());
  std::printf("%s -> %s (%s): %.2f MiB -> %.2f MiB\n", o.input.c_str(), o.output.c_str(), model::file_type_name(*ft),
              double(rep->bytes_in) / (1 << 20), double(rep->bytes_out) / (1 << 20));
  if (imatrix) std::printf("  %d tensors fitted with the importance matrix\n", rep->weighted_tensors);
  for (const auto& [type, n] : rep->tensors_by_type) std::printf("  %-5s %d tensors\n", type.c_str(), n);
  return 0;
}

}  // namespace

Run add_quantize(CLI::App& app) {
  auto* cmd = app.add_subcommand("quantize", "Re-quantise a model (llama-quantize's per-tensor mix for the preset)");
  auto o = std::make_shared<QuantizeOptions>();
  cmd->add_option("input", o->input, "Model GGUF (F32, F16, BF16 or any type we decode)")->required();
  cmd->add_option("output", o->output, "Output GGUF")->required();
  cmd->add_option("type", o->type,
                  "Q8_0, Q6_K, Q5_K_M/S, Q4_K_M/S, Q4_K, Q3_K_L/M/S, Q2_K, Q5_1, Q5_0, Q4_1, Q4_0, IQ4_XS, IQ4_NL, "
                  "MXFP4_MOE, F16, BF16, F32")
      ->required();
  cmd->add_option("--imatrix", o->imatrix,
                  "Importance matrix (llama-imatrix's GGUF or legacy .dat, or onprem imatrix's): weighs each weight's "
                  "error by its column's mean squared activation");
  add_threads_option(cmd, o->threads);
  return [o]() { return quantize(*o); };
}

}  // namespace onprem::tools
