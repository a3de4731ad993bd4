#include "engine/prefix_cache.h"

#include <algorithm>

namespace onprem::engine {

uint64_t Snapshot::bytes() const {
  uint64_t b = 0;
  for (const auto& v : conv) b += v.size() * sizeof(float);
  for (const auto& v : ssm) b += v.size() * sizeof(float);
  return b + gpu.device_bytes + gpu.host_bytes;
}

int64_t reusable_prefix(const std::vector<int32_t>& history, const std::vector<Snapshot>& snapshots,
                        const std::vector<int32_t>& prompt) {
  size_t common = 0;
  while (common < history.size() && common < prompt.size() && history[common] == prompt[common]) ++common;
  const int64_t limit = std::min<int64_t>(int64_t(common), int64_t(prompt.size()) - 1);
  if (int64_t(history.size()) <= limit) return int64_t(history.size());  // the live state itself
  int64_t best = 0;
  for (const auto& snap : snapshots)
    if (snap.pos <= limit) best = std::max(best, snap.pos);
  return best;
}

Snapshot take_snapshot(const model::SequenceState& st, uint64_t clock) {
  Snapshot snap;
  snap.pos = st.n_past;
  snap.last_used = clock;
  snap.conv.resize(st.conv.size()), snap.ssm.resize(st.ssm.size());
  for (size_t l = 0; l < st.conv.size(); ++l)
    if (!st.conv[l].empty()) snap.conv[l] = st.conv[l], snap.ssm[l] = st.ssm[l];
  return snap;
}

void restore(model::SequenceState& st, std::vector<int32_t>& history, std::vector<Snapshot>& snapshots, int64_t pos,
             uint64_t clock) {
  if (pos == 0) {
    st.clear();
    history.clear();
  } else if (pos < int64_t(history.size())) {
    // KV entries below pos hold the same tokens; the recurrent state comes from the snapshot.
    for (const auto& snap : snapshots) {
      if (snap.pos != pos || snap.on_device()) continue;
      for (size_t l = 0; l < st.conv.size(); ++l) {
        if (st.conv[l].empty()) continue;
        st.conv[l] = snap.conv[l];
        st.ssm[l] = snap.ssm[l];
      }
      break;
    }
    st.n_past = pos;
    history.resize(size_t(pos));
  }
  snapshots.erase(std::remove_if(snapshots.begin(), snapshots.end(), [&](const Snapshot& x) { return x.pos > pos; }),
                  snapshots.end());
  for (auto& snap : snapshots)
    if (snap.pos == pos) snap.last_used = clock;
}

uint64_t evict_to_budget(const std::vector<std::vector<Snapshot>*>& lists, uint64_t budget) {
  for (;;) {
    uint64_t total = 0;
    std::vector<Snapshot>* owner = nullptr;
    size_t oldest = 0;
    for (auto* list : lists)
      for (size_t i = 0; i < list->size(); ++i) {
        total += (*list)[i].bytes();
        if (!owner || (*list)[i].last_used < (*owner)[oldest].last_used) owner = list, oldest = i;
      }
    if (total <= budget || !owner) return total;
    owner->erase(owner->begin() + long(oldest));
  }
}

}  // namespace onprem::engine
