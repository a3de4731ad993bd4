// What several commands load the same way: a text file, a model with its tokenizer.
#pragma once

#include <string>

#include "core/status.h"
#include "model/weights.h"
#include "text/tokenizer.h"

namespace onprem::tools {

core::Expected<std::string> read_text_file(const std::string& path);

struct LoadedModel {
  model::Model model;
  text::Tokenizer tokenizer;
};
core::Expected<LoadedModel> load_model_and_tokenizer(const std::string& path);

}  // namespace onprem::tools
