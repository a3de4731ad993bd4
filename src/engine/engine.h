// The generation engine: requests of token ids (no strings, no JSON), a scheduler with
// continuous batching, and the step loop on its own thread. Each step evaluates, in one
// forward_batch call, one token for every decoding sequence and a chunk of prompt for the
// sequences still prefilling (decodes first, so running generations keep flowing while a long
// prompt is admitted). Sequence states are allocated once at start (--parallel x --ctx-size).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "engine/prefix_cache.h"
#include "engine/token_stream.h"
#include "engine/schedule.h"
#include "model/forward.h"
#include "model/forward_vulkan.h"
#include "sample/loop_guard.h"
#include "sample/sampler.h"

namespace onprem::engine {

// A request of token ids. Its output goes to `stream`; the hooks below run on the engine thread
// inside a step (keep them short, never block). Text (detokenizing, parsing, stop strings) is the
// consumer's business, on its own thread: it ends a request early with Engine::cancel.
struct Request {
  std::vector<int32_t> prompt;
  sample::SamplingParams sampling;
  int64_t max_tokens = 256;
  int top_logprobs = -1;  // -1: no logprobs; 0: the chosen token's; k: and the top k
  bool loop_guard = true;
  std::vector<int32_t> stop_ids;  // end of generation (EOS and friends)
  // Prompt positions worth a DeltaNet state snapshot (message boundaries), for the prefix cache.
  std::vector<int64_t> snapshot_at;
  // Optional hooks that steer sampling: restrict the next token (grammar), tokens to force
  // (thinking budget, scripted tests; a forced stop id ends the generation like a sampled one), and
  // each accepted token.
  std::function<void(float* logits, int64_t n)> mask;
  std::function<std::vector<int32_t>()> forced;
  std::function<void(int32_t id)> accepted;
  std::shared_ptr<TokenStream> stream;  // where the tokens and the finish go (may be null)
};

struct EngineOptions {
  int parallel = 4;         // sequence slots
  int64_t ctx_size = 8192;  // tokens per slot
  int64_t ubatch = 512;     // tokens per step (all sequences)
  int threads = 0;          // 0: all cores
  size_t max_queue = 64;    // waiting requests beyond the slots; more is refused (429)
  model::ForwardOptions forward;
  // Prefix cache. A slot keeps its sequence after a request; the next request that shares a
  // prefix restarts from there. Recurrent state cannot be truncated, so DeltaNet state snapshots
  // are taken at message boundaries (snapshot_at), at the end of each prompt and every
  // snapshot_interval tokens; together at most cache_ram bytes, least recently used out first. On
  // a GPU the snapshots are copies in device memory (host memory where the device has no room):
  // cache_ram then caps device memory.
  // Long context: static YaRN with this factor for a sequence whose prompt + max_tokens exceeds
  // the model's native (training) context, plain RoPE for every other sequence.
  float yarn_factor = 4;
  bool prefix_cache = true;
  int64_t snapshot_interval = 512;
  uint64_t cache_ram = uint64_t(2) << 30;
  // Time slicing when every slot is busy: a request that has waited this many seconds takes the
  // slot of the generation that has run longest (at least as long); that one waits in the queue and
  // resumes by re-prefilling its tokens (engine/schedule.h, choose_preemption). 0: off.
  double preempt_after_s = 0;
  // Set: every forward pass runs on this Vulkan device (model/forward_vulkan.h), one sequence
  // after another within a step; the slots' KV caches and recurrent state live there. Made by the
  // caller (which reports a missing device or memory); its max_tokens must be at least ubatch and
  // its max_ctx at least ctx_size.
  std::shared_ptr<model::VulkanEngine> gpu;
};

struct EngineStats {
  size_t queued = 0, active = 0, slots = 0;
  uint64_t prompt_tokens = 0, generated_tokens = 0, requests = 0, steps = 0;
  uint64_t submitted_prompt_tokens = 0, reused_prompt_tokens = 0;  // prefix cache hit rate
  uint64_t snapshot_bytes = 0;                                     // host and device together, within cache_ram
  uint64_t snapshot_device_bytes = 0;                              // of which on a GPU
  uint64_t preemptions = 0;                                        // generations paused for a waiting request
  double prefill_seconds = 0, decode_seconds = 0;                  // forward passes, split by their rows
  // The engine thread's whole steps (admission, planning, forward pass, sampling, callbacks):
  // step_seconds - prefill_seconds - decode_seconds is its time outside the forward pass.
  double step_seconds = 0;
  // The same two in the engine thread's CPU time, which a loaded machine's waits do not inflate.
  double step_cpu_seconds = 0, forward_cpu_seconds = 0;
};

class Engine {
 public:
  Engine(const model::Model& m, EngineOptions o);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a request; an error if the queue is full or the prompt cannot fit a slot's context.
  core::Expected<uint64_t> submit(Request r);
  void cancel(uint64_t id);  // finishes with kCancelled; frees the slot at the next step
  EngineStats stats() const;
  // Not ok when the engine could not start (a GPU sequence could not be allocated); every submit
  // then answers this error.
  const core::Status& status() const { return status_; }
  int64_t context_size() const { return o_.ctx_size; }  // tokens per slot
  void shutdown();                                      // cancels everything, joins the thread

 private:
  struct Slot {
    model::SequenceState state;
    model::VulkanSequence gpu_state;  // with EngineOptions::gpu: the device side of `state`
    std::vector<int32_t> history;     // the tokens the state holds, in order
    std::vector<Snapshot> snapshots;
    bool busy = false;
    uint64_t id = 0;
    Request req;
    size_t prefilled = 0;          // prompt tokens evaluated
    std::vector<int32_t> pending;  // tokens to evaluate next (forced, or the last sampled)
    sample::Sampler sampler{sample::SamplingParams{}};
    sample::LoopGuard guard;
    std::vector<float> logits;
    TokenEvent drawn;  // this step's draw, between draw() and take_drawn()
    Finish finish;
    std::chrono::steady_clock::time_point submitted, prefill_done, admitted;
    bool resumed = false;  // re-prefilling after a pause: its prompt is what it had generated too
    bool cancelled = false;
    uint64_t last_used = 0;  // clock_ when last admitted: the least recently used goes first
  };
  // A generation paused for a waiting request: what it resumes with. Its request's prompt is
  // replaced by every token it had (prompt, generated, pending), to re-prefill.
  struct Paused {
    sample::Sampler sampler{sample::SamplingParams{}};
    sample::LoopGuard guard;
    Finish finish;
    float rope_factor = 1;
    std::chrono::steady_clock::time_point submitted, prefill_done;
  };
  struct Queued {
    uint64_t id;
    Request req;
    std::chrono::steady_clock::time_point submitted;  // or paused
    std::optional<Paused> paused;
  };

  void loop();
  bool step();  // schedule -> execute -> update; false when there was nothing to do
  std::vector<StepWork> schedule();
  core::Status execute(const std::vector<StepWork>& work, std::vector<model::BatchEntry>* batch);
  void update(const std::vector<StepWork>& work, const std::vector<model::BatchEntry>& batch);
  void admit();
  void pause_slot(Slot& s);  // with mu_ held
  static Finish cancelled_in_queue(const Queued& q);
  bool emit(Slot& s, const TokenEvent& ev);
  bool prepare_draw(Slot& s);
  void draw(Slot& s);
  void take_drawn(Slot& s);
  void finish_slot(Slot& s, FinishReason r, const std::string& error = {});
  Slot* pick_slot(const std::vector<int32_t>& prompt, float rope_factor, int64_t* restore);
  float rope_factor_for(const Request& r) const;
  void keep_snapshot(Slot& s);  // at the slot's position, within cache_ram
  uint64_t clock_ = 0;

  const model::Model& m_;
  EngineOptions o_;
  core::ThreadPool pool_;
  model::Workspace ws_;
  core::Status status_ = core::Ok{};
  std::vector<Slot> slots_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Queued> queue_;
  std::vector<uint64_t> cancels_;
  bool stop_ = false;
  uint64_t next_id_ = 1;
  EngineStats stats_;
  std::thread thread_;
};

}  // namespace onprem::engine
