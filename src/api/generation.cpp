#include "api/generation.h"

#include <chrono>

#include "text/unicode.h"

namespace onprem::api {

Generation::Generation(Service& svc, GenerationOptions o)
    : svc_(svc),
      o_(std::move(o)),
      parser_(o_.tools, chat::ParserOptions{o_.thinking_open, o_.parse_tools, svc.seq++}),
      dec_(svc.tok, false) {
  if (o_.scripted_output) {  // replaces every other say in the next token
    script_ = svc.tok.encode(*o_.scripted_output, true);
    if (!svc.eog_ids.empty()) script_.push_back(svc.eog_ids[0]);
    return;
  }
  if (o_.grammar) constrained_ = std::make_unique<chat::ConstrainedDecoder>(*o_.grammar, svc.trie, svc.tok);
  if (o_.thinking_budget >= 0 && o_.thinking_open)
    budget_ = std::make_unique<chat::ThinkingBudget>(svc.tok, o_.thinking_budget, true);
}

engine::Request Generation::request(std::vector<int32_t> prompt, sample::SamplingParams sampling, int64_t max_tokens) {
  engine::Request r;
  r.prompt = std::move(prompt);
  r.sampling = std::move(sampling);
  r.max_tokens = max_tokens;
  r.top_logprobs = o_.top_logprobs;
  if (!o_.ignore_eos) r.stop_ids = svc_.eog_ids;
  r.loop_guard = o_.loop_guard;
  r.snapshot_at = o_.snapshot_at;
  auto self = shared_from_this();  // the engine's callbacks keep the generation alive
  if (constrained_) r.mask = [self](float* logits, int64_t) { self->constrained_->mask_logits(logits); };
  if (budget_) r.forced = [self] { return self->budget_->before_sampling(); };
  if (o_.scripted_output)  // one token per step, as sampled ones come
    r.forced = [self] {
      return self->script_next_ < self->script_.size() ? std::vector<int32_t>{self->script_[self->script_next_++]}
                                                       : std::vector<int32_t>{};
    };
  r.accepted = [self](int32_t id) {
    if (self->constrained_) self->constrained_->accept(id);
    if (self->budget_) self->budget_->accept(id);
  };
  r.on_token = [self](const engine::TokenEvent& ev) { return self->on_token(ev); };
  r.on_finish = [self](const engine::Finish& f) { self->on_finish(f); };
  return r;
}

void Generation::push(std::vector<chat::OutputDelta> ds) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& d : ds) {
    GenerationEvent e;
    e.kind = GenerationEvent::Kind::kDelta;
    e.delta = std::move(d);
    events_.push_back(std::move(e));
  }
  cv_.notify_all();
}

bool Generation::on_token(const engine::TokenEvent& ev) {
  if (o_.scripted_output && script_next_ == script_.size() && !svc_.eog_ids.empty())
    return false;  // the scripted end of turn
  const std::string piece = text::sanitize_utf8(dec_.push(ev.id));
  auto ds = parser_.push(piece);
  for (const auto& d : ds)
    if (d.kind == chat::OutputDelta::Kind::kContent) answer_ += d.text;
  if (o_.top_logprobs >= 0) {
    GenerationEvent e;
    e.kind = GenerationEvent::Kind::kToken;
    e.token = ev;
    e.token_text = svc_.tok.token_bytes(ev.id, true);
    std::lock_guard<std::mutex> lock(mu_);
    token_log_.push_back(e);
    events_.push_back(e);
  }
  push(std::move(ds));
  for (const auto& s : o_.stop)
    if (!s.empty() && answer_.find(s) != std::string::npos) {
      stopped_ = true;
      return false;
    }
  return true;
}

void Generation::on_finish(const engine::Finish& f) {
  auto ds = parser_.push(text::sanitize_utf8(dec_.flush()));
  auto tail = parser_.finish();
  ds.insert(ds.end(), tail.begin(), tail.end());
  push(std::move(ds));
  {
    std::lock_guard<std::mutex> lock(svc_.metrics.mu);
    svc_.metrics.requests_total++;
    if (f.reason == engine::FinishReason::kError) svc_.metrics.requests_failed++;
    svc_.metrics.prompt_tokens += uint64_t(f.prompt_tokens);
    svc_.metrics.completion_tokens += uint64_t(f.completion_tokens);
  }
  if (f.completion_tokens > 0) svc_.metrics.observe(f.first_token_seconds, f.generation_seconds, f.completion_tokens);
  const chat::ParsedOutput& r = parser_.result();
  if (!r.reasoning.empty()) {
    chat::Json calls = chat::Json::array();
    for (const auto& c : r.tool_calls) calls.push_back({{"function", {{"name", c.name}, {"arguments", c.arguments}}}});
    svc_.reasoning.put(ReasoningStore::key(r.content, calls), r.reasoning);
  }
  std::lock_guard<std::mutex> lock(mu_);
  finish_ = f;
  done_ = true;
  GenerationEvent e;
  e.kind = GenerationEvent::Kind::kFinish;
  events_.push_back(e);
  cv_.notify_all();
}

bool Generation::next(std::vector<GenerationEvent>& out, int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return !events_.empty() || done_; });
  while (!events_.empty()) {
    out.push_back(std::move(events_.front()));
    events_.pop_front();
  }
  return !(done_ && events_.empty() && out.empty());
}

void Generation::wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return done_; });
}

std::string Generation::finish_reason() const {
  if (finish_.reason == engine::FinishReason::kError) return "error";
  if (!parser_.result().tool_calls.empty()) return "tool_calls";
  if (stopped_) return "stop";
  switch (finish_.reason) {
    case engine::FinishReason::kLength:
      return "length";
    case engine::FinishReason::kRepetition:
      return "repetition";
    default:
      return "stop";
  }
}

}  // namespace onprem::api
