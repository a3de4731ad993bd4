#include "backend/vulkan/loader.h"

#include <dlfcn.h>

#include <mutex>

namespace onprem::vulkan {

namespace {

GlobalFns load_global(std::string& why) {
  GlobalFns g;
  // The soname, not the development symlink: only the runtime package is needed to run.
  void* lib = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    why = std::string("no Vulkan loader (libvulkan.so.1): ") + dlerror();
    return g;
  }
  g.vkGetInstanceProcAddr = reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(lib, "vkGetInstanceProcAddr"));
  if (!g.vkGetInstanceProcAddr) {
    why = "the Vulkan loader has no vkGetInstanceProcAddr";
    return g;
  }
#define ONPREM_VK_LOAD(name) g.name = reinterpret_cast<PFN_##name>(g.vkGetInstanceProcAddr(VK_NULL_HANDLE, #name));
  ONPREM_VK_GLOBAL(ONPREM_VK_LOAD)
#undef ONPREM_VK_LOAD
  if (!g.vkCreateInstance) why = "the Vulkan loader has no vkCreateInstance";
  return g;
}

}  // namespace

const GlobalFns* global_fns(std::string* why) {
  static std::once_flag once;
  static GlobalFns fns;
  static std::string reason;
  std::call_once(once, [] { fns = load_global(reason); });
  if (!reason.empty()) {
    if (why) *why = reason;
    return nullptr;
  }
  return &fns;
}

bool load_instance_fns(const GlobalFns& g, VkInstance instance, InstanceFns& out, std::string* why) {
#define ONPREM_VK_LOAD(name)                                                         \
  out.name = reinterpret_cast<PFN_##name>(g.vkGetInstanceProcAddr(instance, #name)); \
  if (!out.name) {                                                                   \
    if (why) *why = "the Vulkan loader has no " #name;                               \
    return false;                                                                    \
  }
  ONPREM_VK_INSTANCE(ONPREM_VK_LOAD)
#undef ONPREM_VK_LOAD
  return true;
}

bool load_device_fns(const InstanceFns& i, VkDevice device, DeviceFns& out, std::string* why) {
#define ONPREM_VK_LOAD(name)                                                     \
  out.name = reinterpret_cast<PFN_##name>(i.vkGetDeviceProcAddr(device, #name)); \
  if (!out.name) {                                                               \
    if (why) *why = "the Vulkan driver has no " #name;                           \
    return false;                                                                \
  }
  ONPREM_VK_DEVICE(ONPREM_VK_LOAD)
#undef ONPREM_VK_LOAD
  return true;
}

std::string result_name(VkResult r) {
  const char* name = "VkResult";
  switch (r) {
    case VK_SUCCESS:
      name = "VK_SUCCESS";
      break;
    case VK_NOT_READY:
      name = "VK_NOT_READY";
      break;
    case VK_TIMEOUT:
      name = "VK_TIMEOUT";
      break;
    case VK_ERROR_OUT_OF_HOST_MEMORY:
      name = "VK_ERROR_OUT_OF_HOST_MEMORY";
      break;
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
      name = "VK_ERROR_OUT_OF_DEVICE_MEMORY";
      break;
    case VK_ERROR_INITIALIZATION_FAILED:
      name = "VK_ERROR_INITIALIZATION_FAILED";
      break;
    case VK_ERROR_DEVICE_LOST:
      name = "VK_ERROR_DEVICE_LOST";
      break;
    case VK_ERROR_LAYER_NOT_PRESENT:
      name = "VK_ERROR_LAYER_NOT_PRESENT";
      break;
    case VK_ERROR_EXTENSION_NOT_PRESENT:
      name = "VK_ERROR_EXTENSION_NOT_PRESENT";
      break;
    case VK_ERROR_FEATURE_NOT_PRESENT:
      name = "VK_ERROR_FEATURE_NOT_PRESENT";
      break;
    case VK_ERROR_INCOMPATIBLE_DRIVER:
      name = "VK_ERROR_INCOMPATIBLE_DRIVER";
      break;
    case VK_ERROR_TOO_MANY_OBJECTS:
      name = "VK_ERROR_TOO_MANY_OBJECTS";
      break;
    default:
      break;
  }
  return std::string(name) + " (" + std::to_string(int(r)) + ")";
}

}  // namespace onprem::vulkan
