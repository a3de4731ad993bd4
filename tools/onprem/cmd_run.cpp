#include <chrono>
#include <cstdio>
#include <thread>

#include "commands.h"
#include "model/forward.h"
#include "sample/sampler.h"
#include "text/tokenizer.h"

namespace onprem::tools {

namespace {

struct RunOptions {
  std::string model, prompt;
  int n_predict = 64, threads = 0;
  int64_t ctx = 4096, ubatch = 512;
  sample::SamplingParams sampling;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_generation(const RunOptions& o) {
  auto m = model::load_model(o.model);
  if (!m) return fail(m.error().to_string());
  auto vocab = text::load_vocab(*m->file);
  if (!vocab) return fail(o.model + ": " + vocab.error().to_string());
  auto tok = text::Tokenizer::create(std::move(*vocab));
  if (!tok) return fail(tok.error().to_string());
  const auto prompt = tok->encode(o.prompt, true);
  if (prompt.empty()) return fail("the prompt is empty");
  const int64_t n_ctx = std::min<int64_t>(o.ctx, int64_t(prompt.size()) + o.n_predict);
  if (int64_t(prompt.size()) >= o.ctx)
    return fail("the prompt has " + std::to_string(prompt.size()) + " tokens, more than --ctx " + std::to_string(o.ctx));
  const int threads = o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  core::ThreadPool pool(threads);
  auto state = model::make_state(m->config, n_ctx);
  auto ws = model::make_workspace(m->config, std::min<int64_t>(o.ubatch, int64_t(prompt.size())), threads, n_ctx);
  model::ForwardContext ctx;
  ctx.pool = &pool;
  const int64_t V = m->config.n_vocab;
  std::vector<float> logits(static_cast<size_t>(V));
  std::fputs(o.prompt.c_str(), stdout);
  std::fflush(stdout);
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < prompt.size(); i += size_t(ws.max_tokens)) {
    const int64_t n = std::min<int64_t>(ws.max_tokens, int64_t(prompt.size() - i));
    auto st = model::forward(*m, state, ws, prompt.data() + i, n, logits.data(), false, ctx);
    if (!st) return fail(st.error().to_string());
  }
  const double t_prompt = seconds_since(t0);
  sample::Rng rng(o.sampling.seed);
  std::vector<std::pair<float, int32_t>> scratch;
  text::StreamDecoder dec(*tok, false);
  int generated = 0;
  const auto t1 = std::chrono::steady_clock::now();
  while (generated < o.n_predict && state.n_past < n_ctx) {
    const int32_t id = sample::sample_token(logits.data(), V, o.sampling, rng, scratch);
    ++generated;
    if (tok->vocab().is_eog(id)) break;
    std::fputs(dec.push(id).c_str(), stdout);
    std::fflush(stdout);
    if (generated == o.n_predict || state.n_past >= n_ctx) break;
    auto st = model::forward(*m, state, ws, &id, 1, logits.data(), false, ctx);
    if (!st) return fail(st.error().to_string());
  }
  std::fputs(dec.flush().c_str(), stdout);
  const double t_gen = seconds_since(t1);
  std::fprintf(stderr, "\n\nprompt: %zu tokens in %.3f s (%.1f tokens/s)\ngeneration: %d tokens in %.3f s (%.1f tokens/s), %d threads\n",
               prompt.size(), t_prompt, double(prompt.size()) / t_prompt, generated, t_gen,
               generated ? double(generated) / t_gen : 0.0, threads);
  return 0;
}

}  // namespace

Run add_run(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Generate text from a prompt, streaming it to the terminal, then print the speed");
  auto o = std::make_shared<RunOptions>();
  cmd->add_option("-m,--model", o->model, "GGUF model")->required();
  cmd->add_option("-p,--prompt", o->prompt, "Prompt text (special tokens such as <|im_start|> are recognised)")->required();
  cmd->add_option("-n,--n-predict", o->n_predict, "Tokens to generate")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--temp", o->sampling.temperature, "Temperature (0: greedy)")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--top-k", o->sampling.top_k, "Keep the k most likely tokens (0: all)")->capture_default_str();
  cmd->add_option("--top-p", o->sampling.top_p, "Nucleus sampling threshold")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  cmd->add_option("--seed", o->sampling.seed, "Random seed")->capture_default_str();
  cmd->add_option("-c,--ctx", o->ctx, "Context length")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "Threads (default: all cores)");
  return [o]() { return run_generation(*o); };
}

}  // namespace onprem::tools
