#include "gguf/writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace onprem::gguf {

using core::ErrorCode;
using core::make_error;

namespace {

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));
}

void put_str(std::vector<uint8_t>& out, std::string_view s) {
  put<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

void put_array_body(std::vector<uint8_t>& out, const Value& v) {
  put<uint32_t>(out, uint32_t(v.elem_type));
  put<uint64_t>(out, v.count);
  if (v.elem_type == ValueType::kString) {
    for (auto s : v.strings) put_str(out, s);
  } else if (v.elem_type == ValueType::kArray) {
    for (const auto& a : v.arrays) put_array_body(out, a);
  } else {
    const size_t n = size_t(v.count) * value_type_size(v.elem_type);
    out.insert(out.end(), v.elems, v.elems + n);
  }
}

}  // namespace

#define ONPREM_SETTER(fn, T, id)                       \
  void Writer::fn(std::string_view key, T v) {         \
    put_str(kv_bytes_, key);                           \
    put<uint32_t>(kv_bytes_, uint32_t(ValueType::id)); \
    put<T>(kv_bytes_, v);                              \
    ++n_kv_;                                           \
  }
ONPREM_SETTER(set_u8, uint8_t, kU8)
ONPREM_SETTER(set_i8, int8_t, kI8)
ONPREM_SETTER(set_u16, uint16_t, kU16)
ONPREM_SETTER(set_i16, int16_t, kI16)
ONPREM_SETTER(set_u32, uint32_t, kU32)
ONPREM_SETTER(set_i32, int32_t, kI32)
ONPREM_SETTER(set_u64, uint64_t, kU64)
ONPREM_SETTER(set_i64, int64_t, kI64)
ONPREM_SETTER(set_f32, float, kF32)
ONPREM_SETTER(set_f64, double, kF64)
#undef ONPREM_SETTER

void Writer::set_bool(std::string_view key, bool v) { set_raw(key, uint32_t(ValueType::kBool), {uint8_t(v ? 1 : 0)}); }

void Writer::set_string(std::string_view key, std::string_view v) {
  std::vector<uint8_t> enc;
  put_str(enc, v);
  set_raw(key, uint32_t(ValueType::kString), std::move(enc));
}

void Writer::set_string_array(std::string_view key, const std::vector<std::string>& v) {
  std::vector<uint8_t> enc;
  put<uint32_t>(enc, uint32_t(ValueType::kString));
  put<uint64_t>(enc, v.size());
  for (const auto& s : v) put_str(enc, s);
  set_raw(key, uint32_t(ValueType::kArray), std::move(enc));
}

void Writer::set_i32_array(std::string_view key, const std::vector<int32_t>& v) {
  std::vector<uint8_t> enc;
  put<uint32_t>(enc, uint32_t(ValueType::kI32));
  put<uint64_t>(enc, v.size());
  for (auto x : v) put<int32_t>(enc, x);
  set_raw(key, uint32_t(ValueType::kArray), std::move(enc));
}

void Writer::set_f32_array(std::string_view key, const std::vector<float>& v) {
  std::vector<uint8_t> enc;
  put<uint32_t>(enc, uint32_t(ValueType::kF32));
  put<uint64_t>(enc, v.size());
  for (auto x : v) put<float>(enc, x);
  set_raw(key, uint32_t(ValueType::kArray), std::move(enc));
}

void Writer::set_value(std::string_view key, const Value& v) {
  std::vector<uint8_t> enc;
  switch (v.type) {
    case ValueType::kString:
      put_str(enc, v.str);
      break;
    case ValueType::kArray:
      put_array_body(enc, v);
      break;
    case ValueType::kF32:
      put<float>(enc, float(v.f));
      break;
    case ValueType::kF64:
      put<double>(enc, v.f);
      break;
    default: {
      const size_t n = value_type_size(v.type);
      const uint64_t bits = v.u;  // two's complement widening keeps the low bytes right
      for (size_t k = 0; k < n; ++k) enc.push_back(uint8_t(bits >> (8 * k)));
    }
  }
  set_raw(key, uint32_t(v.type), std::move(enc));
}

void Writer::set_raw(std::string_view key, uint32_t type_id, std::vector<uint8_t> encoded) {
  put_str(kv_bytes_, key);
  put<uint32_t>(kv_bytes_, type_id);
  kv_bytes_.insert(kv_bytes_.end(), encoded.begin(), encoded.end());
  ++n_kv_;
}

void Writer::add_tensor(std::string name, core::GgmlType type, std::vector<uint64_t> ne, Fill fill) {
  tensors_.push_back(Tensor{std::move(name), type, std::move(ne), std::move(fill), 0});
}

void Writer::add_tensor_bytes(std::string name, core::GgmlType type, std::vector<uint64_t> ne,
                              std::vector<uint8_t> bytes) {
  auto shared = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  add_tensor(std::move(name), type, std::move(ne), [shared](uint8_t* dst, size_t n) {
    std::memset(dst, 0, n);
    std::memcpy(dst, shared->data(), std::min(n, shared->size()));
  });
}

core::Expected<std::vector<uint8_t>> Writer::header_bytes(std::vector<uint64_t>* offsets) const {
  std::vector<uint8_t> out;
  out.insert(out.end(), {'G', 'G', 'U', 'F'});
  put<uint32_t>(out, 3);
  put<uint64_t>(out, tensors_.size());
  put<uint64_t>(out, n_kv_);
  out.insert(out.end(), kv_bytes_.begin(), kv_bytes_.end());
  uint64_t offset = 0;
  offsets->clear();
  for (const auto& t : tensors_) {
    const auto info = core::ggml_type_info(uint32_t(t.type));
    if (!info || t.ne.empty() || t.ne.size() > 4 || t.ne[0] % info->block_size != 0)
      return make_error(ErrorCode::kInvalidArgument, "tensor '" + t.name + "' has a shape its type cannot hold");
    uint64_t n = 1;
    for (auto d : t.ne) n *= d;
    const uint64_t n_bytes = n / info->block_size * info->block_bytes;
    put_str(out, t.name);
    put<uint32_t>(out, uint32_t(t.ne.size()));
    for (auto d : t.ne) put<uint64_t>(out, d);
    put<uint32_t>(out, uint32_t(t.type));
    put<uint64_t>(out, offset);
    offsets->push_back(n_bytes);
    offset += (n_bytes + alignment_ - 1) / alignment_ * alignment_;
  }
  out.resize((out.size() + alignment_ - 1) / alignment_ * alignment_, 0);
  return out;
}

core::Status Writer::emit(const std::function<core::Status(const uint8_t*, size_t)>& sink) const {
  std::vector<uint64_t> sizes;
  ONPREM_TRY_ASSIGN(header, header_bytes(&sizes));
  ONPREM_TRY(sink(header.data(), header.size()));
  std::vector<uint8_t> buf;
  for (size_t k = 0; k < tensors_.size(); ++k) {
    const uint64_t n = sizes[k];
    const uint64_t padded = (n + alignment_ - 1) / alignment_ * alignment_;
    buf.assign(size_t(padded), 0);
    tensors_[k].fill(buf.data(), size_t(n));
    ONPREM_TRY(sink(buf.data(), buf.size()));
  }
  return core::Ok{};
}

core::Status Writer::write(const std::string& path) const {
  const std::string tmp = path + ".part";
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(tmp.c_str(), "wb"), &std::fclose);
  if (!f) return make_error(ErrorCode::kIo, "cannot create '" + tmp + "': " + std::strerror(errno));
  auto st = emit([&](const uint8_t* p, size_t n) -> core::Status {
    if (std::fwrite(p, 1, n, f.get()) != n)
      return make_error(ErrorCode::kIo, "write to '" + tmp + "' failed: " + std::strerror(errno));
    return core::Ok{};
  });
  if (!st) return st;
  if (std::fclose(f.release()) != 0) return make_error(ErrorCode::kIo, "closing '" + tmp + "' failed");
  // Rename last so a crash never leaves a half-written file under the real name.
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return make_error(ErrorCode::kIo, "cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
  return core::Ok{};
}

core::Expected<std::vector<uint8_t>> Writer::write_to_memory() const {
  std::vector<uint8_t> out;
  auto st = emit([&](const uint8_t* p, size_t n) -> core::Status {
    out.insert(out.end(), p, p + n);
    return core::Ok{};
  });
  if (!st) return st.error();
  return out;
}

}  // namespace onprem::gguf
