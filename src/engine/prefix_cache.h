// The prefix cache for the hybrid state. A slot keeps its sequence after a request, and a later
// request that shares a prefix starts from there. KV entries below a position can be reused as
// they are; the DeltaNet conv and recurrent state cannot be truncated, so it is snapshotted at
// chosen positions and restored from the latest snapshot inside the shared prefix. Snapshots are
// bounded in bytes, least recently used out first. Plain data and free functions: the engine owns
// the slots and calls these.
#pragma once

#include <cstdint>
#include <vector>

#include "model/forward_vulkan.h"
#include "model/state.h"

namespace onprem::engine {

struct Snapshot {
  int64_t pos = 0;                            // tokens the state had taken in
  std::vector<std::vector<float>> conv, ssm;  // recurrent layers only; empty for the others
  model::VulkanSnapshot gpu;                  // on a GPU: the state kept on the device instead
  uint64_t last_used = 0;                     // a clock value: the smallest goes first
  uint64_t bytes() const;
  bool on_device() const { return gpu.data != nullptr; }
};

// How many leading tokens of `prompt` a kept sequence can supply: its whole history if the prompt
// extends it, else the latest snapshot inside the common prefix, else 0. At least one prompt
// token is always left to evaluate (its logits start the generation).
int64_t reusable_prefix(const std::vector<int32_t>& history, const std::vector<Snapshot>& snapshots,
                        const std::vector<int32_t>& prompt);

// A snapshot of the recurrent layers at the state's current position (stamped `clock`).
Snapshot take_snapshot(const model::SequenceState& st, uint64_t clock);

// Rewinds a kept sequence to `pos` (0, its own length, or a snapshot's position): the recurrent
// state from that snapshot (a host one: a device snapshot is the engine's to restore), history and
// n_past cut there, and the snapshots past it dropped (they describe a future that is being
// rewritten). The snapshot used is stamped `clock`.
void restore(model::SequenceState& st, std::vector<int32_t>& history, std::vector<Snapshot>& snapshots, int64_t pos,
             uint64_t clock);

// Drops the least recently used snapshots, across every slot's list, until they hold at most
// `budget` bytes; returns the bytes they hold then.
uint64_t evict_to_budget(const std::vector<std::vector<Snapshot>*>& lists, uint64_t budget);

}  // namespace onprem::engine
