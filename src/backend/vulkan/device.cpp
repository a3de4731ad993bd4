#include "backend/vulkan/device.h"

#include <cstdint>
#include <cstring>

namespace onprem::vulkan {

namespace {

constexpr uint64_t kFenceTimeoutNs = 600ull * 1000 * 1000 * 1000;  // a step that takes 10 min is a hung device

const char* type_name(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return "CPU";
    default:
      return "other";
  }
}

bool has_extension(const std::vector<VkExtensionProperties>& list, const char* name) {
  for (const auto& e : list)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

std::vector<VkExtensionProperties> instance_extensions(const GlobalFns& g) {
  uint32_t n = 0;
  if (!g.vkEnumerateInstanceExtensionProperties ||
      g.vkEnumerateInstanceExtensionProperties(nullptr, &n, nullptr) != VK_SUCCESS)
    return {};
  std::vector<VkExtensionProperties> out(n);
  if (g.vkEnumerateInstanceExtensionProperties(nullptr, &n, out.data()) != VK_SUCCESS) return {};
  out.resize(n);
  return out;
}

std::vector<VkExtensionProperties> device_extensions(const InstanceFns& vki, VkPhysicalDevice pd) {
  uint32_t n = 0;
  if (vki.vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, nullptr) != VK_SUCCESS) return {};
  std::vector<VkExtensionProperties> out(n);
  if (vki.vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, out.data()) != VK_SUCCESS) return {};
  out.resize(n);
  return out;
}

// An instance with no layers; compute needs no extension. Where the loader offers portability
// enumeration, it is asked for: without it a loader hides portability drivers (MoltenVK, the
// Vulkan of Apple GPUs), and a Mac would list no device.
VkInstance create_instance(const GlobalFns& g, std::string* error, bool* portability = nullptr) {
  uint32_t version = VK_API_VERSION_1_0;
  if (g.vkEnumerateInstanceVersion) g.vkEnumerateInstanceVersion(&version);
  VkApplicationInfo app{};
  app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
  app.pApplicationName = "onprem";
  app.pEngineName = "onprem";
  app.apiVersion = version >= VK_API_VERSION_1_1 ? VK_API_VERSION_1_1 : VK_API_VERSION_1_0;
  VkInstanceCreateInfo ci{};
  ci.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  ci.pApplicationInfo = &app;
  const char* portability_ext = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
  const bool enumerate = has_extension(instance_extensions(g), portability_ext);
  if (enumerate) {
    ci.flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    ci.enabledExtensionCount = 1;
    ci.ppEnabledExtensionNames = &portability_ext;
  }
  if (portability) *portability = enumerate;
  VkInstance instance = VK_NULL_HANDLE;
  const VkResult r = g.vkCreateInstance(&ci, nullptr, &instance);
  if (r != VK_SUCCESS) {
    if (error) *error = "vkCreateInstance failed: " + result_name(r) + " (no Vulkan driver installed?)";
    return VK_NULL_HANDLE;
  }
  return instance;
}

std::vector<VkPhysicalDevice> physical_devices(const InstanceFns& vki, VkInstance instance) {
  uint32_t n = 0;
  if (vki.vkEnumeratePhysicalDevices(instance, &n, nullptr) != VK_SUCCESS) return {};
  std::vector<VkPhysicalDevice> out(n);
  if (vki.vkEnumeratePhysicalDevices(instance, &n, out.data()) != VK_SUCCESS) return {};
  out.resize(n);
  return out;
}

// The first queue family with compute; -1 if none.
int compute_family(const InstanceFns& vki, VkPhysicalDevice pd) {
  uint32_t n = 0;
  vki.vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, nullptr);
  std::vector<VkQueueFamilyProperties> families(n);
  vki.vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, families.data());
  for (uint32_t i = 0; i < n; ++i)
    if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) return int(i);
  return -1;
}

DeviceInfo describe(const InstanceFns& vki, VkPhysicalDevice pd, uint32_t index) {
  VkPhysicalDeviceProperties p{};
  vki.vkGetPhysicalDeviceProperties(pd, &p);
  VkPhysicalDeviceMemoryProperties m{};
  vki.vkGetPhysicalDeviceMemoryProperties(pd, &m);
  DeviceInfo info;
  info.index = index;
  info.name = p.deviceName;
  info.type = type_name(p.deviceType);
  info.api_major = VK_API_VERSION_MAJOR(p.apiVersion);
  info.api_minor = VK_API_VERSION_MINOR(p.apiVersion);
  for (uint32_t h = 0; h < m.memoryHeapCount; ++h)
    if ((m.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && m.memoryHeaps[h].size > info.device_local_bytes)
      info.device_local_bytes = m.memoryHeaps[h].size;
  info.has_compute_queue = compute_family(vki, pd) >= 0;
  info.portability = has_extension(device_extensions(vki, pd), "VK_KHR_portability_subset");
  return info;
}

}  // namespace

DeviceList list_devices() {
  DeviceList list;
  const GlobalFns* g = global_fns(&list.error);
  if (!g) return list;
  VkInstance instance = create_instance(*g, &list.error, &list.portability_enumeration);
  if (!instance) return list;
  InstanceFns vki;
  if (load_instance_fns(*g, instance, vki, &list.error)) {
    const auto pds = physical_devices(vki, instance);
    for (uint32_t i = 0; i < pds.size(); ++i) list.devices.push_back(describe(vki, pds[i], i));
    if (pds.empty()) list.error = "the Vulkan loader found no device";
  }
  if (vki.vkDestroyInstance) vki.vkDestroyInstance(instance, nullptr);
  return list;
}

Device::~Device() {
  if (device) {
    vk.vkDeviceWaitIdle(device);
    if (fence) vk.vkDestroyFence(device, fence, nullptr);
    if (command_pool) vk.vkDestroyCommandPool(device, command_pool, nullptr);
    vk.vkDestroyDevice(device, nullptr);
  }
  if (instance) vki.vkDestroyInstance(instance, nullptr);
}

std::unique_ptr<Device> open_device(uint32_t index, std::string* error) {
  const GlobalFns* g = global_fns(error);
  if (!g) return nullptr;
  auto d = std::make_unique<Device>();
  d->instance = create_instance(*g, error);
  if (!d->instance) return nullptr;
  if (!load_instance_fns(*g, d->instance, d->vki, error)) return nullptr;
  const auto pds = physical_devices(d->vki, d->instance);
  if (index >= pds.size()) {
    if (error)
      *error = "no Vulkan device " + std::to_string(index) + ": this machine has " + std::to_string(pds.size()) +
               " (onprem inspect --system lists them)";
    return nullptr;
  }
  d->physical = pds[index];
  d->info = describe(d->vki, d->physical, index);
  d->vki.vkGetPhysicalDeviceProperties(d->physical, &d->properties);
  d->vki.vkGetPhysicalDeviceMemoryProperties(d->physical, &d->memory);
  const int family = compute_family(d->vki, d->physical);
  if (family < 0) {
    if (error) *error = "Vulkan device " + std::to_string(index) + " (" + d->info.name + ") has no compute queue";
    return nullptr;
  }
  d->queue_family = uint32_t(family);
  const float priority = 1.0f;
  VkDeviceQueueCreateInfo qci{};
  qci.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
  qci.queueFamilyIndex = d->queue_family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;
  VkDeviceCreateInfo dci{};
  dci.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  // A portability driver must be told that its subset is understood (the Vulkan spec).
  const char* subset = "VK_KHR_portability_subset";
  if (d->info.portability) {
    dci.enabledExtensionCount = 1;
    dci.ppEnabledExtensionNames = &subset;
  }
  VkResult r = d->vki.vkCreateDevice(d->physical, &dci, nullptr, &d->device);
  if (r != VK_SUCCESS) {
    if (error) *error = "vkCreateDevice failed on " + d->info.name + ": " + result_name(r);
    d->device = VK_NULL_HANDLE;
    return nullptr;
  }
  if (!load_device_fns(d->vki, d->device, d->vk, error)) {
    // The destructor needs the device table; without it, destroy the device here.
    auto destroy = reinterpret_cast<PFN_vkDestroyDevice>(d->vki.vkGetDeviceProcAddr(d->device, "vkDestroyDevice"));
    if (destroy) destroy(d->device, nullptr);
    d->device = VK_NULL_HANDLE;
    return nullptr;
  }
  d->vk.vkGetDeviceQueue(d->device, d->queue_family, 0, &d->queue);
  VkCommandPoolCreateInfo pci{};
  pci.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
  pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pci.queueFamilyIndex = d->queue_family;
  r = d->vk.vkCreateCommandPool(d->device, &pci, nullptr, &d->command_pool);
  if (r == VK_SUCCESS) {
    VkFenceCreateInfo fci{};
    fci.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
    r = d->vk.vkCreateFence(d->device, &fci, nullptr, &d->fence);
  }
  if (r != VK_SUCCESS) {
    if (error) *error = "Vulkan command pool or fence: " + result_name(r);
    return nullptr;
  }
  return d;
}

bool submit_and_wait(Device& d, VkCommandBuffer cb, std::string* error) {
  VkSubmitInfo si{};
  si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cb;
  VkResult r = d.vk.vkQueueSubmit(d.queue, 1, &si, d.fence);
  if (r == VK_SUCCESS) r = d.vk.vkWaitForFences(d.device, 1, &d.fence, VK_TRUE, kFenceTimeoutNs);
  d.vk.vkResetFences(d.device, 1, &d.fence);
  if (r != VK_SUCCESS) {
    if (error) *error = "Vulkan submission failed: " + result_name(r);
    return false;
  }
  return true;
}

}  // namespace onprem::vulkan
