#include <cinttypes>
#include <map>

#include "chat/template_file.h"
#include "commands.h"
#include "core/system_memory.h"
#include "core/thread_pool.h"
#include "kernels/bandwidth.h"
#include "kernels/cpu.h"
#include "gguf/file.h"
#include "model/config.h"
#include "model/memory.h"
#include "model/tensor_table.h"
#include "text/vocab.h"
#ifdef ONPREM_HAS_VULKAN
#include "backend/vulkan/device.h"
#endif

namespace onprem::tools {

namespace {

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.2f %s" : "%.0f %s", b, units[u]);
  return buf;
}

void print_config(const model::ModelConfig& c) {
  std::printf("architecture      %s\n", model::arch_name(c.arch));
  std::printf("layers            %u (%u Gated DeltaNet, %u full attention%s)\n", c.n_layer, c.n_recurrent_layers(),
              c.n_attention_layers(), c.n_nextn ? ", + MTP" : "");
  std::printf("layer kinds       ");
  for (bool r : c.recurrent) std::printf("%c", r ? 'D' : 'A');
  std::printf("   (D = DeltaNet, A = attention)\n");
  std::printf("n_embd            %u\nn_vocab           %u\ncontext (train)   %u\n", c.n_embd, c.n_vocab, c.n_ctx_train);
  std::printf("attention         %u q heads / %u kv heads of %u, rope %u dims (sections %d,%d,%d,%d), theta %g\n",
              c.n_head, c.n_head_kv, c.head_dim, c.n_rot, c.rope_sections[0], c.rope_sections[1], c.rope_sections[2],
              c.rope_sections[3], double(c.rope_theta));
  std::printf("DeltaNet          %u k heads / %u v heads of %u, conv kernel %u\n", c.ssm_n_group, c.ssm_dt_rank,
              c.ssm_d_state, c.ssm_conv_kernel);
  if (c.is_moe())
    std::printf("FFN               MoE: %u experts, %u used, expert FFN %u, shared expert FFN %u\n", c.n_expert,
                c.n_expert_used, c.n_ff_exp, c.n_ff_shexp);
  else
    std::printf("FFN               dense SwiGLU, %u\n", c.n_ff);
  std::printf("rms eps           %g\n", double(c.rms_eps));
}

void print_tensors(const gguf::File& f, bool all) {
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_type;  // name -> (count, bytes)
  uint64_t total = 0;
  if (all) std::printf("\n%-40s %-6s %-22s %12s\n", "tensor", "type", "shape", "bytes");
  for (const auto& t : f.tensors()) {
    const std::string type = core::ggml_type_name(t.type);
    if (all)
      std::printf("%-40.*s %-6s %-22s %12" PRIu64 "\n", int(t.name.size()), t.name.data(), type.c_str(),
                  t.shape_string().c_str(), t.n_bytes);
    by_type[type].first++;
    by_type[type].second += t.n_bytes;
    total += t.n_bytes;
  }
  std::map<std::string, uint64_t> values;  // elements per type, for bits per weight
  uint64_t all_values = 0;
  for (const auto& t : f.tensors())
    values[core::ggml_type_name(t.type)] += t.n_elements(), all_values += t.n_elements();
  auto bpw = [](uint64_t bytes, uint64_t n) { return n ? 8.0 * double(bytes) / double(n) : 0.0; };
  std::printf("\ntotals by type                          bits/weight\n");
  for (const auto& [type, v] : by_type)
    std::printf("  %-8s %5" PRIu64 " tensors %12s   %6.3f\n", type.c_str(), v.first,
                human_bytes(double(v.second)).c_str(), bpw(v.second, values[type]));
  std::printf("  all      %5zu tensors %12s   %6.3f\n", f.tensors().size(), human_bytes(double(total)).c_str(),
              bpw(total, all_values));
}

void print_tokenizer(const gguf::File& f) {
  std::printf("\ntokenizer\n");
  auto v = text::load_vocab(f);
  if (!v) {
    std::printf("  (none usable: %s)\n", v.error().to_string().c_str());
    return;
  }
  size_t counts[7] = {};
  for (auto t : v->types) counts[int(t)]++;
  std::printf("  model gpt2 (byte-level BPE), pre-tokenizer %s, %zu tokens, %zu merges\n", v->pre_name.c_str(),
              v->size(), v->n_merges);
  std::printf("  types: %zu normal, %zu control, %zu user-defined, %zu unused, %zu byte\n", counts[1], counts[3],
              counts[4], counts[5], counts[6]);
  auto name = [&](int32_t id) {
    return id >= 0 ? std::to_string(id) + " " + v->tokens[size_t(id)] : std::string("none");
  };
  std::printf("  eos %s, bos %s, pad %s, add_bos %s\n", name(v->eos_id).c_str(), name(v->bos_id).c_str(),
              name(v->pad_id).c_str(), v->add_bos ? "yes" : "no");
  std::string eog;
  for (auto id : v->eog_ids) eog += " " + name(id);
  std::printf("  end of generation:%s\n", eog.c_str());
  auto tmpl = f.get_string("tokenizer.chat_template");
  std::printf("  chat template: %s\n", tmpl ? chat::check_template(*tmpl).describe().c_str()
                                            : "none (serve renders the built-in Qwen3.6 format)");
}

void print_memory(const gguf::File& f, const model::ModelConfig& c, uint64_t ctx) {
  uint64_t weights = 0;
  for (const auto& t : f.tensors()) weights += t.n_bytes;
  const auto f16 = model::state_sizes(c, 2, 1), f32 = model::state_sizes(c, 4, 1), q8 = model::state_sizes(c, 34, 32);
  std::printf("\nmemory (model.md §11)\n");
  std::printf("  weights                          %14s\n", human_bytes(double(weights)).c_str());
  std::printf("  KV cache per token  F16 / F32 / Q8_0   %" PRIu64 " / %" PRIu64 " / %" PRIu64 " B\n",
              f16.kv_bytes_per_token, f32.kv_bytes_per_token, q8.kv_bytes_per_token);
  std::printf("  conv state per sequence          %14s (%" PRIu64 " B)\n",
              human_bytes(double(f16.conv_state_bytes)).c_str(), f16.conv_state_bytes);
  std::printf("  recurrent state per sequence     %14s (%" PRIu64 " B)\n",
              human_bytes(double(f16.recurrent_state_bytes)).c_str(), f16.recurrent_state_bytes);
  std::printf("  at %" PRIu64 " tokens, F16 KV: KV %s + state %s = %s per sequence; with weights %s\n", ctx,
              human_bytes(double(f16.kv_bytes_per_token * ctx)).c_str(),
              human_bytes(double(f16.fixed_state_bytes())).c_str(),
              human_bytes(double(f16.per_sequence_bytes(ctx))).c_str(),
              human_bytes(double(weights + f16.per_sequence_bytes(ctx))).c_str());
}

// The Vulkan devices, numbered as --device vulkan:N will take them.
void print_gpus() {
#ifdef ONPREM_HAS_VULKAN
  const auto list = vulkan::list_devices();
  if (list.devices.empty()) std::printf("vulkan devices    none (%s)\n", list.error.c_str());
  // Portability drivers (MoltenVK) are listed only when the loader can enumerate them.
  std::printf("vulkan loader     portability enumeration %s\n", list.portability_enumeration ? "on" : "not offered");
  for (const auto& d : list.devices)
    std::printf("vulkan:%u          %s (%s, Vulkan %u.%u, %s device-local%s%s)\n", d.index, d.name.c_str(),
                d.type.c_str(), d.api_major, d.api_minor, human_bytes(double(d.device_local_bytes)).c_str(),
                d.has_compute_queue ? "" : ", no compute queue", d.portability ? ", portability subset" : "");
#else
  std::printf("vulkan devices    not built (this build has no Vulkan backend: cmake -DONPREM_VULKAN=ON)\n");
#endif
}

// The machine as the engine sees it: what to check first when a model runs slower than expected
// or an ISA is refused.
int print_system(bool bandwidth) {
  const auto& cpu = kernels::cpu_info();
  std::printf("cpu               %s (%s), %u hardware threads\n", cpu.model.c_str(), cpu.arch.c_str(),
              core::threads_or_all(0));
  std::printf("features         ");
  for (const auto& f : cpu.features) std::printf(" %s", f.c_str());
  std::printf("\nkernel paths     ");
  for (kernels::Isa isa : kernels::built_isas())
    std::printf(" %s (%s)", kernels::isa_name(isa), kernels::cpu_supports(isa) ? "runs" : "not on this CPU");
  const auto chosen = kernels::chosen_isa();
  if (!chosen) return fail(chosen.error().message);
  const char* env = std::getenv("ONPREM_ISA");
  std::printf("\nchosen path       %s (%s)\n", kernels::isa_name(*chosen),
              env && *env ? "forced by ONPREM_ISA" : "the widest this CPU runs; ONPREM_ISA=NAME forces another");
  const auto mem = core::system_memory();
  std::printf("memory            %s total, %s available", human_bytes(double(mem.total_bytes)).c_str(),
              human_bytes(double(mem.available_bytes)).c_str());
  if (mem.cgroup_limit_bytes) std::printf(", cgroup limit %s", human_bytes(double(mem.cgroup_limit_bytes)).c_str());
  std::printf("\n");
  print_gpus();
  if (!bandwidth) return 0;
  // Decode reads every weight once per token, so this bounds decode speed (docs/performance.md).
  const int all = int(core::threads_or_all(0));
  for (int threads : {1, all}) {
    if (threads == 1 && all == 1) continue;
    core::ThreadPool pool(threads);
    const auto bw = kernels::measure_read_bandwidth(pool, int64_t(256) << 20, 3);
    std::printf("read bandwidth    %.1f GB/s with %d thread%s (256 MiB, best of 3, %s kernel)\n",
                bw.bytes_per_second / 1e9, threads, threads == 1 ? "" : "s", kernels::isa_name(*chosen));
  }
  return 0;
}

}  // namespace

Run add_inspect(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("inspect", "Show a GGUF file: architecture, hyper-parameters, tensors, tokenizer, memory");
  struct Options {
    std::string path;
    uint64_t ctx = 0;
    bool tensors = true, metadata = false, system = false, bandwidth = true;
  };
  auto opt = std::make_shared<Options>();
  cmd->add_option("FILE", opt->path, "GGUF file");
  cmd->add_flag("--system", opt->system,
                "Show this machine instead: CPU, features, kernel paths, memory, read bandwidth");
  cmd->add_flag("!--no-bandwidth", opt->bandwidth, "With --system: skip the bandwidth measurement");
  cmd->add_option("--ctx", opt->ctx, "Context length for the memory estimate (default: the training context)");
  cmd->add_flag("!--no-tensors", opt->tensors, "Only totals, not every tensor");
  cmd->add_flag("--metadata", opt->metadata, "Print every metadata key");
  return [opt]() -> int {
    if (opt->system) return print_system(opt->bandwidth);
    if (opt->path.empty()) return fail("inspect needs a GGUF FILE, or --system");
    auto f = gguf::File::open(opt->path);
    if (!f) return fail(f.error().to_string());
    std::printf(
        "file              %s\nGGUF              v%u, %zu metadata keys, %zu tensors, alignment %u, data at byte "
        "%" PRIu64 "\n",
        opt->path.c_str(), f->version(), f->metadata().size(), f->tensors().size(), f->alignment(), f->data_offset());
    for (size_t i = 0; i < f->shards().size(); ++i)
      std::printf("%-18s%s\n", ("shard " + std::to_string(i + 1) + " of " + std::to_string(f->shards().size())).c_str(),
                  f->shards()[i].c_str());
    if (auto n = f->get_string("general.name"); n.ok())
      std::printf("name              %.*s\n", int(n->size()), n->data());
    if (opt->metadata) {
      std::printf("\nmetadata\n");
      for (const auto& [k, v] : f->metadata())
        std::printf("  %-50.*s %s\n", int(k.size()), k.data(), v.to_string().c_str());
    }
    auto cfg = model::load_config(*f);
    if (cfg) {
      std::printf("\n");
      print_config(*cfg);
    } else if (f->find("general.architecture")) {
      std::printf("\nmodel: %s\n", cfg.error().to_string().c_str());
    }
    if (!f->tensors().empty()) print_tensors(*f, opt->tensors);
    if (cfg) {
      if (auto st = model::check_tensors(*f, *cfg); !st) std::printf("\nWARNING: %s\n", st.error().to_string().c_str());
      print_memory(*f, *cfg, opt->ctx ? opt->ctx : cfg->n_ctx_train);
    }
    if (f->find("tokenizer.ggml.tokens")) print_tokenizer(*f);
    return 0;
  };
}

}  // namespace onprem::tools
