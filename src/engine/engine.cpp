#include "engine/engine.h"

#include <ctime>

#include "engine/prefix_cache.h"
#include "engine/schedule.h"
#include "core/log_sum_exp.h"

#include <algorithm>
#include <cmath>

namespace onprem::engine {

namespace {
// The finish of a request cancelled while it still waited for a slot.
Finish cancelled_before_start(const Request& r) {
  Finish f;
  f.reason = FinishReason::kCancelled;
  f.prompt_tokens = int64_t(r.prompt.size());
  return f;
}
}  // namespace

using core::ErrorCode;
using core::make_error;
using Clock = std::chrono::steady_clock;

namespace {
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
// The calling thread's CPU time: what the engine thread itself spent, whatever else the machine
// ran meanwhile (wall time on a loaded server also counts the time it waited for a core).
double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}
}  // namespace

Engine::Engine(const model::Model& m, EngineOptions o)
    : m_(m),
      o_(o),
      pool_(core::threads_or_all(o.threads)),
      ws_(model::make_workspace(m.config, std::max<int64_t>(o.ubatch, o.parallel), core::threads_or_all(o.threads))),
      slots_(size_t(std::max(1, o.parallel))) {
  for (auto& s : slots_) {
    // On a GPU the KV cache lives in the device sequence (in host memory for layers left on the
    // CPU); the host state keeps positions and the recurrent state for the prefix cache's snapshots.
    s.state = model::make_state(m.config, o.ctx_size, o.gpu ? int(m.config.n_main()) : 0);
    s.logits.resize(m.config.n_vocab);
    if (o.gpu && status_.ok()) {
      auto g = model::make_vulkan_sequence(*o.gpu, o.ctx_size);
      if (g)
        s.gpu_state = std::move(*g);
      else
        status_ = g.error();
    }
  }
  stats_.slots = slots_.size();
  thread_ = std::thread([this] { loop(); });
}

Engine::~Engine() { shutdown(); }

void Engine::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Whatever is left is cancelled, so every caller hears back.
  for (auto& s : slots_)
    if (s.busy) finish_slot(s, FinishReason::kCancelled);
  std::deque<Queued> q;
  {
    std::lock_guard<std::mutex> lock(mu_);
    q.swap(queue_);
  }
  for (auto& x : q)
    if (x.req.stream) x.req.stream->close(cancelled_in_queue(x));
}

core::Expected<uint64_t> Engine::submit(Request r) {
  if (!status_.ok()) return status_.error();
  if (r.prompt.empty()) return make_error(ErrorCode::kInvalidArgument, "the prompt is empty");
  if (int64_t(r.prompt.size()) >= o_.ctx_size)
    return make_error(ErrorCode::kInvalidArgument, "the prompt has " + std::to_string(r.prompt.size()) +
                                                       " tokens; the context holds " + std::to_string(o_.ctx_size));
  const int64_t native = int64_t(m_.config.n_ctx_train),
                longest = int64_t(double(native) * std::max(1.0f, o_.yarn_factor));
  if (int64_t(r.prompt.size()) + std::max<int64_t>(r.max_tokens, 0) > longest)
    return make_error(ErrorCode::kInvalidArgument, "prompt (" + std::to_string(r.prompt.size()) + ") + max_tokens (" +
                                                       std::to_string(r.max_tokens) +
                                                       ") exceeds the longest context this model supports (" +
                                                       std::to_string(longest) + " with YaRN)");
  r.max_tokens = std::min<int64_t>(std::max<int64_t>(r.max_tokens, 0), o_.ctx_size - int64_t(r.prompt.size()));
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_) return make_error(ErrorCode::kResourceExhausted, "the server is shutting down");
  size_t busy = 0;
  for (const auto& s : slots_) busy += s.busy;
  if (queue_.size() >= o_.max_queue && busy == slots_.size())
    return make_error(ErrorCode::kResourceExhausted,
                      "too many requests: " + std::to_string(queue_.size()) + " waiting");
  const uint64_t id = next_id_++;
  queue_.push_back(Queued{id, std::move(r), Clock::now(), std::nullopt});
  stats_.queued = queue_.size();
  cv_.notify_all();
  return id;
}

void Engine::cancel(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  cancels_.push_back(id);
  cv_.notify_all();
}

EngineStats Engine::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  EngineStats s = stats_;
  s.queued = queue_.size();
  return s;
}

void Engine::loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] {
        if (stop_ || !queue_.empty() || !cancels_.empty()) return true;
        for (const auto& s : slots_)
          if (s.busy) return true;
        return false;
      });
      if (stop_) return;
    }
    const auto t0 = Clock::now();
    const double c0 = thread_cpu_seconds();
    if (step()) {
      const double dt = since(t0), dc = thread_cpu_seconds() - c0;
      std::lock_guard<std::mutex> lock(mu_);
      stats_.step_seconds += dt;
      stats_.step_cpu_seconds += dc;
    }
  }
}

Finish Engine::cancelled_in_queue(const Queued& q) {
  if (!q.paused) return cancelled_before_start(q.req);
  Finish f = q.paused->finish;  // what it had generated before the pause
  f.reason = FinishReason::kCancelled;
  return f;
}

void Engine::pause_slot(Slot& s) {
  Queued q;
  q.id = s.id;
  q.submitted = Clock::now();
  Paused p;
  p.sampler = std::move(s.sampler);
  p.guard = std::move(s.guard);
  p.finish = s.finish;
  p.rope_factor = s.state.rope_factor;
  p.submitted = s.submitted, p.prefill_done = s.prefill_done;
  q.paused = std::move(p);
  q.req = std::move(s.req);
  q.req.prompt = s.history;
  q.req.prompt.insert(q.req.prompt.end(), s.pending.begin(), s.pending.end());
  // The slot keeps its sequence (the prefix cache may give it back if the slot is not retaken).
  s.busy = false;
  s.req = Request{};
  s.pending.clear();
  stats_.active--;
  stats_.preemptions++;
  // Behind the request it was paused for, ahead of the rest.
  queue_.insert(queue_.begin() + 1, std::move(q));
}

void Engine::admit() {
  std::vector<Queued> cancelled_queued;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint64_t id : cancels_) {
      for (auto& s : slots_)
        if (s.busy && s.id == id) s.cancelled = true;
      for (auto it = queue_.begin(); it != queue_.end(); ++it)
        if (it->id == id) {
          cancelled_queued.push_back(std::move(*it));
          queue_.erase(it);
          break;
        }
    }
    cancels_.clear();
    if (!queue_.empty() && o_.preempt_after_s > 0) {
      std::vector<RunningSlot> running(slots_.size());
      for (size_t i = 0; i < slots_.size(); ++i) {
        const Slot& s = slots_[i];
        running[i] = RunningSlot{s.busy, s.busy && !s.cancelled && s.prefilled >= s.req.prompt.size(),
                                 s.busy ? since(s.admitted) : 0.0};
      }
      const size_t v = choose_preemption(running, since(queue_.front().submitted), o_.preempt_after_s);
      if (v < slots_.size()) pause_slot(slots_[v]);
    }
    while (!queue_.empty()) {
      int64_t reuse = 0;
      const float factor =
          queue_.front().paused ? queue_.front().paused->rope_factor : rope_factor_for(queue_.front().req);
      Slot* sp = pick_slot(queue_.front().req.prompt, factor, &reuse);
      if (!sp) break;
      Slot& s = *sp;
      Queued q = std::move(queue_.front());
      queue_.pop_front();
      s.busy = true, s.cancelled = false, s.id = q.id, s.req = std::move(q.req), s.submitted = q.submitted;
      s.admitted = Clock::now();
      s.last_used = ++clock_;
      const size_t kept = s.history.size();
      restore(s.state, s.history, s.snapshots, reuse, ++clock_);
      s.state.rope_factor = factor;
      s.prefilled = size_t(reuse);
      s.pending.clear();
      stats_.active++;
      // On a GPU, a sequence that restarts takes its recurrent state from a device snapshot (a
      // copy on the device), or else from the host's (a host snapshot, or nothing); one that
      // extends all it kept is already right on the device.
      if (o_.gpu && (reuse == 0 || size_t(reuse) < kept)) {
        const Snapshot* on_device = nullptr;
        for (const auto& x : s.snapshots)
          if (reuse > 0 && x.pos == reuse && x.on_device()) on_device = &x;
        const core::Status w = on_device ? model::vulkan_restore_snapshot(*o_.gpu, s.gpu_state, on_device->gpu, reuse)
                                         : model::vulkan_write_recurrent(*o_.gpu, s.gpu_state, s.state);
        if (!w.ok()) {
          s.history.clear(), s.snapshots.clear();  // the device state is unknown: keep nothing
          finish_slot(s, FinishReason::kError, w.error().to_string());
          continue;
        }
      }
      s.resumed = q.paused.has_value();
      if (s.resumed) {  // as it was when paused; its clients' figures stay its own
        s.sampler = std::move(q.paused->sampler);
        s.guard = std::move(q.paused->guard);
        s.finish = q.paused->finish;
        s.submitted = q.paused->submitted, s.prefill_done = q.paused->prefill_done;
        continue;
      }
      s.sampler = sample::Sampler(s.req.sampling);
      s.guard = sample::LoopGuard();
      s.finish = Finish{};
      s.finish.prompt_tokens = int64_t(s.req.prompt.size());
      s.finish.cached_tokens = reuse;
      stats_.submitted_prompt_tokens += s.req.prompt.size();
      stats_.reused_prompt_tokens += uint64_t(reuse);
    }
    stats_.queued = queue_.size();
  }
  for (auto& q : cancelled_queued)
    if (q.req.stream) q.req.stream->close(cancelled_in_queue(q));
}

void Engine::finish_slot(Slot& s, FinishReason r, const std::string& error) {
  s.finish.reason = r;
  s.finish.error = error;
  if (s.prefilled >= s.req.prompt.size()) s.finish.generation_seconds = since(s.prefill_done);
  // The slot is free and counted so before the client hears of the end: a client that reads
  // /metrics right after its last response must not see its own request still busy.
  const auto stream = std::move(s.req.stream);
  s.busy = false;
  s.req = Request{};
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.requests++;
    stats_.active--;
  }
  if (stream) stream->close(s.finish);
}

// Reports a generated token (drawn or forced); false when that ended the generation.
bool Engine::emit(Slot& s, const TokenEvent& ev) {
  if (s.finish.completion_tokens == 0) s.finish.first_token_seconds = since(s.submitted);
  ++s.finish.completion_tokens;
  if (s.req.accepted) s.req.accepted(ev.id);
  s.sampler.accept(ev.id);
  if (s.req.stream) s.req.stream->push(ev);
  if (s.req.loop_guard && s.guard.push(ev.id)) {
    finish_slot(s, FinishReason::kRepetition);
    return false;
  }
  return true;
}

// After the slot's last evaluated token, the part that runs the request's hooks (engine thread):
// forced tokens are reported here; true means the next token is to be drawn from the logits, the
// grammar mask already applied.
bool Engine::prepare_draw(Slot& s) {
  Request& r = s.req;
  if (r.forced) {
    const std::vector<int32_t> f = r.forced();
    if (!f.empty()) {
      for (int32_t id : f) {
        if (std::find(r.stop_ids.begin(), r.stop_ids.end(), id) != r.stop_ids.end()) {
          finish_slot(s, FinishReason::kStop);
          return false;
        }
        TokenEvent ev;
        ev.id = id;
        if (!emit(s, ev)) return false;
      }
      s.pending = f;
      if (s.finish.completion_tokens >= r.max_tokens || s.state.n_past + int64_t(f.size()) > s.state.n_ctx)
        finish_slot(s, FinishReason::kLength);
      return false;
    }
  }
  if (r.mask) r.mask(s.logits.data(), m_.config.n_vocab);
  return true;
}

// The draw itself, and the logprobs asked for. It touches only the slot's own logits, sampler and
// `drawn`, so the slots of a step draw in parallel.
void Engine::draw(Slot& s) {
  const int64_t V = m_.config.n_vocab;
  TokenEvent& ev = s.drawn;
  ev = TokenEvent{};
  ev.id = s.sampler.sample(s.logits.data(), V);
  if (s.req.top_logprobs < 0) return;
  const double lse = core::log_sum_exp(s.logits.data(), V);
  ev.logprob = float(s.logits[size_t(ev.id)] - lse);
  std::vector<int32_t> idx(static_cast<size_t>(V));
  for (int64_t i = 0; i < V; ++i) idx[size_t(i)] = int32_t(i);
  const size_t k = std::min<size_t>(size_t(s.req.top_logprobs), idx.size());
  std::partial_sort(idx.begin(), idx.begin() + long(k), idx.end(),
                    [&](int32_t a, int32_t b) { return s.logits[size_t(a)] > s.logits[size_t(b)]; });
  for (size_t i = 0; i < k; ++i) ev.top.push_back({idx[i], float(s.logits[size_t(idx[i])] - lse)});
}

// The drawn token: an end-of-generation id ends it unreported; any other is reported and becomes
// the token the next step evaluates.
void Engine::take_drawn(Slot& s) {
  const Request& r = s.req;
  const int32_t id = s.drawn.id;
  if (std::find(r.stop_ids.begin(), r.stop_ids.end(), id) != r.stop_ids.end()) {
    finish_slot(s, FinishReason::kStop);
    return;
  }
  if (!emit(s, s.drawn)) return;
  s.pending = {id};
  if (s.finish.completion_tokens >= r.max_tokens || s.state.n_past + 1 > s.state.n_ctx)
    finish_slot(s, FinishReason::kLength);
}

// One step: schedule (admit waiting requests, then choose the work: decodes first, prompt chunks
// up to the token budget), execute (one forward pass over it) and update (positions, snapshots,
// sampling, token events).
bool Engine::step() {
  const std::vector<StepWork> work = schedule();
  if (work.empty()) return false;
  std::vector<model::BatchEntry> batch;
  const core::Status st = execute(work, &batch);
  if (!st.ok()) {
    for (const StepWork& w : work) finish_slot(slots_[w.slot], FinishReason::kError, st.error().to_string());
    return true;
  }
  update(work, batch);
  return true;
}

std::vector<StepWork> Engine::schedule() {
  admit();
  for (auto& s : slots_)
    if (s.busy && s.cancelled) finish_slot(s, FinishReason::kCancelled);
  std::vector<SlotLoad> load(slots_.size());
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    load[i] = SlotLoad{s.busy, int64_t(s.req.prompt.size()), int64_t(s.prefilled), int64_t(s.pending.size()),
                       &s.req.snapshot_at};
  }
  return plan_step(load, StepOptions{o_.ubatch, o_.prefix_cache, o_.snapshot_interval});
}

core::Status Engine::execute(const std::vector<StepWork>& work, std::vector<model::BatchEntry>* batch) {
  for (const StepWork& w : work) {
    Slot& s = slots_[w.slot];
    const int32_t* tokens = w.prefill ? s.req.prompt.data() + s.prefilled : s.pending.data();
    batch->push_back(model::BatchEntry{&s.state, tokens, w.n, s.logits.data(), false});
  }
  model::ForwardContext ctx;
  ctx.pool = &pool_;
  ctx.options = o_.forward;
  const auto t0 = Clock::now();
  const double c0 = thread_cpu_seconds();
  core::Status st = core::Ok{};
  if (o_.gpu) {
    // The host state keeps the positions. Every sequence in one device pass; a model split with
    // the CPU one sequence at a time.
    for (size_t i = 0; i < batch->size(); ++i) {
      model::VulkanSequence& g = slots_[work[i].slot].gpu_state;
      g.n_past = (*batch)[i].state->n_past;
      g.rope_factor = (*batch)[i].state->rope_factor;
    }
    if (batch->size() > 1 && model::vulkan_batches(*o_.gpu)) {
      std::vector<model::VulkanBatchEntry> on_device;
      for (size_t i = 0; i < batch->size(); ++i) {
        const model::BatchEntry& e = (*batch)[i];
        on_device.push_back({&slots_[work[i].slot].gpu_state, e.tokens, e.n, e.logits, e.all_logits});
      }
      st = model::forward_vulkan_batch(*o_.gpu, on_device);
      if (st.ok())
        for (auto& e : *batch) e.state->n_past += e.n;
    } else {
      for (size_t i = 0; i < batch->size() && st.ok(); ++i) {
        model::BatchEntry& e = (*batch)[i];
        st = model::forward_vulkan(*o_.gpu, slots_[work[i].slot].gpu_state, e.tokens, e.n, e.logits, e.all_logits);
        if (st.ok()) e.state->n_past += e.n;
      }
    }
  } else {
    st = model::forward_batch(m_, *batch, ws_, ctx);
  }
  const double dt = since(t0), dc = thread_cpu_seconds() - c0;
  int64_t prompt_rows = 0, decode_rows = 0;
  for (const StepWork& w : work) (w.prefill ? prompt_rows : decode_rows) += w.n;
  std::lock_guard<std::mutex> lock(mu_);
  stats_.steps++;
  stats_.prompt_tokens += uint64_t(prompt_rows);
  stats_.generated_tokens += uint64_t(decode_rows);
  const double share = prompt_rows + decode_rows ? double(prompt_rows) / double(prompt_rows + decode_rows) : 0;
  stats_.prefill_seconds += dt * share;
  stats_.decode_seconds += dt * (1 - share);
  stats_.forward_cpu_seconds += dc;
  return st;
}

void Engine::update(const std::vector<StepWork>& work, const std::vector<model::BatchEntry>& batch) {
  std::vector<Slot*> drawing;
  for (size_t i = 0; i < batch.size(); ++i) {
    Slot& s = slots_[work[i].slot];
    s.history.insert(s.history.end(), batch[i].tokens, batch[i].tokens + batch[i].n);
    if (work[i].prefill) {
      s.prefilled += size_t(batch[i].n);
      const int64_t pos = int64_t(s.prefilled);
      const bool boundary =
          pos % o_.snapshot_interval == 0 || s.prefilled == s.req.prompt.size() ||
          std::find(s.req.snapshot_at.begin(), s.req.snapshot_at.end(), pos) != s.req.snapshot_at.end();
      if (o_.prefix_cache && boundary) keep_snapshot(s);
      if (s.prefilled < s.req.prompt.size()) continue;
      if (!s.resumed) {
        s.prefill_done = Clock::now();
        s.finish.prompt_seconds = since(s.submitted);
      }
    } else {
      s.pending.erase(s.pending.begin(), s.pending.begin() + batch[i].n);
      if (!s.pending.empty()) continue;  // forced tokens still to evaluate
    }
    if (s.req.max_tokens == 0) {
      finish_slot(s, FinishReason::kLength);
      continue;
    }
    if (prepare_draw(s)) drawing.push_back(&s);
  }
  // Each slot draws from its own logits with its own sampler: in parallel across the slots (a
  // full-vocabulary draw costs the engine thread ~0.1-1 ms per sequence at 151K tokens).
  if (drawing.size() > 1) {
    auto draw_range = [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) draw(*drawing[i]);
    };
    pool_.parallel_for(drawing.size(), draw_range);
  } else {
    for (Slot* s : drawing) draw(*s);
  }
  for (Slot* s : drawing) take_drawn(*s);
}

float Engine::rope_factor_for(const Request& r) const {
  return int64_t(r.prompt.size()) + r.max_tokens > int64_t(m_.config.n_ctx_train) ? std::max(1.0f, o_.yarn_factor)
                                                                                  : 1.0f;
}

// The free slot whose kept sequence gives the longest usable prefix of `prompt`: the whole kept
// sequence if the prompt extends it, else the latest snapshot inside the common prefix. At least
// one prompt token is always left to evaluate (its logits start the generation).
// choose_slot breaks ties.
Engine::Slot* Engine::pick_slot(const std::vector<int32_t>& prompt, float rope_factor, int64_t* restore_pos) {
  std::vector<SlotChoice> choice(slots_.size());
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    choice[i] = SlotChoice{s.busy, s.history.empty(), 0, s.last_used};
    // K was cached after RoPE: a sequence under the other RoPE variant cannot be reused.
    if (s.busy || !o_.prefix_cache || s.state.rope_factor != rope_factor) continue;
    choice[i].reusable = reusable_prefix(s.history, s.snapshots, prompt);
  }
  const size_t best = choose_slot(choice);
  if (best == slots_.size()) {
    *restore_pos = 0;
    return nullptr;
  }
  *restore_pos = choice[best].reusable;
  return &slots_[best];
}

void Engine::keep_snapshot(Slot& s) {
  for (const auto& x : s.snapshots)
    if (x.pos == s.state.n_past) return;
  // On a GPU the snapshot is a copy on the device; where the device has no room for one, a copy of
  // the state brought to the host.
  if (o_.gpu) {
    s.gpu_state.n_past = s.state.n_past;
    if (auto snap = model::vulkan_take_snapshot(*o_.gpu, s.gpu_state)) {
      Snapshot x;
      x.pos = s.state.n_past, x.last_used = ++clock_, x.gpu = std::move(*snap);
      s.snapshots.push_back(std::move(x));
    } else if (model::vulkan_read_recurrent(*o_.gpu, s.gpu_state, s.state).ok()) {
      s.snapshots.push_back(take_snapshot(s.state, ++clock_));
    } else {
      return;
    }
  } else {
    s.snapshots.push_back(take_snapshot(s.state, ++clock_));
  }
  std::vector<std::vector<Snapshot>*> lists;
  for (auto& slot : slots_) lists.push_back(&slot.snapshots);
  const uint64_t total = evict_to_budget(lists, o_.cache_ram);
  uint64_t on_device = 0;
  for (const auto* list : lists)
    for (const auto& x : *list) on_device += x.gpu.device_bytes;
  std::lock_guard<std::mutex> lock(mu_);
  stats_.snapshot_bytes = total;
  stats_.snapshot_device_bytes = on_device;
}

}  // namespace onprem::engine
