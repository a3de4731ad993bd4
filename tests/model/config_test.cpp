#include <filesystem>

#include <gtest/gtest.h>

#include "gguf/file.h"
#include "gguf/writer.h"
#include "model/config.h"
#include "model/generate.h"
#include "model/memory.h"
#include "model/tensor_table.h"

namespace onprem::model {
namespace {

namespace fs = std::filesystem;
const fs::path kModels = fs::path(ONPREM_SHARED_DIR) / "conformance/models";

TEST(Config, ReadsEveryConformanceModel) {
  for (const auto& e : fs::directory_iterator(kModels)) {
    auto f = gguf::File::open(e.path().string());
    ASSERT_TRUE(f.ok());
    auto c = load_config(*f);
    ASSERT_TRUE(c.ok()) << e.path() << ": " << c.error().to_string();
    EXPECT_EQ(c->n_layer, 4u);
    EXPECT_EQ(c->n_embd, 256u);
    EXPECT_EQ(c->n_vocab, 512u);
    EXPECT_EQ(c->recurrent, (std::vector<bool>{true, true, true, false}));
    EXPECT_EQ(c->n_rot, 16u);
    EXPECT_EQ(c->rope_sections[2], 2);
    EXPECT_EQ(c->ssm_d_inner, 256u);
    EXPECT_EQ(c->is_moe(), e.path().filename().string().find("moe") != std::string::npos);
    auto st = check_tensors(*f, *c);
    EXPECT_TRUE(st.ok()) << st.error().to_string();
  }
}

// model.md §11's table, derived there by hand for the real models.
TEST(Memory, RealModelStateSizes) {
  auto c27 = *preset_config("27b");
  auto c35 = *preset_config("35b-a3b");
  EXPECT_EQ(c27.n_recurrent_layers(), 48u);
  EXPECT_EQ(c35.n_attention_layers(), 10u);
  const auto s27 = state_sizes(c27), s35 = state_sizes(c35);
  EXPECT_EQ(s27.kv_bytes_per_token, 65536u);
  EXPECT_EQ(s35.kv_bytes_per_token, 20480u);
  EXPECT_EQ(state_sizes(c27, 34, 32).kv_bytes_per_token, 34816u);
  EXPECT_EQ(state_sizes(c35, 34, 32).kv_bytes_per_token, 10880u);
  EXPECT_EQ(s27.fixed_state_bytes(), 156893184u);
  EXPECT_EQ(s35.fixed_state_bytes(), 65863680u);
  // llama-server's "total state size = 64.651 MiB" for 94 tokens on 35B-A3B (within 3 KB).
  EXPECT_NEAR(double(s35.per_sequence_bytes(94)) / 1048576.0, 64.651, 0.005);
}

// Builds a valid tiny file, then breaks one key at a time.
std::vector<uint8_t> tiny_with(const std::function<void(ModelConfig&)>& edit, const char* drop_key = nullptr) {
  ModelConfig c = *preset_config("tiny");
  edit(c);
  gguf::Writer full;
  write_config_keys(c, full);
  full.set_string_array("tokenizer.ggml.tokens", std::vector<std::string>(c.n_vocab, "x"));
  auto bytes = *full.write_to_memory();
  if (!drop_key) return bytes;
  // Rewrite without one key by copying the others.
  auto f = gguf::File::parse(bytes.data(), bytes.size());
  gguf::Writer w;
  for (const auto& [k, v] : f->metadata())
    if (k != drop_key) w.set_value(k, v);
  return *w.write_to_memory();
}

core::Error config_error(const std::vector<uint8_t>& b) {
  auto f = gguf::File::parse(b.data(), b.size());
  EXPECT_TRUE(f.ok());
  auto c = load_config(*f);
  EXPECT_FALSE(c.ok());
  return c.ok() ? core::Error{} : c.error();
}

TEST(Config, ClearErrorsForMissingAndInconsistentKeys) {
  auto e = config_error(tiny_with([](ModelConfig&) {}, "qwen35.ssm.state_size"));
  EXPECT_EQ(e.code, core::ErrorCode::kNotFound);
  EXPECT_NE(e.message.find("qwen35.ssm.state_size"), std::string::npos);
  e = config_error(tiny_with([](ModelConfig& c) { c.n_head_kv = 3; }));
  EXPECT_NE(e.message.find("head_count"), std::string::npos);
  e = config_error(tiny_with([](ModelConfig& c) { c.ssm_d_inner = 100; }));
  EXPECT_NE(e.message.find("inner_size"), std::string::npos);
  e = config_error(tiny_with([](ModelConfig& c) { c.n_rot = 100; }));
  EXPECT_NE(e.message.find("rope.dimension_count"), std::string::npos);
  // Found by the fuzzer: a huge block_count must be refused before anything is sized by it.
  e = config_error(tiny_with([](ModelConfig& c) { c.n_layer = 4000000000u; }));
  EXPECT_NE(e.message.find("block_count"), std::string::npos);
  e = config_error(tiny_with([](ModelConfig& c) {
    c.n_expert = 1u << 30;
    c.arch = Arch::kQwen35Moe;
    c.n_expert_used = 1;
    c.n_ff_exp = 8;
  }));
  EXPECT_NE(e.message.find("expert_count"), std::string::npos);
  e = config_error(tiny_with([](ModelConfig& c) { c.n_rot = 100; }));
  EXPECT_NE(e.message.find("rope.dimension_count"), std::string::npos);
  // A key with the wrong type names the key and both types.
  gguf::Writer w;
  auto good = tiny_with([](ModelConfig&) {});
  auto f = gguf::File::parse(good.data(), good.size());
  for (const auto& [k, v] : f->metadata()) {
    if (k == "qwen35.block_count")
      w.set_i32(k, 4);
    else
      w.set_value(k, v);
  }
  e = config_error(*w.write_to_memory());
  EXPECT_EQ(e.code, core::ErrorCode::kTypeMismatch);
  EXPECT_NE(e.message.find("block_count"), std::string::npos);
}

TEST(Config, ExplicitRecurrentLayersWin) {
  auto bytes = tiny_with([](ModelConfig&) {});
  auto f = gguf::File::parse(bytes.data(), bytes.size());
  gguf::Writer w;
  for (const auto& [k, v] : f->metadata()) w.set_value(k, v);
  w.set_raw("qwen35.attention.recurrent_layers", uint32_t(gguf::ValueType::kArray),
            {uint8_t(gguf::ValueType::kBool), 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1});
  auto b2 = *w.write_to_memory();
  auto f2 = gguf::File::parse(b2.data(), b2.size());
  auto c = load_config(*f2);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->recurrent, (std::vector<bool>{true, false, true, true}));
}

TEST(TensorTable, ShapeErrorsNameTheTensor) {
  auto f = gguf::File::open((kModels / "qwen35moe-tiny-F32.gguf").string());
  auto c = *load_config(*f);
  c.n_ff_exp = 128;  // the file says 256
  auto st = check_tensors(*f, c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("ffn_gate_exps"), std::string::npos);
  EXPECT_NE(st.error().message.find("{256, 256, 4}"), std::string::npos);
  EXPECT_NE(st.error().message.find("{256, 128, 4}"), std::string::npos);
  c = *load_config(*f);
  c.n_layer = 5;
  assign_layer_kinds(&c);
  st = check_tensors(*f, c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("blk.4."), std::string::npos);
}

}  // namespace
}  // namespace onprem::model
