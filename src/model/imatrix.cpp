#include "model/imatrix.h"

#include <cstring>
#include <fstream>

#include "gguf/file.h"
#include "gguf/writer.h"

namespace onprem::model {

using core::ErrorCode;
using core::make_error;

namespace {

constexpr std::string_view kSum2 = ".in_sum2", kCounts = ".counts";

core::Expected<Imatrix> read_gguf(const std::string& path) {
  ONPREM_TRY_ASSIGN(f, gguf::File::open(path));
  auto type = f.get_string("general.type");
  if (!type || *type != "imatrix")
    return make_error(ErrorCode::kInvalidArgument,
                      path + ": not an importance matrix (general.type is not \"imatrix\")");
  Imatrix m;
  if (auto n = f.get_u32("imatrix.chunk_count")) m.chunk_count = *n;
  if (auto n = f.get_u32("imatrix.chunk_size")) m.chunk_size = *n;
  if (auto ds = f.get_string_array("imatrix.datasets"))
    for (auto d : **ds) m.datasets.emplace_back(d);
  for (const gguf::TensorInfo& t : f.tensors()) {
    const std::string_view name = t.name;
    if (name.size() <= kSum2.size() || name.substr(name.size() - kSum2.size()) != kSum2) continue;
    const std::string weight(name.substr(0, name.size() - kSum2.size()));
    const gguf::TensorInfo* c = f.tensor(weight + std::string(kCounts));
    if (t.type != core::GgmlType::kF32 || !c || c->type != core::GgmlType::kF32 || c->ne[0] != 1 ||
        c->n_elements() != t.ne[1] * t.ne[2] * t.ne[3])
      return make_error(ErrorCode::kInvalidArgument,
                        path + ": " + weight + ": in_sum2 and counts must be F32, {ne0, n} and {1, n}");
    ImatrixEntry e;
    e.sum2.resize(size_t(t.n_elements()));
    e.counts.resize(size_t(c->n_elements()));
    std::memcpy(e.sum2.data(), t.data, e.sum2.size() * 4);
    std::memcpy(e.counts.data(), c->data, e.counts.size() * 4);
    m.entries.emplace(weight, std::move(e));
  }
  if (m.entries.empty()) return make_error(ErrorCode::kInvalidArgument, path + ": no \"<tensor>.in_sum2\" entries");
  return m;
}

// int32 entries; per entry: int32 name length, name, int32 calls, int32 values, float values
// (mean × calls); then optionally int32 chunks and the dataset's name.
core::Expected<Imatrix> read_legacy(const std::string& path, std::ifstream& in) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument, path + ": legacy imatrix: " + why);
  };
  auto i32 = [&](int32_t* v) { return bool(in.read(reinterpret_cast<char*>(v), 4)); };
  int32_t n = 0;
  if (!i32(&n) || n <= 0 || n > 1000000) return bad("bad entry count");
  Imatrix m;
  for (int32_t k = 0; k < n; ++k) {
    int32_t len = 0, calls = 0, nval = 0;
    if (!i32(&len) || len <= 0 || len > 4096) return bad("entry " + std::to_string(k) + ": bad name length");
    std::string name(size_t(len), '\0');
    if (!in.read(name.data(), len) || !i32(&calls) || !i32(&nval) || nval <= 0 || nval > (1 << 28))
      return bad("entry " + std::to_string(k) + " is cut short or has a bad size");
    ImatrixEntry e;
    e.sum2.resize(size_t(nval));
    if (!in.read(reinterpret_cast<char*>(e.sum2.data()), std::streamsize(nval) * 4)) return bad(name + " is cut short");
    // The values are already means × calls: counts of `calls` give the means back.
    e.counts.assign(1, float(calls > 0 ? calls : 1));
    m.entries.emplace(std::move(name), std::move(e));
  }
  int32_t chunks = 0, dlen = 0;
  if (i32(&chunks)) {
    m.chunk_count = uint32_t(std::max(0, chunks));
    if (i32(&dlen) && dlen > 0 && dlen < 65536) {
      std::string ds(size_t(dlen), '\0');
      if (in.read(ds.data(), dlen)) m.datasets.push_back(ds);
    }
  }
  return m;
}

}  // namespace

core::Expected<std::vector<float>> Imatrix::importance(const std::string& tensor, uint64_t ne0, uint64_t n_mat) const {
  auto it = entries.find(tensor);
  if (it == entries.end()) return std::vector<float>{};
  const ImatrixEntry& e = it->second;
  const uint64_t n_counts = e.counts.size();
  // Legacy files hold one count for all matrices.
  if (e.sum2.size() != ne0 * n_mat || (n_counts != n_mat && n_counts != 1))
    return make_error(ErrorCode::kInvalidArgument, "importance matrix entry " + tensor + " has " +
                                                       std::to_string(e.sum2.size()) + " values; the tensor needs " +
                                                       std::to_string(ne0) + " x " + std::to_string(n_mat));
  std::vector<float> out(e.sum2.size());
  for (uint64_t mat = 0; mat < n_mat; ++mat) {
    const float c = e.counts[n_counts == 1 ? 0 : mat];
    for (uint64_t j = 0; j < ne0; ++j) out[mat * ne0 + j] = c > 0 ? e.sum2[mat * ne0 + j] / c : 1.0f;
  }
  return out;
}

core::Expected<Imatrix> read_imatrix(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "cannot open importance matrix '" + path + "'");
  char magic[4] = {};
  in.read(magic, 4);
  if (in.gcount() == 4 && std::memcmp(magic, "GGUF", 4) == 0) return read_gguf(path);
  in.clear();
  in.seekg(0);
  return read_legacy(path, in);
}

core::Status write_imatrix(const Imatrix& m, const std::string& path) {
  gguf::Writer w(32);
  w.set_string("general.type", "imatrix");
  w.set_string_array("imatrix.datasets", m.datasets);
  w.set_u32("imatrix.chunk_count", m.chunk_count);
  w.set_u32("imatrix.chunk_size", m.chunk_size);
  for (const auto& entry : m.entries) {
    const std::string& name = entry.first;
    const ImatrixEntry& e = entry.second;  // a reference the lambdas below can capture
    const uint64_t n_mat = e.counts.size(), ne0 = e.sum2.size() / std::max<uint64_t>(1, n_mat);
    const std::vector<uint64_t> sum_ne = n_mat > 1 ? std::vector<uint64_t>{ne0, n_mat} : std::vector<uint64_t>{ne0};
    const std::vector<uint64_t> count_ne = n_mat > 1 ? std::vector<uint64_t>{1, n_mat} : std::vector<uint64_t>{1};
    w.add_tensor(name + std::string(kSum2), core::GgmlType::kF32, sum_ne,
                 [&e](uint8_t* dst, size_t n) { std::memcpy(dst, e.sum2.data(), n); });
    w.add_tensor(name + std::string(kCounts), core::GgmlType::kF32, count_ne,
                 [&e](uint8_t* dst, size_t n) { std::memcpy(dst, e.counts.data(), n); });
  }
  return w.write(path);
}

}  // namespace onprem::model
