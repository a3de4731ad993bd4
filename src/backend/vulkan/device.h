// Vulkan devices: listing what the machine has, and opening one with a compute queue.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/vulkan/loader.h"

namespace onprem::vulkan {

struct DeviceInfo {
  uint32_t index = 0;  // the N of --device vulkan:N: the driver's enumeration order
  std::string name;
  std::string type;  // "discrete GPU", "integrated GPU", "virtual GPU", "CPU" (lavapipe), "other"
  uint32_t api_major = 0, api_minor = 0;
  uint64_t device_local_bytes = 0;  // the largest device-local heap
  bool has_compute_queue = false;
  bool portability = false;  // a portability driver (MoltenVK on Apple GPUs): VK_KHR_portability_subset
};

struct DeviceList {
  std::vector<DeviceInfo> devices;
  std::string error;  // why the list is empty: no loader, no driver, instance refused
  // The loader offers VK_KHR_portability_enumeration, so portability drivers are listed too.
  bool portability_enumeration = false;
};

DeviceList list_devices();

// One opened device: its instance, logical device, one compute queue, a command pool and a fence.
// Submissions are serialised by the caller (one engine thread drives a device).
struct Device {
  VkInstance instance = VK_NULL_HANDLE;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t queue_family = 0;
  VkCommandPool command_pool = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;
  InstanceFns vki;
  DeviceFns vk;
  VkPhysicalDeviceProperties properties{};
  VkPhysicalDeviceMemoryProperties memory{};
  DeviceInfo info;

  Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  ~Device();
};

// Null with *error set when the index does not exist or the device cannot be opened.
std::unique_ptr<Device> open_device(uint32_t index, std::string* error);

// Submits one recorded command buffer and waits for it. False with *error on failure (a lost
// device is reported, not hidden).
bool submit_and_wait(Device& d, VkCommandBuffer cb, std::string* error);

}  // namespace onprem::vulkan
