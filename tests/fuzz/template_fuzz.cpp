// libFuzzer target: a chat template as a model file would carry it, read and run the way
// `inspect` and `serve --chat-template file` do (check_template renders eight probe
// conversations). Whatever the text, the interpreter must answer or refuse: no crash, no
// unbounded time or memory.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "chat/template_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto check = onprem::chat::check_template(text);
  (void)check.describe();
  return 0;
}
