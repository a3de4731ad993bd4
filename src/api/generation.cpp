#include "api/generation.h"

#include <chrono>

#include "text/unicode.h"

namespace onprem::api {

Generation::Generation(Service& svc, GenerationOptions o)
    : svc_(svc),
      o_(std::move(o)),
      parser_(o_.tools, chat::ParserOptions{o_.thinking_open, o_.parse_tools, svc.seq++}),
      dec_(svc.tok, false),
      stops_(o_.stop) {
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
  // A script ends with its end-of-turn token, even where the request ignores EOS.
  if (!o_.ignore_eos || o_.scripted_output) r.stop_ids = svc_.eog_ids;
  r.loop_guard = o_.loop_guard;
  r.snapshot_at = o_.snapshot_at;
  r.stream = stream_;
  auto self = shared_from_this();  // the engine's hooks keep the generation alive
  if (constrained_) r.mask = [self](float* logits, int64_t) { self->constrained_->mask_logits(logits); };
  if (budget_) r.forced = [self] { return self->budget_->before_sampling(); };
  if (o_.scripted_output)  // one token per step, as sampled ones come
    r.forced = [self] {
      return self->script_next_ < self->script_.size() ? std::vector<int32_t>{self->script_[self->script_next_++]}
                                                       : std::vector<int32_t>{};
    };
  if (constrained_ || budget_)
    r.accepted = [self](int32_t id) {
      if (self->constrained_) self->constrained_->accept(id);
      if (self->budget_) self->budget_->accept(id);
    };
  return r;
}

// Deltas on their way out: the answer through the stop strings (what could begin one is held
// back until other output or the end comes), nothing at all after a match.
void Generation::release(std::vector<chat::OutputDelta> ds, std::vector<GenerationEvent>& out, bool end) {
  auto emit = [&](chat::OutputDelta d) {
    if (d.kind == chat::OutputDelta::Kind::kContent) content_ += d.text;
    if (d.kind == chat::OutputDelta::Kind::kToolCallBegin) ++calls_released_;
    GenerationEvent e;
    e.kind = GenerationEvent::Kind::kDelta;
    e.delta = std::move(d);
    out.push_back(std::move(e));
  };
  auto emit_text = [&](std::string text) {
    if (text.empty()) return;
    chat::OutputDelta d;
    d.kind = chat::OutputDelta::Kind::kContent;
    d.text = std::move(text);
    emit(std::move(d));
  };
  for (auto& d : ds) {
    if (stops_.stopped()) return;
    if (d.kind != chat::OutputDelta::Kind::kContent) {
      emit_text(stops_.flush());
      emit(std::move(d));
      continue;
    }
    emit_text(stops_.push(d.text));
    if (stops_.stopped()) svc_.engine.cancel(id_);  // the tokens it makes meanwhile are dropped
  }
  if (end && !stops_.stopped()) emit_text(stops_.flush());
}

void Generation::on_token(const engine::TokenEvent& ev, std::vector<GenerationEvent>& out) {
  if (stops_.stopped()) return;  // made after the stop string, before the cancel landed
  ++tokens_taken_;
  if (o_.top_logprobs >= 0) {
    GenerationEvent e;
    e.kind = GenerationEvent::Kind::kToken;
    e.token = ev;
    e.token_text = svc_.tok.token_bytes(ev.id, true);
    token_log_.push_back(e);
    out.push_back(std::move(e));
  }
  release(parser_.push(text::sanitize_utf8(dec_.push(ev.id))), out);
}

void Generation::on_finish(const engine::Finish& f, std::vector<GenerationEvent>& out) {
  finish_ = f;
  if (stops_.stopped()) finish_.completion_tokens = tokens_taken_;  // what the client was given
  if (!stops_.stopped()) {
    auto ds = parser_.push(text::sanitize_utf8(dec_.flush()));
    auto tail = parser_.finish();
    ds.insert(ds.end(), tail.begin(), tail.end());
    release(std::move(ds), out, true);
  }
  result_ = parser_.result();
  if (stops_.stopped()) {
    result_.content = content_;
    if (result_.tool_calls.size() > calls_released_) result_.tool_calls.resize(calls_released_);
  }
  {
    std::lock_guard<std::mutex> lock(svc_.metrics.mu);
    svc_.metrics.requests_total++;
    if (f.reason == engine::FinishReason::kError) svc_.metrics.requests_failed++;
    svc_.metrics.prompt_tokens += uint64_t(finish_.prompt_tokens);
    svc_.metrics.completion_tokens += uint64_t(finish_.completion_tokens);
  }
  if (finish_.completion_tokens > 0)
    svc_.metrics.observe(finish_.first_token_seconds, finish_.generation_seconds, finish_.completion_tokens);
  if (!result_.reasoning.empty()) {
    chat::Json calls = chat::Json::array();
    for (const auto& c : result_.tool_calls)
      calls.push_back({{"function", {{"name", c.name}, {"arguments", c.arguments}}}});
    svc_.reasoning.put(ReasoningStore::key(result_.content, calls), result_.reasoning);
  }
  done_ = true;
  GenerationEvent e;
  e.kind = GenerationEvent::Kind::kFinish;
  out.push_back(e);
}

bool Generation::next(std::vector<GenerationEvent>& out, int timeout_ms) {
  if (done_) return false;
  engine::TokenStream::Batch b = stream_->take(timeout_ms);
  for (const auto& t : b.tokens) on_token(t, out);
  if (b.finish) on_finish(*b.finish, out);
  return !done_;
}

void Generation::wait() {
  std::vector<GenerationEvent> ignored;
  while (next(ignored, -1)) ignored.clear();
}

std::string Generation::finish_reason() const {
  if (finish_.reason == engine::FinishReason::kError) return "error";
  if (!result_.tool_calls.empty()) return "tool_calls";
  if (stops_.stopped()) return "stop";
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
