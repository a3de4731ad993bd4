// Writes GGUF v3 files. Metadata is kept in insertion order; tensor data is produced by a
// callback at write time, so a multi-gigabyte model never has to sit in memory at once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ggml_type.h"
#include "core/status.h"
#include "gguf/value.h"

namespace onprem::gguf {

class Writer {
 public:
  // Fills exactly the tensor's byte size.
  using Fill = std::function<void(uint8_t* dst, size_t n_bytes)>;

  explicit Writer(uint32_t alignment = 32) : alignment_(alignment) {}

  void set_u8(std::string_view key, uint8_t v);
  void set_i8(std::string_view key, int8_t v);
  void set_u16(std::string_view key, uint16_t v);
  void set_i16(std::string_view key, int16_t v);
  void set_u32(std::string_view key, uint32_t v);
  void set_i32(std::string_view key, int32_t v);
  void set_u64(std::string_view key, uint64_t v);
  void set_i64(std::string_view key, int64_t v);
  void set_f32(std::string_view key, float v);
  void set_f64(std::string_view key, double v);
  void set_bool(std::string_view key, bool v);
  void set_string(std::string_view key, std::string_view v);
  void set_string_array(std::string_view key, const std::vector<std::string>& v);
  void set_i32_array(std::string_view key, const std::vector<int32_t>& v);
  void set_f32_array(std::string_view key, const std::vector<float>& v);
  // Re-encodes a value read from another file (any type, nested arrays included).
  void set_value(std::string_view key, const Value& v);
  // Appends raw pre-encoded bytes for a key: for tests that need malformed files.
  void set_raw(std::string_view key, uint32_t type_id, std::vector<uint8_t> encoded);

  // ne has 1..4 entries, ne[0] contiguous. Errors (bad shape for the type) show at write().
  void add_tensor(std::string name, core::GgmlType type, std::vector<uint64_t> ne, Fill fill);
  void add_tensor_bytes(std::string name, core::GgmlType type, std::vector<uint64_t> ne, std::vector<uint8_t> bytes);

  core::Status write(const std::string& path) const;
  core::Expected<std::vector<uint8_t>> write_to_memory() const;

 private:
  struct Tensor {
    std::string name;
    core::GgmlType type;
    std::vector<uint64_t> ne;
    Fill fill;
    uint64_t n_bytes = 0;
  };
  core::Expected<std::vector<uint8_t>> header_bytes(std::vector<uint64_t>* offsets) const;
  core::Status emit(const std::function<core::Status(const uint8_t*, size_t)>& sink) const;

  uint32_t alignment_;
  uint64_t n_kv_ = 0;
  std::vector<uint8_t> kv_bytes_;
  std::vector<Tensor> tensors_;
};

}  // namespace onprem::gguf
