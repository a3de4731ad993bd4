// The compute shaders, compiled to SPIR-V at build time (glslc) and embedded in the binary.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace onprem::vulkan {

struct Shader {
  const char* name;  // "matmul_q4_k", "rms_norm", ...
  const uint32_t* words;
  uint32_t n_words;
};

std::span<const Shader> shaders();

// Null when the build has no shader of that name.
inline const Shader* find_shader(std::string_view name) {
  for (const auto& s : shaders())
    if (name == s.name) return &s;
  return nullptr;
}

}  // namespace onprem::vulkan
