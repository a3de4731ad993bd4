// A parsed GGUF file: header, metadata, tensor directory, data section. Every field is checked
// against the file's size before it is used; a bad file gives an Error with the byte offset.
// Read-only after construction; safe to share between threads.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/ggml_type.h"
#include "core/mapped_file.h"
#include "core/status.h"
#include "gguf/value.h"

namespace onprem::gguf {

inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr size_t kMaxTensorName = 63;  // ggml names hold 64 bytes with the terminator
inline constexpr size_t kMaxKeyLength = 65535;
inline constexpr int kMaxArrayDepth = 8;
// Type ids above this are garbage, not a newer type (ggml has fewer than 50).
inline constexpr uint32_t kMaxTypeId = 1023;

struct TensorInfo {
  std::string_view name;
  core::GgmlType type = core::GgmlType::kF32;
  uint32_t n_dims = 0;
  std::array<uint64_t, 4> ne{1, 1, 1, 1};  // ne[0] is the contiguous axis; missing dims are 1
  uint64_t offset = 0;                     // relative to the data section
  uint64_t n_bytes = 0;                    // 0 for a type id this build does not know: its size is unknown
  const uint8_t* data = nullptr;           // points into the file

  uint64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  uint64_t row_bytes() const { return n_bytes / (ne[1] * ne[2] * ne[3]); }
  std::string shape_string() const;  // "{256, 512}"
};

class File {
 public:
  // Maps the file and parses it. A split model (split.count > 1, llama-gguf-split's
  // "<name>-00001-of-0000N.gguf") is opened from its first shard: the other shards are found beside
  // it and their tensors join this File's (metadata comes from the first shard).
  static core::Expected<File> open(const std::string& path);
  // Parses bytes owned by the caller (fuzzing, tests); they must outlive the File.
  static core::Expected<File> parse(const uint8_t* data, size_t size);

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  size_t size() const { return size_; }

  const std::vector<std::pair<std::string_view, Value>>& metadata() const { return kvs_; }
  const Value* find(std::string_view key) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // The files of a split model, first shard first; empty for a single file.
  const std::vector<std::string>& shards() const { return shard_paths_; }
  const TensorInfo* tensor(std::string_view name) const;

  // Typed getters: kNotFound if absent, kTypeMismatch (naming the key and both types) otherwise.
  core::Expected<uint32_t> get_u32(std::string_view key) const;
  core::Expected<float> get_f32(std::string_view key) const;
  core::Expected<bool> get_bool(std::string_view key) const;
  core::Expected<std::string_view> get_string(std::string_view key) const;
  core::Expected<std::vector<int32_t>> get_i32_array(std::string_view key) const;
  core::Expected<const std::vector<std::string_view>*> get_string_array(std::string_view key) const;
  // Any integer type that fits in u64 (some writers use u64 or i32 for counts).
  core::Expected<uint64_t> get_uint(std::string_view key) const;

 private:
  static core::Expected<File> open_one(const std::string& path);

  std::shared_ptr<core::MappedFile> map_;                      // empty when parsing caller-owned bytes
  std::vector<std::shared_ptr<core::MappedFile>> shard_maps_;  // the other shards of a split model
  std::vector<std::string> shard_paths_;
  size_t size_ = 0;
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string_view, Value>> kvs_;
  std::unordered_map<std::string_view, size_t> kv_index_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string_view, size_t> tensor_index_;

  friend class Parser;
};

}  // namespace onprem::gguf
