// The planner's estimate for a generated model against the engine's own measured memory (resident
// set growth while loading the model, allocating state and workspace, and evaluating a prompt).
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "support/temp_file.h"

#include "gguf/writer.h"
#include "model/forward.h"
#include "model/generate.h"
#include "planner/memory_plan.h"
#include "text/vocab_data.h"

namespace onprem::planner {
namespace {

uint64_t rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

TEST(Planner, EstimateMatchesTheEnginesMeasuredMemory) {
  auto cfg = *model::preset_config("tiny-moe");
  cfg.n_embd = 512, cfg.n_layer = 8, cfg.n_vocab = 8192, cfg.n_ff_exp = 512, cfg.n_ff_shexp = 512, cfg.n_expert = 16;
  model::assign_layer_kinds(&cfg);
  const testing_support::TempFile file("plan_measured.gguf");
  const std::string& path = file.path;
  auto vocab = *text::synthetic_vocab(cfg.n_vocab);
  {
    core::ThreadPool pool(2);
    ASSERT_TRUE(model::generate_model(
                    model::GenOptions{cfg, model::FileType::kQ8_0, 1, "m"},
                    [&](gguf::Writer& w) { text::write_vocab_keys(vocab, w); }, path, pool)
                    .ok());
  }
  MemoryOptions o;
  o.ctx = 1024, o.parallel = 1, o.kv_type = KvType::kF32, o.ubatch = 256, o.threads = 1, o.overhead_bytes = 0;
  const MemoryPlan plan = plan_memory(*gguf_model(path), o);

  const uint64_t before = rss_bytes();
  auto m = *model::load_model(path);
  auto st = model::make_state(m.config, int64_t(o.ctx));
  auto ws = model::make_workspace(m.config, int64_t(o.ubatch), o.threads);
  // Touch everything: a full prompt through every layer and every expert, and the whole cache.
  std::vector<int32_t> ids(static_cast<size_t>(o.ubatch));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t((i * 37) % 8000);
  std::vector<float> logits(static_cast<size_t>(m.config.n_vocab));
  model::ForwardContext ctx;
  for (int rep = 0; rep < 4; ++rep)
    ASSERT_TRUE(model::forward(m, st, ws, ids.data(), int64_t(ids.size()), logits.data(), false, ctx).ok());
  const uint64_t measured = rss_bytes() - before;
  std::printf("planner %.1f MB, measured resident growth %.1f MB\n", double(plan.total_bytes()) / 1e6,
              double(measured) / 1e6);
  EXPECT_NEAR(double(measured), double(plan.total_bytes()), 0.1 * double(plan.total_bytes()));
}

}  // namespace
}  // namespace onprem::planner
