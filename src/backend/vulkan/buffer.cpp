#include "backend/vulkan/buffer.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace onprem::vulkan {

namespace {

int memory_type(const Device& d, uint32_t allowed, VkMemoryPropertyFlags want) {
  for (uint32_t i = 0; i < d.memory.memoryTypeCount; ++i)
    if ((allowed & (1u << i)) && (d.memory.memoryTypes[i].propertyFlags & want) == want) return int(i);
  return -1;
}

void release(Buffer& b) {
  if (!b.device) return;
  const auto& vk = b.device->vk;
  if (b.mapped) vk.vkUnmapMemory(b.device->device, b.memory);
  if (b.buffer) vk.vkDestroyBuffer(b.device->device, b.buffer, nullptr);
  if (b.memory) vk.vkFreeMemory(b.device->device, b.memory, nullptr);
  b.device = nullptr;
  b.buffer = VK_NULL_HANDLE;
  b.memory = VK_NULL_HANDLE;
  b.bytes = 0;
  b.mapped = nullptr;
}

// Records one copy between two buffers and waits for it.
bool copy(Device& d, VkBuffer from, uint64_t from_offset, VkBuffer to, uint64_t to_offset, uint64_t bytes,
          std::string* error) {
  VkCommandBufferAllocateInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  ai.commandPool = d.command_pool;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkCommandBuffer cb = VK_NULL_HANDLE;
  VkResult r = d.vk.vkAllocateCommandBuffers(d.device, &ai, &cb);
  if (r != VK_SUCCESS) {
    if (error) *error = "Vulkan command buffer: " + result_name(r);
    return false;
  }
  VkCommandBufferBeginInfo bi{};
  bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  d.vk.vkBeginCommandBuffer(cb, &bi);
  VkBufferCopy region{from_offset, to_offset, bytes};
  d.vk.vkCmdCopyBuffer(cb, from, to, 1, &region);
  d.vk.vkEndCommandBuffer(cb);
  const bool ok = submit_and_wait(d, cb, error);
  d.vk.vkFreeCommandBuffers(d.device, d.command_pool, 1, &cb);
  return ok;
}

}  // namespace

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    release(*this);
    device = std::exchange(o.device, nullptr);
    buffer = std::exchange(o.buffer, VkBuffer(VK_NULL_HANDLE));
    memory = std::exchange(o.memory, VkDeviceMemory(VK_NULL_HANDLE));
    bytes = std::exchange(o.bytes, 0);
    mapped = std::exchange(o.mapped, nullptr);
  }
  return *this;
}

Buffer::~Buffer() { release(*this); }

bool create_buffer(Device& d, uint64_t bytes, Memory where, Buffer& out, std::string* error) {
  release(out);
  const uint64_t size = std::max<uint64_t>(4, (bytes + 3) & ~uint64_t(3));
  VkBufferCreateInfo ci{};
  ci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  ci.size = size;
  ci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  ci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  Buffer b;
  b.device = &d;
  b.bytes = size;
  VkResult r = d.vk.vkCreateBuffer(d.device, &ci, nullptr, &b.buffer);
  if (r != VK_SUCCESS) {
    if (error) *error = "Vulkan buffer of " + std::to_string(size) + " bytes: " + result_name(r);
    return false;
  }
  VkMemoryRequirements req{};
  d.vk.vkGetBufferMemoryRequirements(d.device, b.buffer, &req);
  const VkMemoryPropertyFlags want = where == Memory::kDevice
                                         ? VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
                                         : VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  int type = memory_type(d, req.memoryTypeBits, want);
  if (type < 0 && where == Memory::kDevice) type = memory_type(d, req.memoryTypeBits, 0);
  if (type < 0) {
    if (error)
      *error = "no Vulkan memory type for a " + std::string(where == Memory::kHost ? "host" : "device") + " buffer";
    return false;
  }
  VkMemoryAllocateInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = uint32_t(type);
  r = d.vk.vkAllocateMemory(d.device, &ai, nullptr, &b.memory);
  if (r != VK_SUCCESS) {
    if (error)
      *error = "Vulkan allocation of " + std::to_string(req.size) + " bytes on " + d.info.name + ": " + result_name(r);
    return false;
  }
  r = d.vk.vkBindBufferMemory(d.device, b.buffer, b.memory, 0);
  if (r == VK_SUCCESS && where == Memory::kHost)
    r = d.vk.vkMapMemory(d.device, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped);
  if (r != VK_SUCCESS) {
    if (error) *error = "Vulkan buffer memory: " + result_name(r);
    return false;
  }
  out = std::move(b);
  return true;
}

bool upload(Buffer& dst, uint64_t offset, const void* src, uint64_t bytes, std::string* error, Progress progress,
            void* user, uint64_t chunk) {
  if (offset > dst.bytes || bytes > dst.bytes - offset) {
    if (error)
      *error = "upload of " + std::to_string(bytes) + " bytes at " + std::to_string(offset) + " overruns a buffer of " +
               std::to_string(dst.bytes);
    return false;
  }
  if (dst.mapped) {
    std::memcpy(static_cast<char*>(dst.mapped) + offset, src, bytes);
    if (progress) progress(bytes, bytes, user);
    return true;
  }
  Device& d = *dst.device;
  Buffer staging;
  if (!create_buffer(d, std::min(bytes, chunk), Memory::kHost, staging, error)) return false;
  for (uint64_t done = 0; done < bytes;) {
    const uint64_t n = std::min(bytes - done, staging.bytes);
    std::memcpy(staging.mapped, static_cast<const char*>(src) + done, n);
    // A copy's size must be a multiple of 4 only for fills; a tail shorter than 4 copies as is.
    if (!copy(d, staging.buffer, 0, dst.buffer, offset + done, n, error)) return false;
    done += n;
    if (progress) progress(done, bytes, user);
  }
  return true;
}

bool download(const Buffer& src, uint64_t offset, void* dst, uint64_t bytes, std::string* error) {
  if (offset > src.bytes || bytes > src.bytes - offset) {
    if (error)
      *error = "download of " + std::to_string(bytes) + " bytes at " + std::to_string(offset) +
               " overruns a buffer of " + std::to_string(src.bytes);
    return false;
  }
  if (src.mapped) {
    std::memcpy(dst, static_cast<const char*>(src.mapped) + offset, bytes);
    return true;
  }
  Device& d = *src.device;
  Buffer staging;
  if (!create_buffer(d, bytes, Memory::kHost, staging, error)) return false;
  if (!copy(d, src.buffer, offset, staging.buffer, 0, bytes, error)) return false;
  std::memcpy(dst, staging.mapped, bytes);
  return true;
}

}  // namespace onprem::vulkan
