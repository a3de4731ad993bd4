
#include "core/thread_pool.h"
#include "commands.h"
#include "gguf/file.h"
#include "model/generate.h"
#include "text/vocab_data.h"

namespace onprem::tools {

namespace {

struct GenArgs {
  std::string preset = "tiny", type = "F32", output, vocab_from, name;
  uint64_t seed = 1;
  int threads = 0;
  // 0 = keep the preset's value
  uint32_t layers = 0, embd = 0, ff = 0, heads = 0, heads_kv = 0, head_dim = 0, rope_dim = 0;
  uint32_t experts = 0, experts_used = 0, expert_ff = 0, shared_ff = 0;
  uint32_t ssm_state = 0, ssm_groups = 0, ssm_v_heads = 0, vocab_size = 0, ctx = 0, interval = 0;
};

void override_config(const GenArgs& a, model::ModelConfig& c) {
  auto set = [](uint32_t v, uint32_t& field) {
    if (v) field = v;
  };
  set(a.layers, c.n_layer);
  set(a.embd, c.n_embd);
  set(a.ff, c.n_ff);
  set(a.heads, c.n_head);
  set(a.heads_kv, c.n_head_kv);
  set(a.head_dim, c.head_dim);
  set(a.rope_dim, c.n_rot);
  set(a.experts, c.n_expert);
  set(a.experts_used, c.n_expert_used);
  set(a.expert_ff, c.n_ff_exp);
  set(a.shared_ff, c.n_ff_shexp);
  set(a.ssm_state, c.ssm_d_state);
  set(a.ssm_groups, c.ssm_n_group);
  set(a.ssm_v_heads, c.ssm_dt_rank);
  set(a.vocab_size, c.n_vocab);
  set(a.ctx, c.n_ctx_train);
  set(a.interval, c.full_attention_interval);
  c.ssm_d_inner = c.ssm_dt_rank * c.ssm_d_state;
  model::assign_layer_kinds(&c);
}

}  // namespace

Run add_gen_model(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("gen-model", "Write a deterministic random-weight qwen35 / qwen35moe GGUF of any shape");
  auto a = std::make_shared<GenArgs>();
  cmd->add_option("-o,--out", a->output, "GGUF file to write")->required();
  cmd->add_option("--preset", a->preset, "Shape: tiny, tiny-moe, 27b, 35b-a3b (real Qwen3.6 layer shapes)")
      ->capture_default_str();
  cmd->add_option("--type", a->type,
                  "Weights: any llama.cpp preset (F32, F16, BF16, Q8_0, Q6_K, Q4_K_M, Q2_K, IQ4_XS, IQ2_XXS, "
                  "MXFP4_MOE, ...), or Q4_K")
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "Random seed")->capture_default_str();
  cmd->add_option("--name", a->name, "general.name (default: the preset)");
  cmd->add_option("--vocab-from", a->vocab_from, "Copy the tokenizer of this GGUF (sets the vocabulary size)");
  add_threads_option(cmd, a->threads);
  cmd->add_option("--layers", a->layers, "block_count");
  cmd->add_option("--embd", a->embd, "embedding_length");
  cmd->add_option("--ff", a->ff, "dense feed_forward_length");
  cmd->add_option("--heads", a->heads, "attention query heads");
  cmd->add_option("--heads-kv", a->heads_kv, "attention KV heads");
  cmd->add_option("--head-dim", a->head_dim, "attention head size");
  cmd->add_option("--rope-dim", a->rope_dim, "rotary dimensions per head");
  cmd->add_option("--experts", a->experts, "MoE experts");
  cmd->add_option("--experts-used", a->experts_used, "MoE experts per token");
  cmd->add_option("--expert-ff", a->expert_ff, "MoE expert FFN size");
  cmd->add_option("--shared-ff", a->shared_ff, "shared expert FFN size (0 keeps the preset)");
  cmd->add_option("--ssm-state", a->ssm_state, "DeltaNet head size (state_size)");
  cmd->add_option("--ssm-groups", a->ssm_groups, "DeltaNet q/k heads (group_count)");
  cmd->add_option("--ssm-v-heads", a->ssm_v_heads, "DeltaNet v heads (time_step_rank)");
  cmd->add_option("--vocab-size", a->vocab_size, "vocabulary size of the synthetic tokenizer");
  cmd->add_option("--ctx", a->ctx, "context_length");
  cmd->add_option("--attention-interval", a->interval, "every N-th layer is full attention");
  return [a]() -> int {
    auto cfg = model::preset_config(a->preset);
    if (!cfg) return fail(cfg.error().to_string());
    auto ft = model::file_type_from_name(a->type);
    if (!ft) return fail(ft.error().to_string());
    text::VocabData vocab;
    if (!a->vocab_from.empty()) {
      auto f = gguf::File::open(a->vocab_from);
      if (!f) return fail(f.error().to_string());
      auto v = text::vocab_data_from_gguf(*f);
      if (!v) return fail(a->vocab_from + ": " + v.error().to_string());
      vocab = std::move(*v);
      a->vocab_size = uint32_t(vocab.tokens.size());
    }
    override_config(*a, *cfg);
    if (a->vocab_from.empty()) {
      auto v = text::synthetic_vocab(cfg->n_vocab);
      if (!v) return fail(v.error().to_string());
      vocab = std::move(*v);
    }
    model::GenOptions opt{*cfg, *ft, a->seed, a->name.empty() ? "onprem-" + a->preset : a->name};
    core::ThreadPool pool(core::threads_or_all(a->threads));
    auto st = model::generate_model(
        opt, [&](gguf::Writer& w) { text::write_vocab_keys(vocab, w); }, a->output, pool);
    if (!st) return fail(st.error().to_string());
    std::printf("wrote %s (%s, %s, %u layers, n_embd %u, vocab %u)\n", a->output.c_str(), model::arch_name(cfg->arch),
                model::file_type_name(*ft), cfg->n_layer, cfg->n_embd, cfg->n_vocab);
    return 0;
  };
}

}  // namespace onprem::tools
