// What several commands load the same way: a text file, a model with its tokenizer.
#pragma once

#include <string>

#include "core/status.h"
#include "engine/engine.h"
#include "model/repack.h"
#include "model/weights.h"
#include "text/tokenizer.h"

namespace onprem::tools {

core::Expected<std::string> read_text_file(const std::string& path);

struct LoadedModel {
  model::Model model;
  text::Tokenizer tokenizer;
};
core::Expected<LoadedModel> load_model_and_tokenizer(const std::string& path);

// For the commands that run the engine (run, serve, bench): the weights repacked for the
// engine's kernel table (model/repack.h), unless ONPREM_REPACK=0 keeps the file's layout (to
// compare the two). With `say`, says what it did on stderr.
model::RepackStats repack_for_engine(model::Model& m, int threads, bool say);

// --device: "cpu" is -1, "vulkan:N" is N; anything else is an error that says what is accepted.
core::Expected<int> parse_device(const std::string& device);

// For run and serve: puts the engine where --device says. cpu: the weights repacked for the CPU
// tables (repack_for_engine). vulkan:N: the weights uploaded to that device (with a progress line
// on stderr when `say`) and eo.gpu set; an error for a device that is missing or too small.
core::Status place_engine(model::Model& m, const std::string& device, engine::EngineOptions& eo, bool say);

}  // namespace onprem::tools
