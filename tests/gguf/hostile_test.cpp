// Malformed files: each must give a typed error with the right code and byte offset, never a crash.
#include <cstring>

#include <gtest/gtest.h>

#include "gguf/file.h"
#include "gguf/writer.h"

namespace onprem::gguf {
namespace {

using core::ErrorCode;

std::vector<uint8_t> valid_file() {
  Writer w;
  w.set_string("general.architecture", "qwen35");
  w.set_string_array("tokenizer.ggml.tokens", {"a", "b"});
  w.set_u32("x", 7);
  w.add_tensor_bytes("w", core::GgmlType::kQ8_0, {32, 2}, std::vector<uint8_t>(68, 3));
  return *w.write_to_memory();
}

core::Error parse_error(const std::vector<uint8_t>& b) {
  auto f = File::parse(b.data(), b.size());
  EXPECT_FALSE(f.ok());
  return f.ok() ? core::Error{} : f.error();
}

void poke64(std::vector<uint8_t>& b, size_t at, uint64_t v) { std::memcpy(b.data() + at, &v, 8); }
void poke32(std::vector<uint8_t>& b, size_t at, uint32_t v) { std::memcpy(b.data() + at, &v, 4); }

TEST(GgufHostile, EveryTruncationIsAnErrorWithAnOffset) {
  const auto full = valid_file();
  // The padding after the last tensor is optional; everything before its end is required.
  auto whole = File::parse(full.data(), full.size());
  ASSERT_TRUE(whole.ok());
  const TensorInfo& last = whole->tensors().back();
  const size_t needed = size_t(whole->data_offset() + last.offset + last.n_bytes);
  for (size_t n = 0; n < needed; ++n) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + long(n));
    auto f = File::parse(cut.data(), cut.size());
    ASSERT_FALSE(f.ok()) << "prefix of " << n << " bytes parsed";
    EXPECT_TRUE(f.error().code == ErrorCode::kTruncated || f.error().code == ErrorCode::kCorrupt) << n;
    EXPECT_GE(f.error().offset, 0) << n;
    EXPECT_LE(f.error().offset, int64_t(n)) << n;
  }
  EXPECT_TRUE(File::parse(full.data(), full.size()).ok());
}

TEST(GgufHostile, BadMagicAndVersion) {
  auto b = valid_file();
  b[0] = 'X';
  EXPECT_EQ(parse_error(b).code, ErrorCode::kCorrupt);
  b = valid_file();
  poke32(b, 4, 1);
  EXPECT_EQ(parse_error(b).code, ErrorCode::kUnsupported);
  poke32(b, 4, 0x03000000u);
  EXPECT_NE(parse_error(b).message.find("big-endian"), std::string::npos);
  poke32(b, 4, 9);
  EXPECT_EQ(parse_error(b).offset, 4);
}

TEST(GgufHostile, HugeCountsAreRejectedBeforeAllocating) {
  auto b = valid_file();
  poke64(b, 8, ~0ull);  // tensor count
  EXPECT_EQ(parse_error(b).code, ErrorCode::kCorrupt);
  b = valid_file();
  poke64(b, 16, 1ull << 60);  // metadata count
  EXPECT_EQ(parse_error(b).offset, 16);
  // A string array claiming 2^61 elements: the array length sits after key, type, elem type.
  b = valid_file();
  const size_t key1 = 24 + 8 + std::strlen("general.architecture") + 4 + 8 + 6;
  const size_t len_at = key1 + 8 + std::strlen("tokenizer.ggml.tokens") + 4 + 4;
  poke64(b, len_at, 1ull << 61);
  auto e = parse_error(b);
  EXPECT_EQ(e.code, ErrorCode::kCorrupt);
  EXPECT_EQ(e.offset, int64_t(len_at));
  // A string claiming more bytes than the file has.
  b = valid_file();
  poke64(b, 24, 1ull << 40);
  EXPECT_EQ(parse_error(b).offset, 24);
}

TEST(GgufHostile, BadValueTypesAndBools) {
  Writer w;
  w.set_raw("k", 13, {0});
  auto b = *w.write_to_memory();
  EXPECT_EQ(parse_error(b).code, ErrorCode::kCorrupt);
  Writer w2;
  w2.set_raw("k", uint32_t(ValueType::kBool), {2});
  b = *w2.write_to_memory();
  auto e = parse_error(b);
  EXPECT_NE(e.message.find("bool"), std::string::npos);
  EXPECT_EQ(e.offset, 24 + 8 + 1 + 4);
}

TEST(GgufHostile, DuplicateKeysAndTensors) {
  Writer w;
  w.set_u32("k", 1);
  w.set_u32("k", 2);
  EXPECT_NE(parse_error(*w.write_to_memory()).message.find("duplicate"), std::string::npos);
  Writer w2;
  w2.add_tensor_bytes("t", core::GgmlType::kF32, {4}, std::vector<uint8_t>(16));
  w2.add_tensor_bytes("t", core::GgmlType::kF32, {4}, std::vector<uint8_t>(16));
  EXPECT_NE(parse_error(*w2.write_to_memory()).message.find("duplicate tensor"), std::string::npos);
}

TEST(GgufHostile, DeepNestingIsBounded) {
  std::vector<uint8_t> enc;
  auto put32 = [&](uint32_t v) {
    for (int k = 0; k < 4; ++k) enc.push_back(uint8_t(v >> (8 * k)));
  };
  auto put64 = [&](uint64_t v) {
    for (int k = 0; k < 8; ++k) enc.push_back(uint8_t(v >> (8 * k)));
  };
  for (int d = 0; d < 100; ++d) {
    put32(uint32_t(ValueType::kArray));
    put64(1);
  }
  put32(uint32_t(ValueType::kU8));
  put64(0);
  Writer w;
  w.set_raw("deep", uint32_t(ValueType::kArray), enc);
  EXPECT_NE(parse_error(*w.write_to_memory()).message.find("nested"), std::string::npos);
}

// Finds the tensor record of the one-tensor valid file and corrupts its fields.
TEST(GgufHostile, TensorRecordChecks) {
  const auto good = valid_file();
  auto f = File::parse(good.data(), good.size());
  ASSERT_TRUE(f.ok());
  // Record: name (8 + 1), n_dims (4), ne (2 x 8), type (4), offset (8); it ends at the data start
  // minus padding. Locate it by searching for the name.
  size_t rec = 0;
  for (size_t i = 0; i + 9 < good.size(); ++i)
    if (good[i] == 1 && good[i + 1] == 0 && good[i + 8] == 'w' && good[i + 7] == 0) rec = i;
  ASSERT_GT(rec, 0u);
  const size_t dims = rec + 9, ne0 = dims + 4, type = ne0 + 16, off = type + 4;

  auto b = good;
  poke32(b, dims, 5);
  EXPECT_EQ(parse_error(b).offset, int64_t(dims));
  b = good;
  poke64(b, ne0, 0);
  EXPECT_EQ(parse_error(b).offset, int64_t(ne0));
  b = good;
  poke64(b, ne0, 33);  // not a multiple of the Q8_0 block
  EXPECT_NE(parse_error(b).message.find("block size"), std::string::npos);
  b = good;
  poke64(b, ne0, 1ull << 40);
  poke64(b, ne0 + 8, 1ull << 40);  // element count overflow
  EXPECT_NE(parse_error(b).message.find("overflow"), std::string::npos);
  b = good;
  // An id this build does not know (retired, or newer such as NVFP4): the file parses, the tensor
  // says its type id and has no known size; whoever needs it refuses it by name.
  for (uint32_t id : {4u, 40u, 1023u}) {
    poke32(b, type, id);
    auto f = File::parse(b.data(), b.size());
    ASSERT_TRUE(f.ok()) << id << ": " << f.error().to_string();
    EXPECT_EQ(uint32_t(f->tensor("w")->type), id);
    EXPECT_EQ(f->tensor("w")->n_bytes, 0u);
    EXPECT_EQ(core::ggml_type_name(f->tensor("w")->type), "id " + std::to_string(id) + " (unknown to this build)");
  }
  poke32(b, type, 5000);  // no such type: garbage
  EXPECT_EQ(parse_error(b).code, ErrorCode::kCorrupt);
  EXPECT_EQ(parse_error(b).offset, int64_t(type));
  b = good;
  poke64(b, off, 3);
  EXPECT_NE(parse_error(b).message.find("alignment"), std::string::npos);
  b = good;
  poke64(b, off, 1ull << 50);
  EXPECT_EQ(parse_error(b).code, ErrorCode::kTruncated);
}

TEST(GgufHostile, AlignmentMustBeAPowerOfTwo) {
  Writer w;
  w.set_u32("general.alignment", 48);
  EXPECT_NE(parse_error(*w.write_to_memory()).message.find("power of two"), std::string::npos);
  Writer w2;
  w2.set_string("general.alignment", "32");
  EXPECT_EQ(parse_error(*w2.write_to_memory()).code, ErrorCode::kTypeMismatch);
}

TEST(GgufHostile, OverlappingTensors) {
  auto b = valid_file();
  Writer w;
  w.add_tensor_bytes("a", core::GgmlType::kF32, {8}, std::vector<uint8_t>(32));
  w.add_tensor_bytes("b", core::GgmlType::kF32, {8}, std::vector<uint8_t>(32));
  b = *w.write_to_memory();
  // Second record's offset (32) is the last 8 bytes before padding: set it to 0.
  size_t rec = 0;
  for (size_t i = 0; i + 9 < b.size(); ++i)
    if (b[i] == 1 && b[i + 8] == 'b' && b[i + 7] == 0) rec = i;
  poke64(b, rec + 9 + 4 + 8 + 4, 0);
  EXPECT_NE(parse_error(b).message.find("overlap"), std::string::npos);
}

TEST(GgufHostile, MissingFileIsAnIoError) {
  auto f = File::open("/nonexistent/model.gguf");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace onprem::gguf
