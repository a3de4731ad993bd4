#include "api/service.h"

#include "core/json_bounds.h"

#include <algorithm>

namespace onprem::api {

void Metrics::observe(double ttft, double gen_seconds, int64_t tokens) {
  std::lock_guard<std::mutex> lock(mu);
  size_t b = 0;
  while (b < ttft_bounds.size() && ttft > ttft_bounds[b]) ++b;
  ttft_counts[b]++;
  ttft_sum += ttft;
  if (tokens > 1) {
    const double itl = gen_seconds / double(tokens - 1);
    size_t i = 0;
    while (i < itl_bounds.size() && itl > itl_bounds[i]) ++i;
    itl_counts[i]++;
    itl_sum += itl;
    itl_n++;
  }
}

Service::Service(const model::Model& m, const text::Tokenizer& t, engine::Engine& e, ServiceOptions o)
    : model(m), tok(t), engine(e), opt(std::move(o)), trie(t), eog_ids(t.vocab().eog_ids) {}

uint64_t ReasoningStore::key(const std::string& content, const chat::Json& tool_calls) {
  // FNV-1a over the trimmed content and each call's name and re-serialised arguments, so the
  // key survives clients that re-format the arguments JSON.
  std::string canon = chat::py_strip(content);
  if (tool_calls.is_array())
    for (const auto& c : tool_calls) {
      const chat::Json& f = c.is_object() && c.contains("function") ? c["function"] : c;
      canon += '\x1f';
      if (f.contains("name") && f["name"].is_string()) canon += f["name"].get<std::string>();
      chat::Json args = f.contains("arguments") ? f["arguments"] : chat::Json::object();
      if (args.is_string() && !core::json_bounds_error(args.get<std::string>())) {
        try {
          args = chat::Json::parse(args.get<std::string>());
        } catch (const chat::Json::exception&) {
        }
      }
      canon += '\x1e';
      canon += chat::py_json_dumps(args);
    }
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : canon) h = (h ^ ch) * 0x100000001b3ull;
  return h;
}

void ReasoningStore::put(uint64_t key, std::string reasoning) {
  std::lock_guard<std::mutex> lock(mu_);
  if (map_.emplace(key, std::move(reasoning)).second) order_.push_back(key);
  while (order_.size() > capacity_) map_.erase(order_.front()), order_.pop_front();
}

bool ReasoningStore::get(uint64_t key, std::string* reasoning) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) return false;
  *reasoning = it->second;
  return true;
}

bool Service::model_name_ok(const std::string& name) const {
  return opt.any_model || name.empty() || name == opt.model_id ||
         std::find(opt.aliases.begin(), opt.aliases.end(), name) != opt.aliases.end();
}

std::optional<std::string> Service::next_scripted_output(bool has_tools) {
  std::lock_guard<std::mutex> lock(script_mu_);
  if (!has_tools || script_next_ >= opt.test_script.size()) return std::nullopt;
  return opt.test_script[script_next_++];
}

}  // namespace onprem::api
