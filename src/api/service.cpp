#include "api/service.h"

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

bool Service::model_name_ok(const std::string& name) const {
  return name.empty() || name == opt.model_id || std::find(opt.aliases.begin(), opt.aliases.end(), name) != opt.aliases.end();
}

}  // namespace onprem::api
