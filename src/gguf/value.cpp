#include "gguf/value.h"

#include <cstdio>

namespace onprem::gguf {

const char* value_type_name(ValueType t) {
  switch (t) {
    case ValueType::kU8:
      return "u8";
    case ValueType::kI8:
      return "i8";
    case ValueType::kU16:
      return "u16";
    case ValueType::kI16:
      return "i16";
    case ValueType::kU32:
      return "u32";
    case ValueType::kI32:
      return "i32";
    case ValueType::kF32:
      return "f32";
    case ValueType::kBool:
      return "bool";
    case ValueType::kString:
      return "string";
    case ValueType::kArray:
      return "array";
    case ValueType::kU64:
      return "u64";
    case ValueType::kI64:
      return "i64";
    case ValueType::kF64:
      return "f64";
  }
  return "?";
}

bool value_type_valid(uint32_t id) { return id <= 12; }

size_t value_type_size(ValueType t) {
  switch (t) {
    case ValueType::kU8:
    case ValueType::kI8:
    case ValueType::kBool:
      return 1;
    case ValueType::kU16:
    case ValueType::kI16:
      return 2;
    case ValueType::kU32:
    case ValueType::kI32:
    case ValueType::kF32:
      return 4;
    case ValueType::kU64:
    case ValueType::kI64:
    case ValueType::kF64:
      return 8;
    case ValueType::kString:
    case ValueType::kArray:
      return 0;
  }
  return 0;
}

namespace {

std::string scalar_to_string(const Value& v) {
  char buf[64];
  switch (v.type) {
    case ValueType::kBool:
      return v.u ? "true" : "false";
    case ValueType::kF32:
    case ValueType::kF64:
      std::snprintf(buf, sizeof buf, "%.9g", v.f);
      return buf;
    case ValueType::kI8:
    case ValueType::kI16:
    case ValueType::kI32:
    case ValueType::kI64:
      return std::to_string(v.i);
    default:
      return std::to_string(v.u);
  }
}

std::string quoted(std::string_view s, size_t max_len = 60) {
  std::string out = "\"";
  for (size_t k = 0; k < s.size() && k < max_len; ++k) {
    const unsigned char c = static_cast<unsigned char>(s[k]);
    if (c == '\n')
      out += "\\n";
    else if (c == '"')
      out += "\\\"";
    else if (c < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\x%02x", c);
      out += esc;
    } else
      out += char(c);
  }
  if (s.size() > max_len) out += "...";
  return out + "\"";
}

}  // namespace

std::string Value::to_string(size_t max_items) const {
  if (type == ValueType::kString) return quoted(str);
  if (type != ValueType::kArray) return scalar_to_string(*this);
  std::string out = "[";
  out += std::to_string(count);
  out += ' ';
  out += value_type_name(elem_type);
  out += ": ";
  const uint64_t shown = count < max_items ? count : max_items;
  for (uint64_t k = 0; k < shown; ++k) {
    if (k) out += ", ";
    if (elem_type == ValueType::kString) {
      out += quoted(strings[k], 24);
    } else if (elem_type == ValueType::kArray) {
      out += arrays[k].to_string(2);
    } else {
      Value s;
      s.type = elem_type;
      switch (elem_type) {
        case ValueType::kU8:
        case ValueType::kBool:
          s.u = elem<uint8_t>(k);
          break;
        case ValueType::kI8:
          s.i = elem<int8_t>(k);
          break;
        case ValueType::kU16:
          s.u = elem<uint16_t>(k);
          break;
        case ValueType::kI16:
          s.i = elem<int16_t>(k);
          break;
        case ValueType::kU32:
          s.u = elem<uint32_t>(k);
          break;
        case ValueType::kI32:
          s.i = elem<int32_t>(k);
          break;
        case ValueType::kF32:
          s.f = elem<float>(k);
          break;
        case ValueType::kU64:
          s.u = elem<uint64_t>(k);
          break;
        case ValueType::kI64:
          s.i = elem<int64_t>(k);
          break;
        case ValueType::kF64:
          s.f = elem<double>(k);
          break;
        default:
          break;
      }
      out += scalar_to_string(s);
    }
  }
  if (count > shown) out += ", ...";
  return out + "]";
}

}  // namespace onprem::gguf
