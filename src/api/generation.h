// One request's generation as the API sees it. The engine thread only steers sampling through it
// (grammar mask, thinking budget, scripted tokens) and streams token ids; the thread that serves
// the request (one HTTP worker) turns them into text here: it detokenizes, splits reasoning /
// answer / tool calls, matches stop strings (cancelling the engine request) and records the end
// in the metrics, as it drains the events (streaming) or waits for the end (buffered).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/service.h"
#include "chat/json_schema.h"
#include "chat/output_parser.h"
#include "chat/stop_strings.h"
#include "chat/thinking_budget.h"

namespace onprem::api {

struct GenerationOptions {
  chat::Json tools = chat::Json::array();
  bool parse_tools = true;
  bool thinking_open = true;      // the prompt ended with "<think>\n"
  std::vector<std::string> stop;  // stop strings (answer text)
  int top_logprobs = -1;
  std::optional<chat::Grammar> grammar;
  int64_t thinking_budget = -1;
  bool ignore_eos = false;  // extension: generate exactly max_tokens (benchmarks, load tests)
  bool loop_guard = true;
  std::vector<int64_t> snapshot_at;  // message boundaries in the prompt (prefix cache)
  // Tests only (serve --test-script): the model's output is forced to this text, then an end of
  // turn. The forward pass still runs on every token; only the choice of token is scripted, so
  // that a test can drive a real client through a tool round trip with a random model.
  std::optional<std::string> scripted_output;
};

struct GenerationEvent {
  enum class Kind { kDelta, kToken, kFinish } kind = Kind::kDelta;
  chat::OutputDelta delta;
  engine::TokenEvent token;
  std::string token_text;
};

class Generation : public std::enable_shared_from_this<Generation> {
 public:
  Generation(Service& svc, GenerationOptions o);
  // The engine request with its callbacks bound to this object.
  engine::Request request(std::vector<int32_t> prompt, sample::SamplingParams sampling, int64_t max_tokens);
  void set_id(uint64_t id) { id_ = id; }
  uint64_t id() const { return id_; }

  // Appends the events of the tokens that arrived (waiting up to timeout_ms for some); false once
  // the finish has been delivered. One thread consumes a generation.
  bool next(std::vector<GenerationEvent>& out, int timeout_ms);
  void wait();  // until finished (stop strings still end it early)
  // The whole output once finished: the parser's, with the answer cut before a stop string.
  const chat::ParsedOutput& result() const { return result_; }
  // The stop string that ended the answer ("" if none): Anthropic reports it.
  const std::string& matched_stop() const { return stops_.matched(); }
  const engine::Finish& finish() const { return finish_; }
  // stop | length | tool_calls | repetition | error
  std::string finish_reason() const;
  // The loop guard ended it. The APIs report that as a cut-short answer ("length", "max_tokens")
  // plus "onprem_stop": "loop_guard", since their clients know no other reason.
  bool loop_guard_stopped() const { return finish_reason() == "repetition"; }
  const std::vector<GenerationEvent>& tokens() const { return token_log_; }

 private:
  void on_token(const engine::TokenEvent& ev, std::vector<GenerationEvent>& out);
  void on_finish(const engine::Finish& f, std::vector<GenerationEvent>& out);
  void release(std::vector<chat::OutputDelta> ds, std::vector<GenerationEvent>& out, bool end = false);

  Service& svc_;
  GenerationOptions o_;
  chat::OutputParser parser_;
  text::StreamDecoder dec_;
  std::unique_ptr<chat::ConstrainedDecoder> constrained_;
  std::unique_ptr<chat::ThinkingBudget> budget_;
  // Engine thread only (the sampling hooks).
  std::vector<int32_t> script_;  // scripted_output's tokens, then one end-of-turn token
  size_t script_next_ = 0;
  // The consuming thread only.
  std::shared_ptr<engine::TokenStream> stream_ = std::make_shared<engine::TokenStream>();
  chat::StopStrings stops_;  // a match drops every later token
  std::string content_;      // the answer as released
  size_t calls_released_ = 0;
  int64_t tokens_taken_ = 0;  // tokens up to the stop (the engine may have made a few more)
  std::vector<GenerationEvent> token_log_;
  chat::ParsedOutput result_;
  bool done_ = false;
  engine::Finish finish_;
  uint64_t id_ = 0;
};

}  // namespace onprem::api
