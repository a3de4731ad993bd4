// load_model refuses what it cannot run with an error that says what and where.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "support/temp_file.h"

#include "gguf/writer.h"
#include "model/forward.h"
#include "model/generate.h"
#include "model/rope.h"
#include "model/tensor_table.h"
#include "model/weights.h"

namespace onprem::model {
namespace {

namespace fs = std::filesystem;
const std::string kModel = std::string(ONPREM_SHARED_DIR) + "/conformance/models/qwen35moe-tiny-Q4_K_M.gguf";

// Copies the conformance model, dropping a tensor and/or overriding the architecture, and adding
// small F32 tensors with the given names.
std::string copy_model(const std::string& drop_tensor, const std::string& arch, const std::string& tag,
                       const std::vector<std::string>& extra = {}) {
  auto f = gguf::File::open(kModel);
  EXPECT_TRUE(f.ok());
  gguf::Writer w;
  for (const auto& [k, v] : f->metadata()) {
    if (k == "general.architecture" && !arch.empty())
      w.set_string(k, arch);
    else
      w.set_value(k, v);
  }
  for (const auto& t : f->tensors()) {
    if (t.name == drop_tensor) continue;
    std::vector<uint64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    w.add_tensor_bytes(std::string(t.name), t.type, ne, std::vector<uint8_t>(t.data, t.data + t.n_bytes));
  }
  for (const auto& name : extra) w.add_tensor_bytes(name, core::GgmlType::kF32, {4}, std::vector<uint8_t>(16, 0));
  const std::string path = testing_support::TempFile::unique_path("load_" + tag + ".gguf");
  EXPECT_TRUE(w.write(path).ok());
  return path;
}

TEST(LoadModel, LoadsTheConformanceModel) {
  auto m = load_model(kModel);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->layers.size(), 4u);
  EXPECT_TRUE(m->layers[0].recurrent);
  EXPECT_EQ(m->layers[3].wq.view.n_rows, 512);
  EXPECT_EQ(m->layers[0].gate_exps.n_expert, 4);
}

TEST(LoadModel, MissingTensorIsNamed) {
  const std::string path = copy_model("blk.2.ssm_alpha.weight", "", "missing");
  auto m = load_model(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, core::ErrorCode::kNotFound);
  EXPECT_NE(m.error().message.find("blk.2.ssm_alpha.weight"), std::string::npos);
}

// Names a hostile file may carry: the "blk.N." parser must never throw (it once called stoul).
TEST(LoadModel, MalformedBlockNamesAreNotAnException) {
  EXPECT_EQ(block_index("blk.12.attn_q.weight"), 12u);
  EXPECT_EQ(block_index("blk.0.x"), 0u);
  for (const char* bad : {"blk.x.junk", "blk..junk", "blk.", "blk.7", "blk.-1.junk", "blk.99999999999999999999.junk",
                          "blk.4294967296.junk", "blk 1.junk", "token_embd.weight", ""})
    EXPECT_FALSE(block_index(bad).has_value()) << bad;
  const std::string path =
      copy_model("", "", "junk_names", {"blk.x.junk", "blk.99999999999999999999.junk", "blk..junk"});
  auto m = load_model(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(m.ok()) << m.error().to_string();  // unknown tensors are ignored, as llama.cpp does
  auto ref = load_model(kModel);
  ASSERT_TRUE(ref.ok());
  // The extra tensors are 16 bytes each, all read by the bytes-per-token count (none is an MTP block).
  EXPECT_EQ(weight_bytes_per_token(*m), weight_bytes_per_token(*ref) + 3 * 16);
}

// Every tensor is bound from the table by the member it names; a file without output.weight gets
// the embedding as its LM head, as llama.cpp does.
TEST(LoadModel, BindsEveryTableTensorAndTiesAMissingHead) {
  auto ref = load_model(kModel);
  ASSERT_TRUE(ref.ok());
  for (const TensorSpec& s : tensor_table(ref->config)) {
    const auto* t = ref->file->tensor(s.name);
    ASSERT_NE(t, nullptr) << s.name;
    if (s.layer_matrix) {
      EXPECT_EQ((ref->layers[size_t(s.layer)].*s.layer_matrix).view.data, t->data) << s.name;
    }
    if (s.layer_floats) {
      EXPECT_EQ((ref->layers[size_t(s.layer)].*s.layer_floats).size(), t->n_elements()) << s.name;
    }
    if (s.model_matrix) {
      EXPECT_EQ(((*ref).*s.model_matrix).view.data, t->data) << s.name;
    }
  }
  const std::string path = copy_model("output.weight", "", "tied");
  auto m = load_model(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->output.view.data, m->token_embd.view.data);
  EXPECT_NE(m->output.view.data, nullptr);
}

TEST(LoadModel, OtherArchitectureIsRefused) {
  const std::string path = copy_model("", "llama", "llama");
  auto m = load_model(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, core::ErrorCode::kUnsupported);
  EXPECT_NE(m.error().message.find("'llama'"), std::string::npos);
}

TEST(LoadModel, TruncatedFileSaysWhere) {
  std::ifstream in(kModel, std::ios::binary);
  std::vector<char> bytes(200000);
  in.read(bytes.data(), std::streamsize(bytes.size()));
  const testing_support::TempFile file("load_trunc.gguf");
  const std::string& path = file.path;
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  auto m = load_model(path);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, core::ErrorCode::kTruncated);
  EXPECT_NE(m.error().to_string().find("at byte"), std::string::npos);
}

TEST(Forward, RejectsBadRequestsWithoutTouchingTheState) {
  auto m = *load_model(kModel);
  auto st = make_state(m.config, 8);
  auto ws = make_workspace(m.config, 4, 1);
  ForwardContext ctx;
  std::vector<float> logits(static_cast<size_t>(m.config.n_vocab) * 8);
  const int32_t bad[2] = {1, 99999};
  auto r = forward(m, st, ws, bad, 2, logits.data(), false, ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("99999"), std::string::npos);
  const int32_t ok[5] = {1, 2, 3, 4, 5};
  EXPECT_FALSE(forward(m, st, ws, ok, 5, logits.data(), false, ctx).ok());  // more than the workspace holds
  EXPECT_EQ(st.n_past, 0);
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(forward(m, st, ws, ok, 4, logits.data(), false, ctx).ok());
  auto full = forward(m, st, ws, ok, 1, logits.data(), false, ctx);  // 8 of 8 used
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.error().message.find("context full"), std::string::npos);
}

}  // namespace
}  // namespace onprem::model

namespace onprem::model {
namespace {

// A file with the experts' gate and up fused into ffn_gate_up_exps gives the same logits.
TEST(LoadModel, FusedGateUpExpertsGiveTheSameLogits) {
  auto f = gguf::File::open(kModel);
  ASSERT_TRUE(f.ok());
  gguf::Writer w;
  for (const auto& [k, v] : f->metadata()) w.set_value(k, v);
  for (const auto& t : f->tensors()) {
    const std::string name(t.name);
    std::vector<uint64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    if (name.find("ffn_up_exps") != std::string::npos) continue;
    if (name.find("ffn_gate_exps") != std::string::npos) {
      const std::string layer = name.substr(0, name.find(".ffn_"));
      const auto* up = f->tensor(layer + ".ffn_up_exps.weight");
      ASSERT_EQ(up->type, t.type);
      const uint64_t per = t.n_bytes / t.ne[2];
      std::vector<uint8_t> bytes;
      for (uint64_t e = 0; e < t.ne[2]; ++e) {
        bytes.insert(bytes.end(), t.data + e * per, t.data + (e + 1) * per);
        bytes.insert(bytes.end(), up->data + e * per, up->data + (e + 1) * per);
      }
      w.add_tensor_bytes(layer + ".ffn_gate_up_exps.weight", t.type, {ne[0], 2 * ne[1], ne[2]}, bytes);
      continue;
    }
    w.add_tensor_bytes(name, t.type, ne, std::vector<uint8_t>(t.data, t.data + t.n_bytes));
  }
  const testing_support::TempFile file("fused.gguf");
  const std::string& path = file.path;
  ASSERT_TRUE(w.write(path).ok());
  auto split = *load_model(kModel);
  auto fused = load_model(path);
  ASSERT_TRUE(fused.ok()) << fused.error().to_string();
  const int32_t ids[6] = {5, 60, 7, 300, 42, 1};
  std::vector<float> a(static_cast<size_t>(6 * split.config.n_vocab)), b(a.size());
  auto eval = [&](const Model& m, std::vector<float>& out) {
    auto st = make_state(m.config, 16);
    auto ws = make_workspace(m.config, 6, 1);
    ForwardContext ctx;
    ASSERT_TRUE(forward(m, st, ws, ids, 6, out.data(), true, ctx).ok());
  };
  eval(split, a);
  eval(*fused, b);
  EXPECT_EQ(a, b);
  // A token reads n_expert_used of the fused tensor's slices too: it is known by name as routed
  // experts, not read whole.
  EXPECT_EQ(weight_bytes_per_token(split), weight_bytes_per_token(*fused));
}

TEST(TensorTable, RoutedExpertNamesAreTheTablesAndTheFusedForm) {
  auto f = gguf::File::open(kModel);
  ASSERT_TRUE(f.ok());
  const ModelConfig c = *load_config(*f);
  ASSERT_TRUE(c.is_moe());
  const auto names = routed_expert_names(c);
  EXPECT_EQ(names.size(), 4u * c.n_main());  // gate, up, down and the fused gate_up, per layer
  EXPECT_TRUE(names.count("blk.0.ffn_down_exps.weight"));
  EXPECT_TRUE(names.count(fused_gate_up_name(int(c.n_main()) - 1)));
  EXPECT_FALSE(names.count("blk.0.ffn_down_shexp.weight"));  // the shared expert is read whole
  EXPECT_FALSE(names.count("blk." + std::to_string(c.n_layer) + ".ffn_down_exps.weight"));
  // An MTP block's experts are experts too (the planner scales them like the others).
  ModelConfig mtp = c;
  mtp.n_layer += 1, mtp.n_nextn += 1;
  const auto with_mtp = routed_expert_names(mtp);
  EXPECT_EQ(with_mtp.size(), names.size() + 4);
  EXPECT_TRUE(with_mtp.count("blk." + std::to_string(c.n_layer) + ".ffn_up_exps.weight"));
  ModelConfig dense = c;
  dense.arch = Arch::kQwen35;
  EXPECT_TRUE(routed_expert_names(dense).empty());
}

}  // namespace
}  // namespace onprem::model

namespace onprem::model {
namespace {

// Several sequences in one call (prefill and decode mixed) give exactly what separate calls give.
TEST(ForwardBatch, EqualsSeparateCalls) {
  for (const char* name : {"qwen35moe-tiny-Q4_K_M", "qwen35-tiny-F32"}) {
    auto m = *load_model(std::string(ONPREM_SHARED_DIR) + "/conformance/models/" + name + ".gguf");
    const int64_t V = m.config.n_vocab;
    const std::vector<std::vector<int32_t>> prompts = {
        {1, 2, 3, 4, 5, 6, 7}, {40, 41}, {300}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11}};
    core::ThreadPool pool(2);
    ForwardContext ctx;
    ctx.pool = &pool;
    // Separately.
    std::vector<std::vector<float>> want;
    std::vector<SequenceState> solo;
    for (const auto& p : prompts) {
      solo.push_back(make_state(m.config, 64));
      auto ws = make_workspace(m.config, 16, 2);
      std::vector<float> l(static_cast<size_t>(V));
      ASSERT_TRUE(forward(m, solo.back(), ws, p.data(), int64_t(p.size()), l.data(), false, ctx).ok());
      const int32_t next = 17;
      ASSERT_TRUE(forward(m, solo.back(), ws, &next, 1, l.data(), false, ctx).ok());
      want.push_back(l);
    }
    // Together: all prompts in one call, then one decode step for all in one call.
    std::vector<SequenceState> states;
    for (size_t i = 0; i < prompts.size(); ++i) states.push_back(make_state(m.config, 64));
    auto ws = make_workspace(m.config, 32, 2);
    std::vector<std::vector<float>> got(prompts.size(), std::vector<float>(static_cast<size_t>(V)));
    std::vector<BatchEntry> batch;
    for (size_t i = 0; i < prompts.size(); ++i)
      batch.push_back({&states[i], prompts[i].data(), int64_t(prompts[i].size()), got[i].data(), false});
    ASSERT_TRUE(forward_batch(m, batch, ws, ctx).ok());
    const int32_t next = 17;
    for (auto& e : batch) e.tokens = &next, e.n = 1;
    ASSERT_TRUE(forward_batch(m, batch, ws, ctx).ok());
    for (size_t i = 0; i < prompts.size(); ++i) {
      EXPECT_EQ(got[i], want[i]) << name << " sequence " << i;
      EXPECT_EQ(states[i].n_past, solo[i].n_past);
      for (size_t l = 0; l < states[i].ssm.size(); ++l) EXPECT_EQ(states[i].ssm[l], solo[i].ssm[l]);
    }
  }
}

}  // namespace
}  // namespace onprem::model

namespace onprem::model {
namespace {

// model.md §10, derived there by hand for the real models: pairs 0-14 keep their frequency,
// 22-31 are divided by s, 15-21 blend; mscale 1.13863 for s = 4.
TEST(Rope, YarnParametersOfTheRealModels) {
  const auto c = *preset_config("27b");
  const YarnParams y = yarn_params(c, 4);
  EXPECT_EQ(y.low, 14);
  EXPECT_EQ(y.high, 22);
  EXPECT_NEAR(y.mscale, 1.13863, 1e-5);
  EXPECT_EQ(yarn_ramp(y, 14), 1.0f);
  EXPECT_EQ(yarn_ramp(y, 22), 0.0f);
  EXPECT_NEAR(yarn_ramp(y, 15), 0.875, 1e-6);
  EXPECT_NEAR(yarn_ramp(y, 21), 0.125, 1e-6);
  EXPECT_NEAR(yarn_params(c, 2).mscale, 1.06931, 1e-5);
  // Factor 1 is plain RoPE; pair 31 under YaRN turns at a quarter of the speed.
  std::vector<float> a(256, 0), b(256, 0);
  a[31] = b[31] = 1;
  rope_neox(a.data(), 1000, c, 1);
  rope_neox(b.data(), 1000, c, 4);
  const double theta = 1000 * std::pow(1e7, -2.0 * 31 / 64);
  EXPECT_NEAR(a[31], std::cos(theta), 1e-4);
  EXPECT_NEAR(b[31], std::cos(theta / 4) * 1.13863, 1e-4);
}

}  // namespace
}  // namespace onprem::model
