#include "gguf/file.h"

namespace onprem::gguf {

using core::ErrorCode;
using core::Expected;
using core::make_error;

std::string TensorInfo::shape_string() const {
  std::string s = "{";
  for (uint32_t d = 0; d < n_dims; ++d) {
    if (d) s += ", ";
    s += std::to_string(ne[d]);
  }
  return s + "}";
}

const Value* File::find(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].second;
}

const TensorInfo* File::tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

core::Error missing(std::string_view key) {
  return make_error(ErrorCode::kNotFound, "metadata key '" + std::string(key) + "' is missing");
}

core::Error mismatch(std::string_view key, const char* want, const Value& v) {
  std::string found = value_type_name(v.type);
  if (v.type == ValueType::kArray) found = std::string("array of ") + value_type_name(v.elem_type);
  return make_error(ErrorCode::kTypeMismatch,
                    "metadata key '" + std::string(key) + "' must be " + want + ", found " + found);
}

bool is_integer(ValueType t) {
  switch (t) {
    case ValueType::kU8:
    case ValueType::kI8:
    case ValueType::kU16:
    case ValueType::kI16:
    case ValueType::kU32:
    case ValueType::kI32:
    case ValueType::kU64:
    case ValueType::kI64:
      return true;
    default:
      return false;
  }
}

bool is_signed(ValueType t) {
  return t == ValueType::kI8 || t == ValueType::kI16 || t == ValueType::kI32 || t == ValueType::kI64;
}

}  // namespace

Expected<uint32_t> File::get_u32(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return missing(key);
  if (v->type != ValueType::kU32) return mismatch(key, "u32", *v);
  return uint32_t(v->u);
}

Expected<uint64_t> File::get_uint(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return missing(key);
  if (!is_integer(v->type)) return mismatch(key, "an integer", *v);
  if (is_signed(v->type) && v->i < 0)
    return make_error(ErrorCode::kCorrupt,
                      "metadata key '" + std::string(key) + "' is negative (" + std::to_string(v->i) + ")");
  return v->u;
}

Expected<float> File::get_f32(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return missing(key);
  if (v->type != ValueType::kF32) return mismatch(key, "f32", *v);
  return float(v->f);
}

Expected<bool> File::get_bool(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return missing(key);
  if (v->type != ValueType::kBool) return mismatch(key, "bool", *v);
  return v->u != 0;
}

Expected<std::string_view> File::get_string(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return missing(key);
  if (v->type != ValueType::kString) return mismatch(key, "string", *v);
  return v->str;
}

Expected<std::vector<int32_t>> File::get_i32_array(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return missing(key);
  if (!v->is_array_of(ValueType::kI32)) return mismatch(key, "array of i32", *v);
  std::vector<int32_t> out(size_t(v->count));
  for (uint64_t k = 0; k < v->count; ++k) out[size_t(k)] = v->elem<int32_t>(k);
  return out;
}

Expected<const std::vector<std::string_view>*> File::get_string_array(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return missing(key);
  if (!v->is_array_of(ValueType::kString)) return mismatch(key, "array of string", *v);
  return &v->strings;
}

}  // namespace onprem::gguf
