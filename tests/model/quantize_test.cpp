// onprem quantize against llama-quantize: the conformance set holds llama.cpp's own Q8_0, Q6_K
// and Q4_K_M files made from the F32 files beside them. Ours, made from the same F32 files, must
// give every tensor the same type and lose no more precision; and perplexity / KL must rank them.
#include <gtest/gtest.h>

#include "support/temp_file.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "model/evaluate.h"
#include "model/imatrix.h"
#include "model/imatrix_collect.h"
#include "text/tokenizer.h"
#include "model/quantize_model.h"
#include "model/weights.h"
#include "quant/dequant.h"

using namespace onprem;

namespace {

std::string conf(const std::string& name) {
  return std::string(ONPREM_SHARED_DIR) + "/conformance/models/" + name + ".gguf";
}

std::vector<float> decode(const gguf::TensorInfo& t) {
  std::vector<float> x(size_t(t.n_elements()));
  const auto d = quant::dequantizer(t.type);
  const uint64_t ne0 = t.ne[0], rows = t.n_elements() / ne0;
  for (uint64_t r = 0; r < rows; ++r) d(t.data + r * t.row_bytes(), x.data() + r * ne0, int64_t(ne0));
  return x;
}

double rel_rms(const std::vector<float>& a, const std::vector<float>& ref) {
  double e = 0, n = 0;
  for (size_t i = 0; i < a.size(); ++i)
    e += (double(a[i]) - ref[i]) * (double(a[i]) - ref[i]), n += double(ref[i]) * ref[i];
  return n > 0 ? std::sqrt(e / n) : 0;
}

}  // namespace

class QuantizeVsLlama : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(QuantizeVsLlama, SameTypesAndNoWorsePrecision) {
  const auto& [arch, type] = GetParam();
  auto f32 = gguf::File::open(conf(arch + "-F32"));
  auto theirs = gguf::File::open(conf(arch + "-" + type));
  ASSERT_TRUE(f32.ok() && theirs.ok());
  const testing_support::TempFile file("quantize_" + arch + type + ".gguf");
  const std::string& out = file.path;
  core::ThreadPool pool(2);
  auto rep = model::quantize_model(*f32, *model::file_type_from_name(type), out, pool);
  ASSERT_TRUE(rep.ok()) << rep.error().to_string();
  auto ours = gguf::File::open(out);
  ASSERT_TRUE(ours.ok());
  EXPECT_EQ(*ours->get_u32("general.file_type"), *theirs->get_u32("general.file_type"));
  ASSERT_EQ(ours->tensors().size(), theirs->tensors().size());
  double worst = 0;
  for (const auto& t : theirs->tensors()) {
    const gguf::TensorInfo* o = ours->tensor(t.name);
    ASSERT_NE(o, nullptr) << t.name;
    EXPECT_EQ(o->type, t.type) << t.name;
    EXPECT_EQ(o->n_bytes, t.n_bytes) << t.name;
    const auto ref = decode(*f32->tensor(t.name));
    const double e_ours = rel_rms(decode(*o), ref), e_theirs = rel_rms(decode(t), ref);
    // Ours may differ bit for bit (llama-quantize searches scales with importance weights) but
    // must not be meaningfully worse on any tensor.
    EXPECT_LE(e_ours, e_theirs * 1.02 + 1e-7) << t.name << " " << type;
    worst = std::max(worst, e_ours / std::max(e_theirs, 1e-12));
  }
  std::printf("%s %s: worst tensor error ratio ours/llama-quantize %.4f\n", arch.c_str(), type.c_str(), worst);
  std::filesystem::remove(out);
}

INSTANTIATE_TEST_SUITE_P(Conformance, QuantizeVsLlama,
                         ::testing::Combine(::testing::Values("qwen35-tiny", "qwen35moe-tiny"),
                                            ::testing::Values("Q8_0", "Q6_K", "Q4_K_M")),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) == "qwen35-tiny" ? "dense" : "moe") + "_" +
                                  std::get<1>(info.param);
                         });

// llama-quantize's own files in the types that need an importance matrix to be made well (the hub's
// IQ4_XS, Q3_K_M, Q2_K, ... files are made with one): ours, from the same F32 file and the same
// llama-imatrix file, must hold every tensor in the same type and lose no more of what that matrix
// weighs: Σ importance × error², the matrix product's expected loss, which both fits minimise.
class QuantizeVsLlamaImatrix : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

std::string realfile(const std::string& name) {
  return std::string(ONPREM_SHARED_DIR) + "/conformance/realfiles/" + name;
}

TEST_P(QuantizeVsLlamaImatrix, SameTypesAndNoWorseWeightedError) {
  const auto& [arch, type] = GetParam();
  auto f32 = gguf::File::open(conf(arch + "-F32"));
  auto theirs = gguf::File::open(realfile("models/" + arch + "-" + type + ".gguf"));
  auto imatrix = model::read_imatrix(realfile("imatrix/" + arch + ".imatrix.gguf"));
  ASSERT_TRUE(f32.ok() && theirs.ok() && imatrix.ok());
  const testing_support::TempFile file("quantize_im_" + arch + type + ".gguf");
  core::ThreadPool pool(2);
  auto rep = model::quantize_model(*f32, *model::file_type_from_name(type), file.path, pool, &*imatrix);
  ASSERT_TRUE(rep.ok()) << rep.error().to_string();
  EXPECT_GT(rep->weighted_tensors, 10);
  auto ours = gguf::File::open(file.path);
  ASSERT_TRUE(ours.ok());
  EXPECT_EQ(*ours->get_u32("general.file_type"), *theirs->get_u32("general.file_type"));
  double worst = 0;
  std::map<std::string, std::pair<double, double>> by_type;  // type -> lowest and highest ratio
  for (const auto& t : theirs->tensors()) {
    const gguf::TensorInfo* o = ours->tensor(t.name);
    ASSERT_NE(o, nullptr) << t.name;
    EXPECT_EQ(o->type, t.type) << t.name;
    EXPECT_EQ(o->n_bytes, t.n_bytes) << t.name;
    if (t.type == core::GgmlType::kF32) continue;
    auto imp = imatrix->importance(std::string(t.name), t.ne[0], t.ne[2]);
    ASSERT_TRUE(imp.ok());
    const auto ref = decode(*f32->tensor(t.name)), a = decode(*o), b = decode(t);
    double e_ours = 0, e_theirs = 0, norm = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      const size_t row = i / t.ne[0], col = i % t.ne[0];
      const double w = imp->empty() ? 1.0 : (*imp)[(row / t.ne[1]) * t.ne[0] + col];
      e_ours += w * (a[i] - ref[i]) * (a[i] - ref[i]);
      e_theirs += w * (b[i] - ref[i]) * (b[i] - ref[i]);
      norm += w * ref[i] * ref[i];
    }
    e_ours = std::sqrt(e_ours / norm), e_theirs = std::sqrt(e_theirs / norm);
    EXPECT_LE(e_ours, e_theirs * 1.02 + 1e-7) << t.name << " " << core::ggml_type_name(t.type);
    const double ratio = e_ours / std::max(e_theirs, 1e-12);
    auto& [lo, hi] = by_type.try_emplace(std::string(core::ggml_type_name(t.type)), 1e9, 0.0).first->second;
    lo = std::min(lo, ratio), hi = std::max(hi, ratio);
    worst = std::max(worst, ratio);
  }
  std::printf("%s %s: worst tensor weighted error ratio ours/llama-quantize %.4f;", arch.c_str(), type.c_str(), worst);
  for (const auto& [name, r] : by_type) std::printf(" %s %.3f-%.3f", name.c_str(), r.first, r.second);
  std::printf("\n");
}

INSTANTIATE_TEST_SUITE_P(
    Realfiles, QuantizeVsLlamaImatrix,
    ::testing::Values(std::make_tuple("qwen35-tiny", "Q2_K"), std::make_tuple("qwen35-tiny", "Q3_K_M"),
                      std::make_tuple("qwen35-tiny", "IQ4_XS"), std::make_tuple("qwen35moe-tiny", "Q2_K"),
                      std::make_tuple("qwen35moe-tiny", "Q3_K_M"), std::make_tuple("qwen35moe-tiny", "Q4_0"),
                      std::make_tuple("qwen35moe-tiny", "Q4_1"), std::make_tuple("qwen35moe-tiny", "Q5_0"),
                      std::make_tuple("qwen35moe-tiny", "Q5_1"), std::make_tuple("qwen35moe-tiny", "Q5_K_M"),
                      std::make_tuple("qwen35moe-tiny", "IQ4_NL"), std::make_tuple("qwen35moe-tiny", "IQ4_XS"),
                      std::make_tuple("qwen35moe-tiny", "MXFP4_MOE"), std::make_tuple("qwen35-tiny", "IQ3_S"),
                      std::make_tuple("qwen35-tiny", "IQ2_XXS"), std::make_tuple("qwen35moe-tiny", "IQ3_XXS"),
                      std::make_tuple("qwen35moe-tiny", "IQ3_S"), std::make_tuple("qwen35moe-tiny", "IQ2_XXS"),
                      std::make_tuple("qwen35moe-tiny", "IQ2_XS"), std::make_tuple("qwen35moe-tiny", "IQ2_S"),
                      std::make_tuple("qwen35moe-tiny", "IQ1_S"), std::make_tuple("qwen35moe-tiny", "IQ1_M")),
    [](const auto& info) {
      return std::string(std::get<0>(info.param) == "qwen35-tiny" ? "dense" : "moe") + "_" + std::get<1>(info.param);
    });

TEST(Perplexity, KlIsZeroAgainstItselfAndRanksQuantisations) {
  auto base = model::load_model(conf("qwen35-tiny-F32"));
  ASSERT_TRUE(base.ok());
  std::vector<int32_t> ids(256);
  uint64_t s = 1;
  for (auto& t : ids)
    t = int32_t((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 33) % int32_t(base->config.n_vocab);
  core::ThreadPool pool(2);
  model::ForwardContext ctx;
  ctx.pool = &pool;
  model::EvalOptions eo;
  eo.ctx = 128;
  auto self = model::evaluate(*base, &*base, ids, eo, ctx);
  ASSERT_TRUE(self.ok());
  EXPECT_EQ(self->scored, 2 * 63);
  EXPECT_LT(self->mean_kl(), 1e-12);
  EXPECT_EQ(self->top1_agree, self->scored);
  EXPECT_DOUBLE_EQ(self->ppl(), self->base_ppl());
  double last_kl = 0;
  for (const char* q : {"Q8_0", "Q6_K", "Q4_K_M"}) {
    auto m = model::load_model(conf(std::string("qwen35-tiny-") + q));
    ASSERT_TRUE(m.ok());
    auto st = model::evaluate(*m, &*base, ids, eo, ctx);
    ASSERT_TRUE(st.ok());
    EXPECT_GT(st->mean_kl(), last_kl) << q;  // fewer bits, more divergence
    last_kl = st->mean_kl();
  }
  eo.ctx = 1024;
  EXPECT_FALSE(model::evaluate(*base, nullptr, ids, eo, ctx).ok());  // shorter than one chunk: a clear error
}

// onprem imatrix against llama-imatrix: the same model, text (spec/model.md) and chunk size as the
// conformance set's matrix give the same per-column means, expert by expert, for every matrix
// both collect (llama-imatrix also collects the float router and shared-expert gate, which the
// quantisers never use).
TEST(Imatrix, MatchesLlamaImatrix) {
  for (const std::string arch : {"qwen35-tiny", "qwen35moe-tiny"}) {
    auto m = model::load_model(conf(arch + "-F32"));
    auto theirs = model::read_imatrix(realfile("imatrix/" + arch + ".imatrix.gguf"));
    ASSERT_TRUE(m.ok() && theirs.ok());
    auto vocab = text::load_vocab(*m->file);
    ASSERT_TRUE(vocab.ok());
    auto tok = text::Tokenizer::create(std::move(*vocab));
    ASSERT_TRUE(tok.ok());
    std::ifstream in(std::string(ONPREM_SHARED_DIR) + "/spec/model.md", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const auto ids = tok->encode(ss.str(), false);
    core::ThreadPool pool(2);
    model::ImatrixCollector collector(*m);
    model::ForwardContext ctx;
    ctx.pool = &pool;
    ctx.matmul_observer = &collector.observer();
    model::EvalOptions eo;
    eo.ctx = 128;
    auto st = model::evaluate(*m, nullptr, ids, eo, ctx);
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(uint32_t(st->chunks), theirs->chunk_count);
    const model::Imatrix ours = collector.result();
    int compared = 0;
    double worst = 0;
    for (const auto& [name, e] : ours.entries) {
      const gguf::TensorInfo* t = m->file->tensor(name);
      ASSERT_NE(t, nullptr);
      auto a = ours.importance(name, t->ne[0], t->ne[2]);
      auto b = theirs->importance(name, t->ne[0], t->ne[2]);
      ASSERT_TRUE(a.ok() && b.ok()) << name;
      ASSERT_FALSE(b->empty()) << name << " is missing from llama-imatrix's file";
      for (size_t i = 0; i < a->size(); ++i)
        worst = std::max(worst, std::fabs((*a)[i] - (*b)[i]) / std::max(1e-6, double(std::fabs((*b)[i]))));
      ++compared;
    }
    EXPECT_GT(compared, 20) << arch;
    EXPECT_LT(worst, 1e-3) << arch;
    std::printf("%s: %d matrices, worst relative difference of a column mean %.2e\n", arch.c_str(), compared, worst);
  }
}

// llama-imatrix's legacy .dat layout (its --output-format dat) holds means × calls; written here
// by hand from the GGUF matrix, it must read back to the same importances. A cut file is an error.
TEST(Imatrix, ReadsTheLegacyFormat) {
  auto gguf_m = model::read_imatrix(realfile("imatrix/qwen35-tiny.imatrix.gguf"));
  ASSERT_TRUE(gguf_m.ok());
  const testing_support::TempFile file("legacy.imatrix.dat");
  std::string bytes;
  auto put = [&](const void* p, size_t n) { bytes.append(static_cast<const char*>(p), n); };
  const int32_t n = int32_t(gguf_m->entries.size()), calls = 7;
  put(&n, 4);
  for (const auto& [name, e] : gguf_m->entries) {
    const int32_t len = int32_t(name.size()), nval = int32_t(e.sum2.size());
    put(&len, 4), put(name.data(), name.size()), put(&calls, 4), put(&nval, 4);
    for (float v : e.sum2) {
      const float stored = v / e.counts[0] * float(calls);
      put(&stored, 4);
    }
  }
  std::ofstream(file.path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  auto legacy = model::read_imatrix(file.path);
  ASSERT_TRUE(legacy.ok()) << legacy.error().to_string();
  ASSERT_EQ(legacy->entries.size(), gguf_m->entries.size());
  for (const auto& [name, e] : gguf_m->entries) {
    auto a = gguf_m->importance(name, e.sum2.size(), 1), b = legacy->importance(name, e.sum2.size(), 1);
    ASSERT_TRUE(a.ok() && b.ok());
    for (size_t i = 0; i < a->size(); ++i) EXPECT_NEAR((*a)[i], (*b)[i], 1e-6 * std::fabs((*a)[i]) + 1e-12) << name;
  }
  std::ofstream(file.path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
  EXPECT_FALSE(model::read_imatrix(file.path).ok());
  // A matrix entry of the wrong size for the tensor is named.
  auto bad = gguf_m->importance(gguf_m->entries.begin()->first, 3, 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().to_string().find(gguf_m->entries.begin()->first), std::string::npos);
}
