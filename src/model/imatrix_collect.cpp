#include "model/imatrix_collect.h"

namespace onprem::model {

ImatrixCollector::ImatrixCollector(const Model& m) {
  const uint8_t* head = m.output.view.data;
  for (const gguf::TensorInfo& t : m.file->tensors()) {
    if (t.n_dims < 2 || t.data == head || t.data == m.token_embd.view.data) continue;
    Range r{std::string(t.name), int64_t(t.ne[0]), int64_t(t.row_bytes() * t.ne[1])};
    ranges_.emplace(t.data, r);
    ImatrixEntry e;
    e.sum2.assign(size_t(t.ne[0] * t.ne[2]), 0.0f);
    e.counts.assign(size_t(t.ne[2]), 0.0f);
    entries_.emplace(r.name, std::move(e));
  }
  observer_ = [this](const kernels::MatrixView& w, const float* X, int64_t T) { see(w, X, T); };
}

void ImatrixCollector::see(const kernels::MatrixView& w, const float* X, int64_t T) {
  // The tensor whose first byte is the last one at or before w.data.
  auto it = ranges_.upper_bound(w.data);
  if (it == ranges_.begin()) return;
  --it;
  const Range& r = it->second;
  if (r.ne0 != w.n_cols) return;  // not a weight of the file (a router copied to float, say)
  const int64_t expert = r.expert_bytes > 0 ? (w.data - it->first) / r.expert_bytes : 0;
  std::lock_guard<std::mutex> lock(mu_);
  ImatrixEntry& e = entries_.at(r.name);
  if (size_t(expert) >= e.counts.size()) return;
  float* sum = e.sum2.data() + expert * r.ne0;
  for (int64_t t = 0; t < T; ++t) {
    const float* x = X + t * r.ne0;
    for (int64_t j = 0; j < r.ne0; ++j) sum[j] += x[j] * x[j];
  }
  e.counts[size_t(expert)] += float(T);
}

Imatrix ImatrixCollector::result() const {
  std::lock_guard<std::mutex> lock(mu_);
  Imatrix m;
  for (const auto& [name, e] : entries_) {
    bool seen = false;
    for (float c : e.counts) seen |= c > 0;
    if (seen) m.entries.emplace(name, e);
  }
  return m;
}

}  // namespace onprem::model
