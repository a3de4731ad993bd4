// The Vulkan backend against the CPU: every matmul weight type against the CPU's dequantiser and a
// double-precision dot, RMSNorm against its formula, buffers byte for byte, graphs replayed, and
// bad arguments refused. Runs on any Vulkan driver; CI uses Mesa's lavapipe (a CPU device), where
// ONPREM_REQUIRE_VULKAN=1 turns a missing device into a failure instead of a skip.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "backend/vulkan/buffer.h"
#include "backend/vulkan/device.h"
#include "backend/vulkan/ops.h"
#include "backend/vulkan/pipeline.h"
#include "core/ggml_type.h"
#include "quant/dequant.h"
#include "quant/quantize.h"

namespace onprem::vulkan {
namespace {

using core::GgmlType;

bool required() {
  const char* v = std::getenv("ONPREM_REQUIRE_VULKAN");
  return v && std::string(v) == "1";
}

// The first device, opened once for the whole test binary.
Device* device() {
  static std::unique_ptr<Device> d = [] {
    std::string error;
    auto opened = open_device(0, &error);
    if (!opened) std::fprintf(stderr, "no Vulkan device: %s\n", error.c_str());
    return opened;
  }();
  return d.get();
}

#define NEED_DEVICE()                                                                  \
  do {                                                                                 \
    if (!device()) {                                                                   \
      if (required()) FAIL() << "ONPREM_REQUIRE_VULKAN=1 and no Vulkan device opened"; \
      GTEST_SKIP() << "no Vulkan device on this machine";                              \
    }                                                                                  \
  } while (0)

Buffer make(uint64_t bytes, Memory where = Memory::kDevice) {
  Buffer b;
  std::string error;
  EXPECT_TRUE(create_buffer(*device(), bytes, where, b, &error)) << error;
  return b;
}

void put(Buffer& b, const void* src, uint64_t bytes, uint64_t offset = 0) {
  std::string error;
  ASSERT_TRUE(upload(b, offset, src, bytes, &error)) << error;
}

std::vector<float> get(const Buffer& b, uint64_t n) {
  std::vector<float> out(n);
  std::string error;
  EXPECT_TRUE(download(b, 0, out.data(), n * 4, &error)) << error;
  return out;
}

TEST(Vulkan, ListsTheDevices) {
  const DeviceList list = list_devices();
  if (list.devices.empty()) {
    if (required()) FAIL() << "no Vulkan device: " << list.error;
    GTEST_SKIP() << list.error;
  }
  for (const auto& d : list.devices) {
    EXPECT_FALSE(d.name.empty());
    EXPECT_GE(d.api_major, 1u);
  }
  EXPECT_TRUE(list.devices[0].has_compute_queue);
}

TEST(Vulkan, OpeningAMissingDeviceIsAnError) {
  NEED_DEVICE();
  std::string error;
  EXPECT_EQ(open_device(1000, &error), nullptr);
  EXPECT_NE(error.find("no Vulkan device 1000"), std::string::npos) << error;
}

TEST(Vulkan, BuffersCarryBytesBothWays) {
  NEED_DEVICE();
  std::mt19937 rng(7);
  std::vector<uint8_t> data(100003);
  for (auto& b : data) b = uint8_t(rng());
  Buffer dev = make(data.size() + 64);
  std::string error;
  // A staging chunk far smaller than the data, at an odd offset, with progress reported.
  uint64_t last_done = 0;
  const Progress progress = [](uint64_t done, uint64_t, void* user) { *static_cast<uint64_t*>(user) = done; };
  ASSERT_TRUE(upload(dev, 4, data.data(), data.size(), &error, progress, &last_done, 4096)) << error;
  EXPECT_EQ(last_done, data.size());
  std::vector<uint8_t> back(data.size());
  ASSERT_TRUE(download(dev, 4, back.data(), back.size(), &error)) << error;
  EXPECT_EQ(back, data);
  // Past the end is an error, not a write.
  EXPECT_FALSE(upload(dev, dev.bytes - 8, data.data(), 16, &error));
  EXPECT_NE(error.find("overruns"), std::string::npos) << error;
  EXPECT_FALSE(download(dev, dev.bytes, back.data(), 1, &error));
}

// Quantised rows of `type`, each followed by `gap` bytes of junk, from byte `lead`: the layout of
// an expert's slice of a stacked tensor, or of rows with padding.
struct Matrix {
  std::vector<uint8_t> bytes;
  std::vector<float> values;  // the CPU's dequantisation of the rows, row-major
  uint64_t row_bytes = 0, lead = 0;
};

Matrix quantised(GgmlType type, uint32_t rows, uint32_t cols, uint64_t lead, uint64_t gap, std::mt19937& rng) {
  const auto info = *core::ggml_type_info(uint32_t(type));
  const uint64_t packed = core::ggml_row_bytes(info, cols);
  Matrix m;
  m.lead = lead;
  m.row_bytes = packed + gap;
  m.bytes.assign(lead + rows * m.row_bytes, 0xA5);
  m.values.resize(uint64_t(rows) * cols);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> row(cols);
  for (uint32_t r = 0; r < rows; ++r) {
    // Rows of different scales, some with an offset (K-quants' minimums matter then).
    const float scale = 0.01f + 0.2f * float(r % 7), shift = (r % 3 == 0) ? 0.5f * scale : 0.0f;
    for (auto& v : row) v = normal(rng) * scale + shift;
    uint8_t* dst = m.bytes.data() + lead + r * m.row_bytes;
    if (type == GgmlType::kF32)
      std::memcpy(dst, row.data(), packed);
    else
      quant::quantizer(type)(row.data(), dst, cols, nullptr);
    quant::dequantizer(type)(dst, m.values.data() + uint64_t(r) * cols, cols);
  }
  return m;
}

// Checks the device's y against the dequantised rows times x in double precision. The bound is
// float arithmetic's worst case: a sum of n terms in any order, each term (a product of at most
// four rounded factors; K-quants subtract a minimum, so a term can reach twice the row's largest
// weight) off by (n + 8) units of 2^-24 of the sum of the terms' magnitudes.
void expect_matmul(const std::vector<float>& y, const Matrix& m, const std::vector<float>& x, uint32_t rows,
                   uint32_t cols, uint32_t tokens, uint32_t x_offset, uint32_t x_stride, uint32_t y_offset,
                   uint32_t y_stride, const char* what) {
  int bad = 0;
  for (uint32_t t = 0; t < tokens; ++t)
    for (uint32_t r = 0; r < rows; ++r) {
      double want = 0, magnitude = 0, wmax = 0;
      const float* w = m.values.data() + uint64_t(r) * cols;
      const float* xt = x.data() + x_offset + uint64_t(t) * x_stride;
      for (uint32_t c = 0; c < cols; ++c) wmax = std::max(wmax, std::fabs(double(w[c])));
      for (uint32_t c = 0; c < cols; ++c) {
        want += double(w[c]) * xt[c];
        magnitude += 2 * wmax * std::fabs(double(xt[c]));
      }
      const double tol = (cols + 8) * std::ldexp(1.0, -24) * magnitude + 1e-30;
      const double got = y[y_offset + uint64_t(t) * y_stride + r];
      if (!(std::fabs(got - want) <= tol) && ++bad <= 5)
        ADD_FAILURE() << what << " row " << r << " token " << t << ": " << got << " vs " << want << " (tol " << tol
                      << ")";
    }
  EXPECT_EQ(bad, 0) << what;
}

struct TypeCase {
  GgmlType type;
  uint32_t cols;
};

void PrintTo(const TypeCase& c, std::ostream* os) { *os << core::ggml_type_name(c.type) << " x " << c.cols; }

class VulkanMatmul : public ::testing::TestWithParam<TypeCase> {};

TEST_P(VulkanMatmul, MatchesTheCpuDequantisation) {
  NEED_DEVICE();
  const auto [type, cols] = GetParam();
  std::mt19937 rng(uint32_t(type) * 31 + cols);
  // 70 rows: more than one workgroup's worth of threads per row never matters, several rows do.
  const uint32_t rows = 70, tokens = 3, x_offset = 5, x_stride = cols + 3, y_offset = 2, y_stride = rows + 1;
  const Matrix m = quantised(type, rows, cols, /*lead=*/40, /*gap=*/8, rng);
  std::vector<float> x(x_offset + tokens * x_stride);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (auto& v : x) v = normal(rng);
  Buffer wb = make(m.bytes.size()), xb = make(x.size() * 4), yb = make((y_offset + tokens * y_stride) * 4);
  put(wb, m.bytes.data(), m.bytes.size());
  put(xb, x.data(), x.size() * 4);
  Ops ops(*device());
  Graph g(*device());
  MatmulArgs a;
  a.type = type;
  a.rows = rows;
  a.cols = cols;
  a.tokens = tokens;
  a.row_bytes = m.row_bytes;
  a.w_offset = m.lead;
  a.x_offset = x_offset;
  a.x_stride = x_stride;
  a.y_offset = y_offset;
  a.y_stride = y_stride;
  std::string error;
  ASSERT_TRUE(ops.matmul(g, wb, xb, yb, a, &error)) << error;
  ASSERT_TRUE(g.run(&error)) << error;
  expect_matmul(get(yb, y_offset + tokens * y_stride), m, x, rows, cols, tokens, x_offset, x_stride, y_offset, y_stride,
                core::ggml_type_name(type).c_str());
}

INSTANTIATE_TEST_SUITE_P(
    EveryType, VulkanMatmul,
    ::testing::Values(TypeCase{GgmlType::kF32, 96}, TypeCase{GgmlType::kF16, 130}, TypeCase{GgmlType::kBF16, 130},
                      TypeCase{GgmlType::kQ8_0, 320}, TypeCase{GgmlType::kQ4_0, 320}, TypeCase{GgmlType::kQ4_1, 320},
                      TypeCase{GgmlType::kQ5_0, 320}, TypeCase{GgmlType::kQ5_1, 320}, TypeCase{GgmlType::kQ4_K, 768},
                      TypeCase{GgmlType::kQ5_K, 768}, TypeCase{GgmlType::kQ6_K, 768}, TypeCase{GgmlType::kQ2_K, 768},
                      TypeCase{GgmlType::kQ3_K, 768}, TypeCase{GgmlType::kIQ4_NL, 320},
                      TypeCase{GgmlType::kIQ4_XS, 768}, TypeCase{GgmlType::kMXFP4, 320},
                      TypeCase{GgmlType::kIQ3_S, 768}, TypeCase{GgmlType::kIQ3_XXS, 768},
                      TypeCase{GgmlType::kIQ2_S, 768}, TypeCase{GgmlType::kIQ2_XS, 768},
                      TypeCase{GgmlType::kIQ2_XXS, 768}, TypeCase{GgmlType::kIQ1_M, 768},
                      TypeCase{GgmlType::kIQ1_S, 768},
                      // More blocks than a workgroup has threads.
                      TypeCase{GgmlType::kQ8_0, 32 * 70}, TypeCase{GgmlType::kF32, 4100}),
    [](const auto& info) { return core::ggml_type_name(info.param.type) + "_" + std::to_string(info.param.cols); });

TEST(Vulkan, MatmulCoversRowsBeyondOneDispatchDimension) {
  NEED_DEVICE();
  // A vocabulary-sized output: rows past 32,768 go to the z dimension.
  std::mt19937 rng(3);
  const uint32_t rows = 70000, cols = 32;
  const Matrix m = quantised(GgmlType::kQ8_0, rows, cols, 0, 0, rng);
  std::vector<float> x(cols);
  for (auto& v : x) v = std::normal_distribution<float>(0.0f, 1.0f)(rng);
  Buffer wb = make(m.bytes.size()), xb = make(x.size() * 4), yb = make(rows * 4);
  put(wb, m.bytes.data(), m.bytes.size());
  put(xb, x.data(), x.size() * 4);
  Ops ops(*device());
  Graph g(*device());
  MatmulArgs a;
  a.type = GgmlType::kQ8_0;
  a.rows = rows;
  a.cols = cols;
  a.row_bytes = m.row_bytes;
  std::string error;
  ASSERT_TRUE(ops.matmul(g, wb, xb, yb, a, &error)) << error;
  ASSERT_TRUE(g.run(&error)) << error;
  expect_matmul(get(yb, rows), m, x, rows, cols, 1, 0, 0, 0, 0, "Q8_0 70000 rows");
}

TEST(Vulkan, RmsNormMatchesItsFormula) {
  NEED_DEVICE();
  std::mt19937 rng(11);
  const uint32_t n = 1000, tokens = 3, stride = 1003;
  std::vector<float> x(tokens * stride), w(n);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (auto& v : x) v = normal(rng);
  for (auto& v : w) v = 1.0f + 0.1f * normal(rng);
  Buffer wb = make(n * 4), xb = make(x.size() * 4), yb = make(x.size() * 4);
  put(wb, w.data(), n * 4);
  put(xb, x.data(), x.size() * 4);
  Ops ops(*device());
  Graph g(*device());
  RmsNormArgs a;
  a.n = n;
  a.tokens = tokens;
  a.x_stride = stride;
  a.y_stride = stride;
  a.eps = 1e-6f;
  std::string error;
  ASSERT_TRUE(ops.rms_norm(g, wb, xb, yb, a, &error)) << error;
  ASSERT_TRUE(g.run(&error)) << error;
  const auto y = get(yb, x.size());
  for (uint32_t t = 0; t < tokens; ++t) {
    double ss = 0;
    for (uint32_t i = 0; i < n; ++i) ss += double(x[t * stride + i]) * x[t * stride + i];
    const double scale = 1.0 / std::sqrt(ss / n + 1e-6);
    for (uint32_t i = 0; i < n; ++i) {
      const double want = x[t * stride + i] * scale * w[i];
      // The mean square summed in float (n + 8 units), then a square root and two products.
      EXPECT_NEAR(y[t * stride + i], want, (n + 16) * std::ldexp(1.0, -24) * std::fabs(want) + 1e-30)
          << "token " << t << " value " << i;
    }
  }
}

TEST(Vulkan, AGraphIsRecordedOnceAndReplayed) {
  NEED_DEVICE();
  // norm -> matmul, replayed on new activations: the second run must see the new input, and give
  // what a freshly recorded graph gives.
  std::mt19937 rng(5);
  const uint32_t n = 256, rows = 40;
  const Matrix m = quantised(GgmlType::kQ4_K, rows, n, 0, 0, rng);
  std::vector<float> norm_w(n, 1.0f), x1(n), x2(n);
  for (auto& v : x1) v = std::normal_distribution<float>(0.0f, 1.0f)(rng);
  for (auto& v : x2) v = std::normal_distribution<float>(0.0f, 3.0f)(rng);
  Buffer wb = make(m.bytes.size()), nb = make(n * 4), xb = make(n * 4), hb = make(n * 4), yb = make(rows * 4);
  put(wb, m.bytes.data(), m.bytes.size());
  put(nb, norm_w.data(), n * 4);
  Ops ops(*device());
  MatmulArgs mm;
  mm.type = GgmlType::kQ4_K;
  mm.rows = rows;
  mm.cols = n;
  mm.row_bytes = m.row_bytes;
  RmsNormArgs rn;
  rn.n = n;
  std::string error;
  const auto record = [&](Graph& g) {
    ASSERT_TRUE(ops.rms_norm(g, nb, xb, hb, rn, &error)) << error;
    ASSERT_TRUE(ops.matmul(g, wb, hb, yb, mm, &error)) << error;
  };
  Graph replayed(*device());
  record(replayed);
  EXPECT_EQ(replayed.dispatches(), 2u);
  put(xb, x1.data(), n * 4);
  ASSERT_TRUE(replayed.run(&error)) << error;
  const auto y1 = get(yb, rows);
  put(xb, x2.data(), n * 4);
  ASSERT_TRUE(replayed.run(&error)) << error;
  const auto y2 = get(yb, rows);
  EXPECT_NE(y1, y2);
  Graph fresh(*device());
  record(fresh);
  ASSERT_TRUE(fresh.run(&error)) << error;
  EXPECT_EQ(get(yb, rows), y2);
  // A graph that has run is closed to new dispatches.
  EXPECT_FALSE(ops.rms_norm(replayed, nb, xb, hb, rn, &error));
}

TEST(Vulkan, BadMatmulsAreRefused) {
  NEED_DEVICE();
  Buffer wb = make(1024), xb = make(1024), yb = make(1024);
  Ops ops(*device());
  Graph g(*device());
  std::string error;
  MatmulArgs a;
  a.type = GgmlType::kQ4_K;
  a.rows = 2;
  a.cols = 100;  // not a whole block
  a.row_bytes = 144;
  EXPECT_FALSE(ops.matmul(g, wb, xb, yb, a, &error));
  EXPECT_NE(error.find("blocks"), std::string::npos) << error;
  a.cols = 256;
  a.rows = 100;  // 14,400 bytes of weights in a 1 KiB buffer
  EXPECT_FALSE(ops.matmul(g, wb, xb, yb, a, &error));
  EXPECT_NE(error.find("overruns"), std::string::npos) << error;
  a.type = GgmlType::kTQ1_0;  // a type the CPU does not read either
  EXPECT_FALSE(ops.matmul(g, wb, xb, yb, a, &error));
  EXPECT_NE(error.find("no matmul"), std::string::npos) << error;
  EXPECT_EQ(g.dispatches(), 0u);
}

}  // namespace
}  // namespace onprem::vulkan
