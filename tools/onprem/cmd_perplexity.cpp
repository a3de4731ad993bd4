#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/thread_pool.h"
#include "commands.h"
#include "load.h"
#include "model/evaluate.h"
#include "model/weights.h"
#include "text/tokenizer.h"

namespace onprem::tools {

namespace {

struct PerplexityOptions {
  std::string model, file, kl_base;
  int64_t ctx = 512, chunks = 0;
  int threads = 0;
  bool json = false, assistant_only = false;
};

// Flags the tokens of assistant turns: after "<|im_start|>assistant\n", through "<|im_end|>".
std::vector<uint8_t> assistant_mask(const text::Tokenizer& tok, const std::vector<int32_t>& ids) {
  const std::vector<int32_t> start = tok.encode("<|im_start|>", true), end = tok.encode("<|im_end|>", true),
                             role = tok.encode("assistant\n", false);
  std::vector<uint8_t> m(ids.size(), 0);
  if (start.size() != 1 || end.size() != 1) return m;
  bool inside = false;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == start[0]) {
      inside =
          i + role.size() < ids.size() && std::equal(role.begin(), role.end(), ids.begin() + std::ptrdiff_t(i + 1));
      if (inside) i += role.size();
      continue;
    }
    if (inside) {
      m[i] = 1;
      if (ids[i] == end[0]) inside = false;
    }
  }
  return m;
}

int perplexity(const PerplexityOptions& o) {
  auto text = read_text_file(o.file);
  if (!text) return fail(text.error().to_string());
  auto loaded = load_model_and_tokenizer(o.model);
  if (!loaded) return fail(loaded.error().to_string());
  const model::Model* m = &loaded->model;
  const text::Tokenizer* tok = &loaded->tokenizer;
  const std::vector<int32_t> ids = tok->encode(*text, o.assistant_only);
  std::optional<model::Model> base;
  if (!o.kl_base.empty()) {
    auto b = model::load_model(o.kl_base);
    if (!b) return fail(b.error().to_string());
    base = std::move(*b);
  }
  const int threads = core::threads_or_all(o.threads);
  core::ThreadPool pool(threads);
  model::ForwardContext ctx;
  ctx.pool = &pool;
  model::EvalOptions eo;
  eo.ctx = o.ctx, eo.max_chunks = o.chunks;
  if (o.assistant_only) {
    eo.score = assistant_mask(*tok, ids);
    if (std::find(eo.score.begin(), eo.score.end(), 1) == eo.score.end())
      return fail(o.file + ": no assistant turns (<|im_start|>assistant ... <|im_end|>) in the text");
  }
  auto s = model::evaluate(*m, base ? &*base : nullptr, ids, eo, ctx);
  if (!s) return fail(s.error().to_string());
  if (o.json) {
    nlohmann::json j = {{"model", o.model},    {"text", o.file},      {"tokens", ids.size()},
                        {"ctx", o.ctx},        {"chunks", s->chunks}, {"assistant_only", o.assistant_only},
                        {"scored", s->scored}, {"ppl", s->ppl()},     {"ppl_stderr", s->ppl_stderr()}};
    if (s->has_base)
      j.update({{"kl_base", o.kl_base},
                {"base_ppl", s->base_ppl()},
                {"kl_mean", s->mean_kl()},
                {"kl_p99", s->kl_percentile(0.99)},
                {"kl_max", s->kl_max},
                {"top1_agreement", double(s->top1_agree) / double(s->scored)}});
    std::printf("%s\n", j.dump(1).c_str());
    return 0;
  }
  std::printf("%s on %s: %zu tokens, %lld chunks of %lld, %lld scored\n", o.model.c_str(), o.file.c_str(), ids.size(),
              (long long)s->chunks, (long long)o.ctx, (long long)s->scored);
  std::printf("perplexity %.4f +/- %.4f\n", s->ppl(), s->ppl_stderr());
  if (s->has_base)
    std::printf("base perplexity %.4f; KL(base||model) mean %.6f, p99 %.6f, max %.6f nats; top-1 agreement %.2f %%\n",
                s->base_ppl(), s->mean_kl(), s->kl_percentile(0.99), s->kl_max,
                100.0 * double(s->top1_agree) / double(s->scored));
  return 0;
}

}  // namespace

Run add_perplexity(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("perplexity", "Perplexity of a text, and KL divergence against a full-precision model");
  auto o = std::make_shared<PerplexityOptions>();
  add_model_option(cmd, o->model);
  cmd->add_option("-f,--file", o->file, "UTF-8 text")->required();
  cmd->add_option("--kl-base", o->kl_base, "The full-precision model (same vocabulary) to compare against");
  cmd->add_option("-c,--ctx", o->ctx, "Tokens per chunk; the second half of each is scored")
      ->check(CLI::Range(int64_t(4), int64_t(1) << 20))
      ->capture_default_str();
  cmd->add_option("--chunks", o->chunks, "At most this many chunks (0: all)")->capture_default_str();
  add_threads_option(cmd, o->threads);
  cmd->add_flag("--assistant-only", o->assistant_only,
                "The text is rendered chat: parse special tokens and score only the assistant's replies");
  cmd->add_flag("--json", o->json, "Print one JSON object");
  return [o]() { return perplexity(*o); };
}

}  // namespace onprem::tools
