// libFuzzer target: any byte string through the GGUF parser, and whatever parses through the
// model-config, tensor-check and vocabulary readers. Any crash, sanitizer report or hang is a bug.
#include <cstddef>
#include <cstdint>

#include "gguf/file.h"
#include "model/config.h"
#include "model/tensor_table.h"
#include "text/vocab.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = onprem::gguf::File::parse(data, size);
  if (!f.ok()) {
    (void)f.error().to_string();
    return 0;
  }
  size_t sink = 0;
  for (const auto& [key, value] : f->metadata()) sink += key.size() + value.to_string().size();
  for (const auto& t : f->tensors()) {
    // Touch the first and last byte: both must be inside the buffer.
    if (t.n_bytes) sink += t.data[0] + t.data[t.n_bytes - 1];
    sink += t.shape_string().size();
  }
  if (auto cfg = onprem::model::load_config(*f); cfg.ok()) (void)onprem::model::check_tensors(*f, *cfg);
  if (auto v = onprem::text::load_vocab(*f); v.ok()) sink += v->size();
  return sink == 0xdeadbeef;  // keeps the reads alive
}
