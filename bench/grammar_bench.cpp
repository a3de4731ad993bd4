// Cost of one token mask on a real vocabulary (the Qwen3 tokenizer, 151,669 tokens) in typical
// grammar states. Run: build/grammar_bench --vocab=FILE.gguf (make FILE with onprem vocab-from-hf).
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

#include "chat/json_schema.h"
#include "chat/token_mask.h"
#include "gguf/file.h"

namespace {

using namespace onprem;

std::string g_vocab;

const char* kSchema = R"({"type": "object", "properties": {"name": {"type": "string", "maxLength": 48},
  "count": {"type": "integer"}, "score": {"type": "number"}, "tags": {"type": "array", "items": {"type": "string"}},
  "active": {"type": "boolean"}}, "required": ["name", "count"]})";

void BM_Mask(benchmark::State& state, const std::string& prefix) {
  auto f = gguf::File::open(g_vocab);
  if (!f) {
    state.SkipWithError("pass --vocab=FILE.gguf");
    return;
  }
  static auto tok = std::make_unique<text::Tokenizer>(*text::Tokenizer::create(*text::load_vocab(*f)));
  static auto trie = std::make_unique<chat::TokenTrie>(*tok);
  const chat::Grammar g = *chat::grammar_from_schema(chat::Json::parse(kSchema));
  auto st = *chat::GrammarState::start(g);
  if (!st.accept_bytes(prefix)) {
    state.SkipWithError("prefix not in the language");
    return;
  }
  std::vector<uint8_t> mask;
  size_t allowed = 0;
  for (auto _ : state) allowed = chat::compute_mask(*trie, st, mask);
  state.counters["allowed_tokens"] = double(allowed);
  state.counters["vocab"] = double(tok->vocab().size());
  state.counters["trie_nodes"] = double(trie->nodes().size());
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--vocab=", 8) == 0) g_vocab = argv[i] + 8;
  benchmark::RegisterBenchmark("mask/object_start", BM_Mask, std::string("{"))->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("mask/inside_string", BM_Mask, std::string("{\"name\":\"Hello wor"))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("mask/inside_integer", BM_Mask, std::string("{\"name\":\"x\",\"count\":12"))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("mask/after_comma", BM_Mask, std::string("{\"name\":\"x\",\"count\":1,"))
      ->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
