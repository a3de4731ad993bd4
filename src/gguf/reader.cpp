// The GGUF parser. Rule: never trust a count or length until the bytes it promises are known to
// exist, so no allocation is ever sized by the file beyond the file's own size.
#include <algorithm>
#include <cstring>

#include "gguf/file.h"

namespace onprem::gguf {

using core::ErrorCode;
using core::Expected;
using core::make_error;

class Parser {
 public:
  Parser(const uint8_t* data, size_t size, File* out) : p_(data), size_(size), f_(out) {}

  Expected<core::Ok> run() {
    ONPREM_TRY(header());
    ONPREM_TRY(metadata());
    ONPREM_TRY(alignment());
    ONPREM_TRY(tensor_infos());
    return data_section();
  }

 private:
  const uint8_t* p_;
  size_t size_;
  size_t pos_ = 0;
  File* f_;
  uint64_t n_tensors_ = 0, n_kv_ = 0;

  core::Error truncated(const char* what) const {
    return make_error(ErrorCode::kTruncated,
                      std::string("file ends inside ") + what + " (file is " + std::to_string(size_) + " bytes)",
                      int64_t(pos_));
  }
  core::Error corrupt(std::string msg, size_t at) const {
    return make_error(ErrorCode::kCorrupt, std::move(msg), int64_t(at));
  }

  template <typename T>
  Expected<T> read(const char* what) {
    if (size_ - pos_ < sizeof(T)) return truncated(what);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  Expected<std::string_view> read_string(const char* what, uint64_t max_len = UINT64_MAX) {
    const size_t at = pos_;
    ONPREM_TRY_ASSIGN(len, read<uint64_t>(what));
    if (len > max_len)
      return corrupt(std::string(what) + " is " + std::to_string(len) + " bytes long, at most " +
                         std::to_string(max_len) + " allowed",
                     at);
    if (len > size_ - pos_)
      return corrupt(std::string(what) + " claims " + std::to_string(len) + " bytes but only " +
                         std::to_string(size_ - pos_) + " remain",
                     at);
    std::string_view s(reinterpret_cast<const char*>(p_ + pos_), size_t(len));
    pos_ += size_t(len);
    return s;
  }

  Expected<core::Ok> header() {
    if (size_ < 4) return truncated("the magic");
    if (std::memcmp(p_, "GGUF", 4) != 0) {
      return corrupt("not a GGUF file: the magic is not \"GGUF\"", 0);
    }
    pos_ = 4;
    ONPREM_TRY_ASSIGN(version, read<uint32_t>("the version"));
    if (version == 1) return make_error(ErrorCode::kUnsupported, "GGUF version 1 is obsolete (need 2 or 3)", 4);
    if (version == 0x03000000u || version == 0x02000000u)
      return make_error(ErrorCode::kUnsupported, "big-endian GGUF files are not supported", 4);
    if (version < 2 || version > 3) return corrupt("unknown GGUF version " + std::to_string(version), 4);
    f_->version_ = version;
    ONPREM_TRY_ASSIGN(nt, read<uint64_t>("the tensor count"));
    ONPREM_TRY_ASSIGN(nk, read<uint64_t>("the metadata count"));
    // Each metadata record takes at least 13 bytes, each tensor record at least 32: a count that
    // cannot fit in the rest of the file is corrupt, whatever the records would say.
    const uint64_t rest = size_ - pos_;
    if (nk > rest / 13) return corrupt("metadata count " + std::to_string(nk) + " cannot fit in the file", 16);
    if (nt > rest / 32) return corrupt("tensor count " + std::to_string(nt) + " cannot fit in the file", 8);
    n_tensors_ = nt;
    n_kv_ = nk;
    return core::Ok{};
  }

  Expected<Value> value(ValueType type, int depth) {
    Value v;
    v.type = type;
    switch (type) {
      case ValueType::kU8: {
        ONPREM_TRY_ASSIGN(x, read<uint8_t>("a u8 value"));
        v.u = x;
        v.i = x;
        break;
      }
      case ValueType::kI8: {
        ONPREM_TRY_ASSIGN(x, read<int8_t>("an i8 value"));
        v.i = x;
        v.u = uint64_t(int64_t(x));
        break;
      }
      case ValueType::kU16: {
        ONPREM_TRY_ASSIGN(x, read<uint16_t>("a u16 value"));
        v.u = x;
        v.i = x;
        break;
      }
      case ValueType::kI16: {
        ONPREM_TRY_ASSIGN(x, read<int16_t>("an i16 value"));
        v.i = x;
        v.u = uint64_t(int64_t(x));
        break;
      }
      case ValueType::kU32: {
        ONPREM_TRY_ASSIGN(x, read<uint32_t>("a u32 value"));
        v.u = x;
        v.i = x;
        break;
      }
      case ValueType::kI32: {
        ONPREM_TRY_ASSIGN(x, read<int32_t>("an i32 value"));
        v.i = x;
        v.u = uint64_t(int64_t(x));
        break;
      }
      case ValueType::kU64: {
        ONPREM_TRY_ASSIGN(x, read<uint64_t>("a u64 value"));
        v.u = x;
        v.i = int64_t(x);
        break;
      }
      case ValueType::kI64: {
        ONPREM_TRY_ASSIGN(x, read<int64_t>("an i64 value"));
        v.i = x;
        v.u = uint64_t(x);
        break;
      }
      case ValueType::kF32: {
        ONPREM_TRY_ASSIGN(x, read<float>("an f32 value"));
        v.f = x;
        break;
      }
      case ValueType::kF64: {
        ONPREM_TRY_ASSIGN(x, read<double>("an f64 value"));
        v.f = x;
        break;
      }
      case ValueType::kBool: {
        const size_t at = pos_;
        ONPREM_TRY_ASSIGN(x, read<uint8_t>("a bool value"));
        if (x > 1) return corrupt("bool value is " + std::to_string(x) + ", must be 0 or 1", at);
        v.u = x;
        break;
      }
      case ValueType::kString: {
        ONPREM_TRY_ASSIGN(s, read_string("a string value"));
        v.str = s;
        break;
      }
      case ValueType::kArray: {
        ONPREM_TRY(array(&v, depth));
        break;
      }
    }
    return v;
  }

  Expected<core::Ok> array(Value* v, int depth) {
    if (depth >= kMaxArrayDepth) return corrupt("arrays nested deeper than " + std::to_string(kMaxArrayDepth), pos_);
    const size_t type_at = pos_;
    ONPREM_TRY_ASSIGN(et, read<uint32_t>("an array element type"));
    if (!value_type_valid(et)) return corrupt("unknown array element type " + std::to_string(et), type_at);
    const size_t count_at = pos_;
    ONPREM_TRY_ASSIGN(n, read<uint64_t>("an array length"));
    v->elem_type = ValueType(et);
    v->count = n;
    const size_t elem = value_type_size(v->elem_type);
    const uint64_t rest = size_ - pos_;
    // Strings need 8 bytes each, nested arrays 12, fixed types their size.
    const uint64_t min_elem = elem ? elem : (v->elem_type == ValueType::kString ? 8 : 12);
    if (n > rest / min_elem)
      return corrupt("array of " + std::to_string(n) + " " + value_type_name(v->elem_type) + " cannot fit in the " +
                         std::to_string(rest) + " bytes that remain",
                     count_at);
    if (elem) {
      v->elems = p_ + pos_;
      if (v->elem_type == ValueType::kBool) {
        for (uint64_t k = 0; k < n; ++k)
          if (p_[pos_ + k] > 1) return corrupt("bool array element is not 0 or 1", pos_ + k);
      }
      pos_ += size_t(n * elem);
    } else if (v->elem_type == ValueType::kString) {
      v->strings.reserve(size_t(n));
      for (uint64_t k = 0; k < n; ++k) {
        ONPREM_TRY_ASSIGN(s, read_string("an array string"));
        v->strings.push_back(s);
      }
    } else {
      v->arrays.reserve(size_t(n));
      for (uint64_t k = 0; k < n; ++k) {
        Value inner;
        inner.type = ValueType::kArray;
        ONPREM_TRY(array(&inner, depth + 1));
        v->arrays.push_back(std::move(inner));
      }
    }
    return core::Ok{};
  }

  Expected<core::Ok> metadata() {
    f_->kvs_.reserve(size_t(n_kv_));
    for (uint64_t k = 0; k < n_kv_; ++k) {
      const size_t key_at = pos_;
      ONPREM_TRY_ASSIGN(key, read_string("a metadata key", kMaxKeyLength));
      if (key.empty()) return corrupt("empty metadata key", key_at);
      if (f_->kv_index_.count(key)) return corrupt("duplicate metadata key '" + std::string(key) + "'", key_at);
      const size_t type_at = pos_;
      ONPREM_TRY_ASSIGN(type, read<uint32_t>("a metadata value type"));
      if (!value_type_valid(type))
        return corrupt("metadata key '" + std::string(key) + "' has unknown value type " + std::to_string(type),
                       type_at);
      ONPREM_TRY_ASSIGN(v, value(ValueType(type), 0));
      f_->kv_index_.emplace(key, f_->kvs_.size());
      f_->kvs_.emplace_back(key, std::move(v));
    }
    return core::Ok{};
  }

  Expected<core::Ok> alignment() {
    const Value* a = f_->find("general.alignment");
    if (!a) return core::Ok{};
    if (a->type != ValueType::kU32)
      return make_error(ErrorCode::kTypeMismatch,
                        std::string("general.alignment must be u32, found ") + value_type_name(a->type));
    if (a->u == 0 || (a->u & (a->u - 1)) != 0)
      return make_error(ErrorCode::kCorrupt, "general.alignment " + std::to_string(a->u) + " is not a power of two");
    f_->alignment_ = uint32_t(a->u);
    return core::Ok{};
  }

  Expected<core::Ok> tensor_infos() {
    f_->tensors_.reserve(size_t(n_tensors_));
    for (uint64_t k = 0; k < n_tensors_; ++k) {
      const size_t at = pos_;
      TensorInfo t;
      ONPREM_TRY_ASSIGN(name, read_string("a tensor name", kMaxTensorName));
      if (name.empty()) return corrupt("empty tensor name", at);
      if (f_->tensor_index_.count(name)) return corrupt("duplicate tensor '" + std::string(name) + "'", at);
      t.name = name;
      const std::string who = "tensor '" + std::string(name) + "'";
      const size_t dims_at = pos_;
      ONPREM_TRY_ASSIGN(nd, read<uint32_t>("a tensor dimension count"));
      if (nd == 0 || nd > 4) return corrupt(who + " has " + std::to_string(nd) + " dimensions (1..4 allowed)", dims_at);
      t.n_dims = nd;
      uint64_t total = 1;
      for (uint32_t d = 0; d < nd; ++d) {
        const size_t ne_at = pos_;
        ONPREM_TRY_ASSIGN(ne, read<uint64_t>("a tensor dimension"));
        if (ne == 0 || ne > (uint64_t(1) << 62) / total)
          return corrupt(who + " dimension " + std::to_string(d) + " is " + std::to_string(ne) +
                             (ne == 0 ? " (must be at least 1)" : " (element count overflows)"),
                         ne_at);
        t.ne[d] = ne;
        total *= ne;
      }
      const size_t type_at = pos_;
      ONPREM_TRY_ASSIGN(type, read<uint32_t>("a tensor type"));
      const auto info = core::ggml_type_info(type);
      t.type = static_cast<core::GgmlType>(type);
      if (info) {
        if (t.ne[0] % info->block_size != 0)
          return corrupt(who + " row length " + std::to_string(t.ne[0]) + " is not a multiple of the " +
                             std::string(info->name) + " block size " + std::to_string(info->block_size),
                         dims_at);
        t.n_bytes = total / info->block_size * info->block_bytes;
      } else {
        // A type newer than this build (NVFP4 and the other ids above MXFP4): the file still
        // parses, its size is unknown (0 here), and whoever needs the tensor refuses it by name.
        if (type > kMaxTypeId)
          return corrupt(who + " has ggml type id " + std::to_string(type) + " (no such type)", type_at);
        t.n_bytes = 0;
      }
      const size_t off_at = pos_;
      ONPREM_TRY_ASSIGN(off, read<uint64_t>("a tensor offset"));
      if (off % f_->alignment_ != 0)
        return corrupt(who + " offset " + std::to_string(off) + " is not a multiple of the alignment " +
                           std::to_string(f_->alignment_),
                       off_at);
      t.offset = off;
      f_->tensor_index_.emplace(name, f_->tensors_.size());
      f_->tensors_.push_back(t);
    }
    return core::Ok{};
  }

  Expected<core::Ok> data_section() {
    const uint64_t a = f_->alignment_;
    const uint64_t start = (uint64_t(pos_) + a - 1) / a * a;
    if (!f_->tensors_.empty() && start > size_)
      return make_error(ErrorCode::kTruncated,
                        "file ends before the data section (which starts at " + std::to_string(start) + ")",
                        int64_t(size_));
    f_->data_offset_ = start;
    const uint64_t data_size = start <= size_ ? size_ - start : 0;
    for (auto& t : f_->tensors_) {
      if (t.offset > data_size || t.n_bytes > data_size - t.offset)
        return make_error(ErrorCode::kTruncated,
                          "tensor '" + std::string(t.name) + "' needs bytes [" + std::to_string(start + t.offset) +
                              ", " + std::to_string(start + t.offset + t.n_bytes) + ") but the file has " +
                              std::to_string(size_),
                          int64_t(size_));
      t.data = p_ + start + t.offset;
    }
    // Overlapping tensors would alias each other's data: refuse them.
    std::vector<const TensorInfo*> order;
    order.reserve(f_->tensors_.size());
    for (const auto& t : f_->tensors_) order.push_back(&t);
    std::sort(order.begin(), order.end(), [](auto* x, auto* y) { return x->offset < y->offset; });
    for (size_t k = 1; k < order.size(); ++k) {
      if (order[k - 1]->offset + order[k - 1]->n_bytes > order[k]->offset)
        return corrupt(
            "tensors '" + std::string(order[k - 1]->name) + "' and '" + std::string(order[k]->name) + "' overlap",
            size_t(start + order[k]->offset));
    }
    return core::Ok{};
  }
};

Expected<File> File::parse(const uint8_t* data, size_t size) {
  File f;
  f.size_ = size;
  if (data == nullptr && size > 0) return make_error(ErrorCode::kInvalidArgument, "null buffer");
  static const uint8_t kEmpty = 0;
  Parser p(data ? data : &kEmpty, size, &f);
  ONPREM_TRY(p.run());
  return f;
}

Expected<File> File::open_one(const std::string& path) {
  auto map = core::MappedFile::open(path);
  if (!map) return map.error();
  auto shared = std::make_shared<core::MappedFile>(std::move(map.value()));
  auto f = parse(shared->data(), shared->size());
  if (!f) {
    core::Error e = f.error();
    e.where = path;
    return e;
  }
  f->map_ = std::move(shared);
  return f;
}

}  // namespace onprem::gguf
