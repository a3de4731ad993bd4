#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "gguf/file.h"
#include "gguf/writer.h"

namespace onprem::gguf {
namespace {

using core::GgmlType;

std::vector<uint8_t> sample_file() {
  Writer w;
  w.set_u8("t.u8", 200);
  w.set_i8("t.i8", -5);
  w.set_u16("t.u16", 65000);
  w.set_i16("t.i16", -30000);
  w.set_u32("t.u32", 4000000000u);
  w.set_i32("t.i32", -2000000000);
  w.set_u64("t.u64", 1ull << 40);
  w.set_i64("t.i64", -(1ll << 40));
  w.set_f32("t.f32", 1.5f);
  w.set_f64("t.f64", -2.25);
  w.set_bool("t.bool", true);
  w.set_string("t.str", "héllo");
  w.set_string_array("t.strs", {"a", "", "ccc"});
  w.set_i32_array("t.i32s", {1, -2, 3});
  w.set_f32_array("t.f32s", {0.5f, 1.5f});
  std::vector<float> f(64);
  for (int i = 0; i < 64; ++i) f[size_t(i)] = float(i);
  std::vector<uint8_t> bytes(f.size() * 4);
  std::memcpy(bytes.data(), f.data(), bytes.size());
  w.add_tensor_bytes("a", GgmlType::kF32, {16, 4}, bytes);
  w.add_tensor_bytes("b", GgmlType::kF32, {3}, std::vector<uint8_t>(12, 0));
  w.add_tensor_bytes("q", GgmlType::kQ8_0, {64, 2}, std::vector<uint8_t>(136, 1));
  return *w.write_to_memory();
}

TEST(GgufReader, RoundTripsEveryValueType) {
  const auto bytes = sample_file();
  auto f = File::parse(bytes.data(), bytes.size());
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->find("t.u8")->u, 200u);
  EXPECT_EQ(f->find("t.i8")->i, -5);
  EXPECT_EQ(f->find("t.u16")->u, 65000u);
  EXPECT_EQ(f->find("t.i16")->i, -30000);
  EXPECT_EQ(*f->get_u32("t.u32"), 4000000000u);
  EXPECT_EQ(f->find("t.i32")->i, -2000000000);
  EXPECT_EQ(*f->get_uint("t.u64"), 1ull << 40);
  EXPECT_EQ(f->find("t.i64")->i, -(1ll << 40));
  EXPECT_EQ(*f->get_f32("t.f32"), 1.5f);
  EXPECT_EQ(f->find("t.f64")->f, -2.25);
  EXPECT_TRUE(*f->get_bool("t.bool"));
  EXPECT_EQ(*f->get_string("t.str"), "héllo");
  const auto* strs = *f->get_string_array("t.strs");
  ASSERT_EQ(strs->size(), 3u);
  EXPECT_EQ((*strs)[2], "ccc");
  EXPECT_EQ(*f->get_i32_array("t.i32s"), (std::vector<int32_t>{1, -2, 3}));
  EXPECT_EQ(f->find("t.f32s")->elem<float>(1), 1.5f);

  ASSERT_EQ(f->tensors().size(), 3u);
  const TensorInfo* a = f->tensor("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->ne[0], 16u);
  EXPECT_EQ(a->ne[1], 4u);
  EXPECT_EQ(a->n_bytes, 256u);
  EXPECT_EQ(f->data_offset() % 32, 0u);
  float v;
  std::memcpy(&v, a->data + 4 * 17, 4);
  EXPECT_EQ(v, 17.0f);
  EXPECT_EQ(f->tensor("q")->n_bytes, 136u);
  EXPECT_EQ(f->tensor("q")->offset % 32, 0u);
}

TEST(GgufReader, TypedGettersNameKeyAndTypes) {
  const auto bytes = sample_file();
  auto f = File::parse(bytes.data(), bytes.size());
  ASSERT_TRUE(f.ok());
  auto e = f->get_u32("t.f32");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, core::ErrorCode::kTypeMismatch);
  EXPECT_NE(e.error().message.find("t.f32"), std::string::npos);
  EXPECT_NE(e.error().message.find("f32"), std::string::npos);
  EXPECT_EQ(f->get_string("nope").error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(f->get_i32_array("t.strs").error().code, core::ErrorCode::kTypeMismatch);
}

TEST(GgufReader, NestedArraysAndCopyBetweenFiles) {
  // Build a nested array [[1,2],[3]] of i32 by hand-encoding, then copy it with set_value.
  std::vector<uint8_t> enc;
  auto put32 = [&](uint32_t v) {
    for (int k = 0; k < 4; ++k) enc.push_back(uint8_t(v >> (8 * k)));
  };
  auto put64 = [&](uint64_t v) {
    for (int k = 0; k < 8; ++k) enc.push_back(uint8_t(v >> (8 * k)));
  };
  put32(uint32_t(ValueType::kArray));
  put64(2);
  put32(uint32_t(ValueType::kI32));
  put64(2);
  put32(1);
  put32(2);
  put32(uint32_t(ValueType::kI32));
  put64(1);
  put32(3);
  Writer w;
  w.set_raw("nested", uint32_t(ValueType::kArray), enc);
  const auto bytes = *w.write_to_memory();
  auto f = File::parse(bytes.data(), bytes.size());
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  const Value* v = f->find("nested");
  ASSERT_TRUE(v->is_array_of(ValueType::kArray));
  ASSERT_EQ(v->arrays.size(), 2u);
  EXPECT_EQ(v->arrays[0].elem<int32_t>(1), 2);
  EXPECT_EQ(v->arrays[1].elem<int32_t>(0), 3);

  Writer w2;
  w2.set_value("copy", *v);
  const auto bytes2 = *w2.write_to_memory();
  auto f2 = File::parse(bytes2.data(), bytes2.size());
  ASSERT_TRUE(f2.ok());
  EXPECT_EQ(f2->find("copy")->arrays[1].elem<int32_t>(0), 3);
}

TEST(GgufReader, OpensEveryConformanceModel) {
  const std::filesystem::path dir = std::filesystem::path(ONPREM_SHARED_DIR) / "conformance/models";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no " << dir;
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    auto f = File::open(e.path().string());
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    EXPECT_FALSE(f->tensors().empty());
    EXPECT_TRUE(f->get_string("general.architecture").ok());
    ++n;
  }
  EXPECT_EQ(n, 8);
}

}  // namespace
}  // namespace onprem::gguf
