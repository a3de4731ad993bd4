#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "support/temp_file.h"

#include "gguf/file.h"
#include "model/config.h"
#include "model/generate.h"
#include "model/tensor_table.h"
#include "text/vocab_data.h"

namespace onprem::model {
namespace {

namespace fs = std::filesystem;

std::string generate(const std::string& preset, FileType ft, int threads, const std::string& file_tag) {
  const std::string path = testing_support::TempFile::unique_path("gen_" + file_tag + ".gguf");
  const std::string name = "gen-test";
  auto cfg = *preset_config(preset);
  auto vocab = *text::synthetic_vocab(cfg.n_vocab);
  core::ThreadPool pool(threads);
  auto st = generate_model(
      GenOptions{cfg, ft, 7, name}, [&](gguf::Writer& w) { text::write_vocab_keys(vocab, w); }, path, pool);
  EXPECT_TRUE(st.ok()) << st.error().to_string();
  return path;
}

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(GenModel, DeterministicWhateverTheThreadCount) {
  const auto a = generate("tiny-moe", FileType::kQ4_K_M, 1, "det1");
  const auto b = generate("tiny-moe", FileType::kQ4_K_M, 3, "det3");
  EXPECT_TRUE(slurp(a) == slurp(b));
  fs::remove(a);
  fs::remove(b);
}

TEST(GenModel, EveryTypeLoadsAndPassesTheTensorCheck) {
  for (auto ft : {FileType::kF32, FileType::kF16, FileType::kBF16, FileType::kQ8_0, FileType::kQ4_K, FileType::kQ4_K_M,
                  FileType::kQ6_K}) {
    for (const char* preset : {"tiny", "tiny-moe"}) {
      const auto p = generate(preset, ft, 2, std::string(preset) + file_type_name(ft));
      auto f = gguf::File::open(p);
      ASSERT_TRUE(f.ok());
      auto c = load_config(*f);
      ASSERT_TRUE(c.ok()) << c.error().to_string();
      EXPECT_TRUE(check_tensors(*f, *c).ok());
      fs::remove(p);
    }
  }
}

// Our Q4_K_M mix must pick the same type for every tensor as llama-quantize did for the
// conformance models.
TEST(GenModel, Q4KMMixMatchesLlamaQuantize) {
  for (const char* family : {"qwen35-tiny", "qwen35moe-tiny"}) {
    auto ref = gguf::File::open(std::string(ONPREM_SHARED_DIR) + "/conformance/models/" + family + "-Q4_K_M.gguf");
    ASSERT_TRUE(ref.ok());
    const auto cfg = *load_config(*ref);
    const auto table = tensor_table(cfg);
    const auto types = tensor_types(table, cfg, FileType::kQ4_K_M);
    for (size_t i = 0; i < table.size(); ++i)
      EXPECT_EQ(types[i], ref->tensor(table[i].name)->type) << family << " " << table[i].name;
  }
}

TEST(GenModel, LogitScaleRecipe) {
  // The LM head's row norms follow N(0, (6/sqrt(n_embd))^2): mean square 36/n_embd.
  const auto p = generate("tiny", FileType::kF32, 2, "scale");
  auto f = gguf::File::open(p);
  const auto* out = f->tensor("output.weight");
  const float* w = reinterpret_cast<const float*>(out->data);
  double ss = 0;
  for (uint64_t i = 0; i < out->n_elements(); ++i) ss += double(w[i]) * w[i];
  EXPECT_NEAR(ss / double(out->n_elements()), 36.0 / 256, 36.0 / 256 * 0.05);
  const float* a = reinterpret_cast<const float*>(f->tensor("blk.0.ssm_a")->data);
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(a[i] < 0 && a[i] > -std::exp(1.5f) - 1e-4f);
  fs::remove(p);
}

}  // namespace
}  // namespace onprem::model
