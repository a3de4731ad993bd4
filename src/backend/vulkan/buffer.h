// Device memory: buffers in device-local memory (weights, activations, state) and host-visible
// staging buffers that carry data to and from them.
#pragma once

#include <cstdint>
#include <string>

#include "backend/vulkan/device.h"

namespace onprem::vulkan {

struct Buffer {
  Device* device = nullptr;
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  uint64_t bytes = 0;
  void* mapped = nullptr;  // host-visible buffers only

  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept { *this = std::move(o); }
  Buffer& operator=(Buffer&& o) noexcept;
  ~Buffer();
};

enum class Memory { kDevice, kHost };

// A storage buffer of at least `bytes` (rounded up to 4: shaders read 32-bit words). kHost memory
// is host-visible, coherent and mapped. False with *error (out of device memory names the size).
bool create_buffer(Device& d, uint64_t bytes, Memory where, Buffer& out, std::string* error);

// Copies host bytes into a device buffer at `offset` through a staging buffer of at most
// `chunk` bytes, calling progress(done, total) after each chunk (null: none).
using Progress = void (*)(uint64_t done, uint64_t total, void* user);
bool upload(Buffer& dst, uint64_t offset, const void* src, uint64_t bytes, std::string* error,
            Progress progress = nullptr, void* user = nullptr, uint64_t chunk = uint64_t(64) << 20);
bool download(const Buffer& src, uint64_t offset, void* dst, uint64_t bytes, std::string* error);

}  // namespace onprem::vulkan
