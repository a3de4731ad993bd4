#include "load.h"

#include <fstream>
#include <sstream>

namespace onprem::tools {

core::Expected<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error(core::ErrorCode::kNotFound, "cannot read '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

core::Expected<LoadedModel> load_model_and_tokenizer(const std::string& path) {
  ONPREM_TRY_ASSIGN(m, model::load_model(path));
  auto vocab = text::load_vocab(*m.file);
  if (!vocab) return core::make_error(vocab.error().code, path + ": " + vocab.error().to_string());
  ONPREM_TRY_ASSIGN(tok, text::Tokenizer::create(std::move(*vocab)));
  return LoadedModel{std::move(m), std::move(tok)};
}

}  // namespace onprem::tools
