// Deterministic random-weight models of either architecture and any shape (gen-model). The
// weights follow the conformance recipe (shared/conformance/README.md) so logits are well spread:
// linear N(0, (0.5/sqrt(fan_in))^2), norms 1 + 0.1 N(0,1), LM head N(0, (6/sqrt(n_embd))^2),
// router N(0, (4/sqrt(n_embd))^2), ssm_a = -exp(U(-1, 1.5)), dt bias U(-4, -1).
// Each row has its own RNG stream seeded by (seed, tensor name, row), so the file is the same
// whatever the thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/ggml_type.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "model/config.h"
#include "model/quant_mix.h"
#include "model/tensor_table.h"

namespace onprem::gguf {
class Writer;
}

namespace onprem::model {

// Named shapes: "tiny" / "tiny-moe" (the conformance models' shapes), "27b", "35b-a3b" (the real
// Qwen3.6 layer shapes; pass fewer layers for benchmarks).
core::Expected<ModelConfig> preset_config(const std::string& name);

struct GenOptions {
  ModelConfig config;
  FileType file_type = FileType::kF32;
  uint64_t seed = 1;
  std::string name = "onprem-random";
};

// Writes the model. `write_vocab` adds the tokenizer.* keys (its token count must equal
// config.n_vocab; text/ builds them, which model/ cannot depend on).
core::Status generate_model(const GenOptions& opt, const std::function<void(gguf::Writer&)>& write_vocab,
                            const std::string& path, core::ThreadPool& pool);

// The arch keys of model.md §2 for a config (also used by tests that write malformed files).
void write_config_keys(const ModelConfig& c, gguf::Writer& w);

}  // namespace onprem::model
