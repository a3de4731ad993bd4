// The Vulkan entry points the backend uses, loaded at run time from the system's loader
// (libvulkan.so.1) rather than linked: a binary built with the backend still starts, and serves on
// the CPU, on a machine that has no Vulkan loader or driver.
#pragma once

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include <string>

namespace onprem::vulkan {

// Entry points resolved without an instance.
#define ONPREM_VK_GLOBAL(X)     \
  X(vkCreateInstance)           \
  X(vkEnumerateInstanceVersion) \
  X(vkEnumerateInstanceExtensionProperties)

// Entry points resolved with the instance.
#define ONPREM_VK_INSTANCE(X)                 \
  X(vkDestroyInstance)                        \
  X(vkEnumeratePhysicalDevices)               \
  X(vkGetPhysicalDeviceProperties)            \
  X(vkGetPhysicalDeviceMemoryProperties)      \
  X(vkGetPhysicalDeviceQueueFamilyProperties) \
  X(vkCreateDevice)                           \
  X(vkEnumerateDeviceExtensionProperties)     \
  X(vkGetDeviceProcAddr)

// Entry points resolved with the device (no loader trampoline on the hot path).
#define ONPREM_VK_DEVICE(X)        \
  X(vkDestroyDevice)               \
  X(vkGetDeviceQueue)              \
  X(vkCreateBuffer)                \
  X(vkDestroyBuffer)               \
  X(vkGetBufferMemoryRequirements) \
  X(vkAllocateMemory)              \
  X(vkFreeMemory)                  \
  X(vkBindBufferMemory)            \
  X(vkMapMemory)                   \
  X(vkUnmapMemory)                 \
  X(vkCreateShaderModule)          \
  X(vkDestroyShaderModule)         \
  X(vkCreateDescriptorSetLayout)   \
  X(vkDestroyDescriptorSetLayout)  \
  X(vkCreatePipelineLayout)        \
  X(vkDestroyPipelineLayout)       \
  X(vkCreateComputePipelines)      \
  X(vkDestroyPipeline)             \
  X(vkCreateDescriptorPool)        \
  X(vkDestroyDescriptorPool)       \
  X(vkAllocateDescriptorSets)      \
  X(vkUpdateDescriptorSets)        \
  X(vkCreateCommandPool)           \
  X(vkDestroyCommandPool)          \
  X(vkAllocateCommandBuffers)      \
  X(vkFreeCommandBuffers)          \
  X(vkBeginCommandBuffer)          \
  X(vkEndCommandBuffer)            \
  X(vkCmdBindPipeline)             \
  X(vkCmdBindDescriptorSets)       \
  X(vkCmdPushConstants)            \
  X(vkCmdDispatch)                 \
  X(vkCmdPipelineBarrier)          \
  X(vkCmdCopyBuffer)               \
  X(vkQueueSubmit)                 \
  X(vkCreateFence)                 \
  X(vkDestroyFence)                \
  X(vkWaitForFences)               \
  X(vkResetFences)                 \
  X(vkDeviceWaitIdle)

#define ONPREM_VK_MEMBER(name) PFN_##name name = nullptr;
struct GlobalFns {
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr = nullptr;
  ONPREM_VK_GLOBAL(ONPREM_VK_MEMBER)
};
struct InstanceFns {
  ONPREM_VK_INSTANCE(ONPREM_VK_MEMBER)
};
struct DeviceFns {
  ONPREM_VK_DEVICE(ONPREM_VK_MEMBER)
};
#undef ONPREM_VK_MEMBER

// The loader, opened once per process. Null, with the reason in *why, when there is none or it
// lacks an entry point.
const GlobalFns* global_fns(std::string* why);
bool load_instance_fns(const GlobalFns& g, VkInstance instance, InstanceFns& out, std::string* why);
bool load_device_fns(const InstanceFns& i, VkDevice device, DeviceFns& out, std::string* why);

// "VK_ERROR_OUT_OF_DEVICE_MEMORY (-2)" for error messages.
std::string result_name(VkResult r);

}  // namespace onprem::vulkan
