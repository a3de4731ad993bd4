// GGUF metadata values as read from a file. Strings and numeric arrays point into the file's
// bytes (no copies); the File that produced a Value must outlive it.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace onprem::gguf {

enum class ValueType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

const char* value_type_name(ValueType t);
bool value_type_valid(uint32_t id);
// Encoded size of a fixed-size scalar; 0 for string and array.
size_t value_type_size(ValueType t);

struct Value {
  ValueType type = ValueType::kU8;
  // Scalars: integers widened into u or i (both set when representable), floats into f.
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  std::string_view str;  // kString

  // kArray
  ValueType elem_type = ValueType::kU8;
  uint64_t count = 0;
  const uint8_t* elems = nullptr;         // fixed-size element arrays: packed little-endian bytes
  std::vector<std::string_view> strings;  // string arrays
  std::vector<Value> arrays;              // nested arrays

  bool is_array_of(ValueType t) const { return type == ValueType::kArray && elem_type == t; }

  // Element k of a fixed-size numeric array, converted (caller checked elem_type and k < count).
  template <typename T>
  T elem(uint64_t k) const {
    T v;
    std::memcpy(&v, elems + k * sizeof(T), sizeof(T));
    return v;
  }

  // A short human-readable rendering ("[248320 strings]" for big arrays).
  std::string to_string(size_t max_items = 8) const;
};

}  // namespace onprem::gguf
