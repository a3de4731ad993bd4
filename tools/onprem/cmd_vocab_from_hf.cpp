#include <fstream>
#include <sstream>

#include "commands.h"
#include "gguf/writer.h"
#include "text/vocab_data.h"

namespace onprem::tools {

Run add_vocab_from_hf(CLI::App& app) {
  auto* cmd = app.add_subcommand("vocab-from-hf",
                                 "Convert a Hugging Face byte-level BPE tokenizer.json into a vocabulary-only GGUF");
  struct Options {
    std::string input, output;
  };
  auto opt = std::make_shared<Options>();
  cmd->add_option("TOKENIZER_JSON", opt->input, "tokenizer.json")->required();
  cmd->add_option("--out", opt->output, "GGUF file to write")->required();
  return [opt]() -> int {
    std::ifstream in(opt->input, std::ios::binary);
    if (!in) return fail("cannot read '" + opt->input + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    auto v = text::import_hf_tokenizer(ss.str());
    if (!v) return fail(opt->input + ": " + v.error().to_string());
    gguf::Writer w;
    w.set_string("general.name", "vocabulary");
    text::write_vocab_keys(*v, w);
    auto st = w.write(opt->output);
    if (!st) return fail(st.error().to_string());
    std::printf("wrote %s: %zu tokens, %zu merges, pre-tokenizer %s\n", opt->output.c_str(), v->tokens.size(),
                v->merges.size(), v->pre.c_str());
    return 0;
  };
}

}  // namespace onprem::tools
