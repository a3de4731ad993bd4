// A build without the Vulkan backend (no glslc or Vulkan headers at build time): every entry
// point of forward_vulkan.h says so, and the CPU path serves.
#include "model/forward_vulkan.h"

namespace onprem::model {

namespace {
core::Error not_built() {
  return core::make_error(core::ErrorCode::kUnsupported,
                          "this build has no Vulkan backend (install glslc and libvulkan-dev, then rebuild)");
}
}  // namespace

struct VulkanEngine {};

core::Expected<std::shared_ptr<VulkanEngine>> make_vulkan_engine(const Model&, const VulkanOptions&) {
  return not_built();
}
core::Expected<VulkanSequence> make_vulkan_sequence(VulkanEngine&, int64_t) { return not_built(); }
core::Status forward_vulkan(VulkanEngine&, VulkanSequence&, const int32_t*, int64_t, float*, bool) {
  return not_built();
}
bool vulkan_batches(const VulkanEngine&) { return false; }
core::Status forward_vulkan_batch(VulkanEngine&, std::vector<VulkanBatchEntry>&) { return not_built(); }
core::Status vulkan_read_recurrent(VulkanEngine&, const VulkanSequence&, SequenceState&) { return not_built(); }
core::Status vulkan_write_recurrent(VulkanEngine&, VulkanSequence&, const SequenceState&) { return not_built(); }
core::Expected<VulkanSnapshot> vulkan_take_snapshot(VulkanEngine&, const VulkanSequence&) { return not_built(); }
core::Status vulkan_restore_snapshot(VulkanEngine&, VulkanSequence&, const VulkanSnapshot&, int64_t) {
  return not_built();
}
double vulkan_copy_bandwidth(VulkanEngine&, uint64_t) { return 0; }
std::string vulkan_engine_device(const VulkanEngine&) { return "none"; }
VulkanPlacement vulkan_placement(const VulkanEngine&) { return {}; }

}  // namespace onprem::model
