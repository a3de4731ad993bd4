// Every tensor of the quantised conformance models, decoded, against the same tensor of the F32
// model it was quantised from (llama-quantize made them). Prints the error per type.
#include <cmath>
#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "gguf/file.h"
#include "quant/dequant.h"

namespace onprem::quant {
namespace {

namespace fs = std::filesystem;

struct Err {
  double num = 0, den = 0, max_abs = 0;
  int tensors = 0;
};

void compare_model(const std::string& family, const std::string& quant, std::map<std::string, Err>* per_type) {
  const fs::path dir = fs::path(ONPREM_SHARED_DIR) / "conformance/models";
  auto ref = gguf::File::open((dir / (family + "-F32.gguf")).string());
  auto q = gguf::File::open((dir / (family + "-" + quant + ".gguf")).string());
  ASSERT_TRUE(ref.ok() && q.ok());
  ASSERT_EQ(ref->tensors().size(), q->tensors().size());
  for (const auto& t : q->tensors()) {
    const gguf::TensorInfo* r = ref->tensor(t.name);
    ASSERT_NE(r, nullptr) << t.name;
    ASSERT_EQ(r->ne, t.ne) << t.name;
    auto deq = dequantizer(t.type);
    ASSERT_NE(deq, nullptr) << t.name;
    std::vector<float> got(size_t(t.n_elements()));
    deq(t.data, got.data(), int64_t(got.size()));
    const float* want = reinterpret_cast<const float*>(r->data);
    Err& e = (*per_type)[std::string(core::ggml_type_info(uint32_t(t.type))->name)];
    double num = 0, den = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const double d = double(got[i]) - want[i];
      num += d * d, den += double(want[i]) * want[i];
      e.max_abs = std::max(e.max_abs, std::fabs(d));
    }
    e.num += num, e.den += den, ++e.tensors;
    const double rel = std::sqrt(num / den);
    // Bounds derived as in round_trip_test (1.5x the uniform-noise estimate), looser for Q4_K whose
    // 6-bit scales on random data cost up to another ~30 %.
    switch (t.type) {
      case core::GgmlType::kF32:
        EXPECT_EQ(num, 0.0) << t.name;
        break;
      case core::GgmlType::kQ8_0:
        EXPECT_LT(rel, 0.009) << t.name;
        break;
      case core::GgmlType::kQ6_K:
        EXPECT_LT(rel, 0.027) << t.name;
        break;
      case core::GgmlType::kQ4_K:
        EXPECT_LT(rel, 0.13) << t.name;
        break;
      default:
        ADD_FAILURE() << t.name << " has an unexpected type";
    }
  }
}

TEST(QuantConformance, DequantisedTensorsMatchTheirF32Source) {
  if (!fs::exists(fs::path(ONPREM_SHARED_DIR) / "conformance/models")) GTEST_SKIP();
  std::map<std::string, Err> per_type;
  for (std::string family : {"qwen35-tiny", "qwen35moe-tiny"})
    for (std::string quant : {"Q8_0", "Q6_K", "Q4_K_M"}) compare_model(family, quant, &per_type);
  for (const auto& [name, e] : per_type)
    std::printf("%-5s tensors %3d  relative rms %.5f  max |err| %.5f\n", name.c_str(), e.tensors,
                e.den > 0 ? std::sqrt(e.num / e.den) : 0.0, e.max_abs);
  EXPECT_GE(per_type.size(), 4u);
}

}  // namespace
}  // namespace onprem::quant
