#include <cstdio>

#include <fstream>
#include <sstream>

#include "load.h"
#include "chat/json_schema.h"
#include "chat/token_mask.h"
#include "commands.h"
#include "core/thread_pool.h"
#include "engine/engine.h"
#include "sample/sampler.h"
#include "text/tokenizer.h"

namespace onprem::tools {

namespace {

struct RunOptions {
  std::string model, prompt, json_schema, preset;
  DeviceOptions device;
  int n_predict = 64, threads = 0;
  int64_t ctx = 4096, ubatch = 512;
  bool output_only = false, no_loop_guard = false;
  sample::SamplingParams sampling;
  sample::SamplingOverrides overrides;
};

int run_generation(const RunOptions& o) {
  auto m = model::load_model(o.model);
  if (!m) return fail(m.error().to_string());
  auto vocab = text::load_vocab(*m->file);
  if (!vocab) return fail(o.model + ": " + vocab.error().to_string());
  auto tok = text::Tokenizer::create(std::move(*vocab));
  if (!tok) return fail(tok.error().to_string());
  const auto prompt = tok->encode(o.prompt, true);
  if (prompt.empty()) return fail("the prompt is empty");
  if (int64_t(prompt.size()) >= o.ctx)
    return fail("the prompt has " + std::to_string(prompt.size()) + " tokens, more than --ctx " +
                std::to_string(o.ctx));
  const int threads = core::threads_or_all(o.threads);
  // Sampling: a named preset, then what the command line set explicitly.
  sample::SamplingParams params = o.sampling;
  if (!o.preset.empty()) {
    const bool moe = m->config.is_moe();
    auto p = sample::preset(o.preset, moe ? "qwen3.6-35b-a3b" : "qwen3.6-27b");
    if (!p) return fail(p.error().to_string());
    params = *p;
  }
  params = sample::apply_overrides(params, o.overrides);
  // Constrained output: a JSON Schema compiled to a grammar, masks over the vocabulary trie.
  std::unique_ptr<chat::Grammar> grammar;
  std::unique_ptr<chat::TokenTrie> trie;
  std::unique_ptr<chat::ConstrainedDecoder> constrained;
  if (!o.json_schema.empty()) {
    std::ifstream in(o.json_schema);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in) return fail("cannot read '" + o.json_schema + "'");
    chat::Json schema;
    try {
      schema = chat::Json::parse(ss.str());
    } catch (const chat::Json::exception& e) {
      return fail(o.json_schema + " is not JSON: " + e.what());
    }
    auto g = chat::grammar_from_schema(schema);
    if (!g) return fail(o.json_schema + ": " + g.error().to_string());
    grammar = std::make_unique<chat::Grammar>(std::move(*g));
    trie = std::make_unique<chat::TokenTrie>(*tok);
    constrained = std::make_unique<chat::ConstrainedDecoder>(*grammar, *trie, *tok);
    if (!constrained->ok()) return fail("the schema's grammar matches nothing");
  }
  // The server's engine with one slot: one generation loop for both (order of grammar, sampling,
  // end of generation, loop guard, YaRN past the native context).
  engine::EngineOptions eo;
  eo.parallel = 1, eo.max_queue = 1, eo.prefix_cache = false;
  eo.ctx_size = std::min<int64_t>(o.ctx, int64_t(prompt.size()) + std::max(o.n_predict, 1));
  eo.ubatch = o.ubatch;
  eo.threads = threads;
  if (auto placed = place_engine(*m, o.device, eo, false); !placed) return fail(placed.error().to_string());
  engine::Engine eng(*m, eo);
  if (!eng.status()) return fail(eng.status().error().to_string());
  engine::Request r;
  r.prompt = prompt;
  r.sampling = params;
  r.max_tokens = o.n_predict;
  r.loop_guard = !o.no_loop_guard;
  r.stop_ids = tok->vocab().eog_ids;
  r.stream = std::make_shared<engine::TokenStream>();
  if (constrained) {
    chat::ConstrainedDecoder* c = constrained.get();  // the engine's hooks use it until the finish
    r.mask = [c](float* logits, int64_t) { c->mask_logits(logits); };
    r.accepted = [c](int32_t id) { c->accept(id); };
  }
  const auto stream = r.stream;
  if (!o.output_only) std::fputs(o.prompt.c_str(), stdout);
  std::fflush(stdout);
  if (auto id = eng.submit(std::move(r)); !id) return fail(id.error().to_string());
  text::StreamDecoder dec(*tok, false);
  engine::Finish finish;
  for (bool done = false; !done;) {
    engine::TokenStream::Batch b = stream->take(-1);
    for (const auto& t : b.tokens) std::fputs(dec.push(t.id).c_str(), stdout);
    std::fflush(stdout);
    if (b.finish) finish = *b.finish, done = true;
  }
  std::fputs(dec.flush().c_str(), stdout);
  if (finish.reason == engine::FinishReason::kError) return fail(finish.error);
  const double t_prompt = finish.prompt_seconds, t_gen = finish.generation_seconds;
  std::fprintf(stderr,
               "\n\nprompt: %zu tokens in %.3f s (%.1f tokens/s)\ngeneration: %lld tokens in %.3f s (%.1f tokens/s), "
               "%d threads, finish: %s\n",
               prompt.size(), t_prompt, t_prompt > 0 ? double(prompt.size()) / t_prompt : 0.0,
               (long long)finish.completion_tokens, t_gen, t_gen > 0 ? double(finish.completion_tokens) / t_gen : 0.0,
               threads, engine::finish_reason_name(finish.reason));
  if (constrained && !constrained->complete())
    return fail("the output budget (-n) ended before the constrained value was complete");
  return 0;
}

}  // namespace

Run add_run(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("run", "Generate text from a prompt, streaming it to the terminal, then print the speed");
  auto o = std::make_shared<RunOptions>();
  add_model_option(cmd, o->model);
  cmd->add_option("-p,--prompt", o->prompt, "Prompt text (special tokens such as <|im_start|> are recognised)")
      ->required();
  cmd->add_option("-n,--n-predict", o->n_predict, "Tokens to generate")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--preset", o->preset, "Sampling preset: thinking-general, thinking-coding, instruct (chat.md §5)");
  cmd->add_option("--temp", o->overrides.temperature, "Temperature (0: greedy); default 0.8")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--top-k", o->overrides.top_k, "Keep the k most likely tokens (0: all); default 40");
  cmd->add_option("--top-p", o->overrides.top_p, "Nucleus sampling threshold; default 0.95")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--min-p", o->overrides.min_p, "Drop tokens below min-p x the top probability")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--presence-penalty", o->overrides.presence_penalty,
                  "Subtracted once from every generated token's logit");
  cmd->add_option("--frequency-penalty", o->overrides.frequency_penalty, "Subtracted per occurrence");
  cmd->add_option("--repeat-penalty", o->overrides.repetition_penalty,
                  "Divides positive / multiplies negative logits of generated tokens");
  cmd->add_option("--seed", o->overrides.seed, "Random seed (default 0)");
  cmd->add_option("--json-schema", o->json_schema, "Constrain the output to JSON valid under this JSON Schema file");
  cmd->add_flag("--output-only", o->output_only, "Print only the generated text (not the prompt)");
  cmd->add_flag("--no-loop-guard", o->no_loop_guard, "Do not stop when the output repeats itself");
  cmd->add_option("-c,--ctx", o->ctx, "Context length")->check(CLI::PositiveNumber)->capture_default_str();
  add_threads_option(cmd, o->threads);
  add_device_options(cmd, o->device);
  return [o]() { return run_generation(*o); };
}

}  // namespace onprem::tools
