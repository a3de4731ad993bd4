// The model behind the API: model, tokenizer, engine, defaults. The one object routes share.
// Threading: handlers run on HTTP threads; the engine runs its sampling hooks on its step thread and
// streams token ids, which the HTTP thread serving the request turns into text (api/generation.h).
#pragma once

#include <atomic>
#include <deque>
#include <unordered_map>
#include <memory>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "chat/jinja.h"
#include "chat/template.h"
#include "chat/token_mask.h"
#include "engine/engine.h"
#include "text/tokenizer.h"

namespace onprem::api {

struct ServiceOptions {
  std::string model_id = "onprem";           // what /v1/models lists and responses echo
  std::vector<std::string> aliases;          // other names accepted in "model"
  bool any_model = false;                    // accept every name (responses echo the one asked for)
  std::string preset;                        // default sampling preset ("" = engine defaults)
  std::string preset_model = "qwen3.6-27b";  // whose presets
  size_t max_messages = 1024;
  bool restore_reasoning = true;  // default for requests with tools (per-request override)
  int64_t default_max_tokens = 512;
  chat::TemplateFlavor flavor = chat::TemplateFlavor::kQwen36;
  // The chat template to render with (serve --chat-template file or PATH); null: the built-in
  // Qwen3.6 renderer.
  std::shared_ptr<const chat::jinja::Template> chat_template;
  std::vector<std::string> test_script;  // tests only: scripted outputs, see GenerationOptions
};

// Request latency histograms and counters for /metrics.
struct Metrics {
  std::mutex mu;
  uint64_t requests_total = 0, requests_failed = 0, prompt_tokens = 0, completion_tokens = 0;
  // Refusals (400, 401, 404, 413, 415, 429, 500, ...) by route and HTTP status; a path that is not
  // a route is "other", so clients cannot grow the table.
  std::map<std::pair<std::string, int>, uint64_t> rejected;
  std::vector<double> ttft_bounds = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  std::vector<uint64_t> ttft_counts = std::vector<uint64_t>(10, 0);
  double ttft_sum = 0;
  std::vector<double> itl_bounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
  std::vector<uint64_t> itl_counts = std::vector<uint64_t>(9, 0);
  double itl_sum = 0;
  uint64_t itl_n = 0;
  void observe(double ttft, double gen_seconds, int64_t tokens);
};

// Server-side preserve_thinking: most clients drop reasoning_content when they send the history
// back. The server remembers each assistant turn's reasoning, keyed by a hash of its content and
// tool calls, and puts it back so the model sees its own reasoning (as Qwen3.6 is trained to).
class ReasoningStore {
 public:
  explicit ReasoningStore(size_t capacity = 20000) : capacity_(capacity) {}
  static uint64_t key(const std::string& content, const chat::Json& tool_calls);  // OpenAI-shaped calls
  void put(uint64_t key, std::string reasoning);
  bool get(uint64_t key, std::string* reasoning) const;

 private:
  size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, std::string> map_;
  std::deque<uint64_t> order_;
};

// What the routes share. Fixed at start: the model, the tokenizer and its trie, the options and
// the end-of-generation ids (const). Shared and changing, each safe across HTTP threads on its
// own: the engine, the metrics (their mutex), the reasoning store (its mutex) and the sequence
// counter (atomic).
struct Service {
  const model::Model& model;
  const text::Tokenizer& tok;
  engine::Engine& engine;
  const ServiceOptions opt;
  const chat::TokenTrie trie;
  Metrics metrics;
  const std::vector<int32_t> eog_ids;
  std::atomic<uint64_t> seq{0};
  ReasoningStore reasoning;

  Service(const model::Model& m, const text::Tokenizer& t, engine::Engine& e, ServiceOptions o);
  bool model_name_ok(const std::string& name) const;
  // The next scripted output for a request with tools, if any is left (tests only: agents make
  // other requests, titles and summaries, without tools).
  std::optional<std::string> next_scripted_output(bool has_tools);

 private:
  std::mutex script_mu_;
  size_t script_next_ = 0;
};

}  // namespace onprem::api
