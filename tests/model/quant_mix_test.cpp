// The per-tensor type mix of every preset against the files llama-quantize itself wrote
// (shared/conformance/realfiles, made with an importance matrix): the same type for every tensor.
#include <filesystem>

#include <gtest/gtest.h>

#include "gguf/file.h"
#include "model/config.h"
#include "model/quant_mix.h"
#include "model/tensor_table.h"

namespace onprem::model {
namespace {

namespace fs = std::filesystem;
const fs::path kModels = fs::path(ONPREM_SHARED_DIR) / "conformance" / "realfiles" / "models";

TEST(QuantMix, EveryPresetMatchesLlamaQuantizesOwnFiles) {
  if (!fs::exists(kModels)) GTEST_SKIP() << "no " << kModels;
  int files = 0, tensors = 0;
  for (const auto& e : fs::directory_iterator(kModels)) {
    const std::string stem = e.path().stem().string();
    const std::string preset = stem.substr(stem.rfind('-') + 1);
    auto ft = file_type_from_name(preset);
    if (!ft || *ft == FileType::kF16 || *ft == FileType::kBF16) continue;  // split shards, gate2d, 16-bit copies
    auto f = gguf::File::open(e.path().string());
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    auto c = load_config(*f);
    ASSERT_TRUE(c.ok()) << c.error().to_string();
    const auto table = tensor_table(*c);
    const auto types = tensor_types(table, *c, *ft);
    uint64_t sized = 0, stored = 0;  // what the planner sizes against what the file holds
    for (size_t i = 0; i < table.size(); ++i) {
      const gguf::TensorInfo* t = f->tensor(table[i].name);
      if (!t) continue;  // optional tensors this file leaves out
      EXPECT_EQ(core::ggml_type_name(types[i]), core::ggml_type_name(t->type)) << stem << " " << table[i].name;
      sized += tensor_bytes(table[i], types[i]);
      stored += t->n_bytes;
      ++tensors;
    }
    EXPECT_EQ(sized, stored) << stem;
    EXPECT_EQ(file_type_gguf_id(*ft), *f->get_uint("general.file_type")) << stem;
    ++files;
  }
  EXPECT_GE(files, 20);
  std::printf("%d files, %d tensors compared\n", files, tensors);
}

}  // namespace
}  // namespace onprem::model
