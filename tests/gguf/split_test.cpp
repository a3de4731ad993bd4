// Split models (llama-gguf-split's layout) built here shard by shard: opened from the first shard,
// with clear errors for a missing, misnumbered or incomplete set. The real split file written by
// llama-gguf-split is checked end to end by model_test (HubFiles/RealFiles ..._split).
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>

#include "gguf/file.h"
#include "gguf/writer.h"

namespace onprem::gguf {
namespace {

namespace fs = std::filesystem;

struct SplitDir {
  fs::path dir = fs::temp_directory_path() / ("onprem-split-" + std::to_string(::getpid()));
  SplitDir() { fs::create_directories(dir); }
  ~SplitDir() { fs::remove_all(dir); }
  std::string shard(int no, int count) const {
    char tail[32];
    std::snprintf(tail, sizeof tail, "-%05d-of-%05d.gguf", no, count);
    std::string name = "m";
    name += tail;
    return (dir / name).string();
  }
  // Shard `no` (0-based) of `count`, holding tensors t<no>a and t<no>b; split.tensors.count says `total`.
  void write(int no, int count, int total, int says_no = -1) const {
    Writer w;
    if (no == 0) w.set_string("general.architecture", "qwen35");
    w.set_u32("split.no", uint32_t(says_no < 0 ? no : says_no));
    w.set_u32("split.count", uint32_t(count));
    w.set_u64("split.tensors.count", uint64_t(total));
    for (const char* s : {"a", "b"}) {
      std::string name = "t";
      name += std::to_string(no);
      name += s;
      w.add_tensor_bytes(name, core::GgmlType::kF32, {4}, std::vector<uint8_t>(16, uint8_t(no + 1)));
    }
    ASSERT_TRUE(w.write(shard(no + 1, count)).ok());
  }
};

TEST(GgufSplit, OpensEveryShardFromTheFirst) {
  SplitDir d;
  for (int i = 0; i < 3; ++i) d.write(i, 3, 6);
  auto f = File::open(d.shard(1, 3));
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  EXPECT_EQ(f->tensors().size(), 6u);
  ASSERT_EQ(f->shards().size(), 3u);
  EXPECT_EQ(f->shards()[2], d.shard(3, 3));
  ASSERT_NE(f->tensor("t2b"), nullptr);
  EXPECT_EQ(f->tensor("t2b")->data[0], 3);  // its bytes come from the third shard
  EXPECT_TRUE(f->get_string("general.architecture").ok());
}

TEST(GgufSplit, ClearErrors) {
  SplitDir d;
  for (int i = 0; i < 3; ++i) d.write(i, 3, 6);
  auto second = File::open(d.shard(2, 3));
  ASSERT_FALSE(second.ok());
  std::string want = "open the first: ";
  want += d.shard(1, 3);
  EXPECT_NE(second.error().message.find(want), std::string::npos) << second.error().message;

  fs::remove(d.shard(3, 3));
  auto missing = File::open(d.shard(1, 3));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("shard 3 of 3"), std::string::npos) << missing.error().message;

  d.write(2, 3, 6, /*says_no=*/1);  // a copy of shard 2's number under shard 3's name
  auto misnumbered = File::open(d.shard(1, 3));
  ASSERT_FALSE(misnumbered.ok());
  EXPECT_NE(misnumbered.error().message.find("says it is shard 2 of 3, expected 3 of 3"), std::string::npos)
      << misnumbered.error().message;

  d.write(2, 3, 7);
  d.write(0, 3, 7);
  auto short_set = File::open(d.shard(1, 3));
  ASSERT_FALSE(short_set.ok());
  EXPECT_NE(short_set.error().message.find("hold 6 tensors, split.tensors.count says 7"), std::string::npos)
      << short_set.error().message;
}

}  // namespace
}  // namespace onprem::gguf
