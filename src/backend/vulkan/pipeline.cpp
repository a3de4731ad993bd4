#include "backend/vulkan/pipeline.h"

#include "backend/vulkan/shaders.h"

namespace onprem::vulkan {

namespace {

constexpr uint32_t kSetsPerPool = 256;
constexpr uint32_t kMaxBindings = 8;

}  // namespace

Pipeline::~Pipeline() {
  if (!device) return;
  const auto& vk = device->vk;
  if (pipeline) vk.vkDestroyPipeline(device->device, pipeline, nullptr);
  if (layout) vk.vkDestroyPipelineLayout(device->device, layout, nullptr);
  if (set_layout) vk.vkDestroyDescriptorSetLayout(device->device, set_layout, nullptr);
  if (module) vk.vkDestroyShaderModule(device->device, module, nullptr);
}

std::unique_ptr<Pipeline> make_pipeline(Device& d, std::string_view shader, uint32_t n_buffers, uint32_t push_bytes,
                                        std::string* error) {
  const Shader* s = find_shader(shader);
  if (!s) {
    if (error) *error = "this build has no Vulkan shader " + std::string(shader);
    return nullptr;
  }
  if (n_buffers == 0 || n_buffers > kMaxBindings) {
    if (error) *error = "a pipeline binds 1 to 8 buffers";
    return nullptr;
  }
  auto p = std::make_unique<Pipeline>();
  p->device = &d;
  p->n_buffers = n_buffers;
  p->push_bytes = push_bytes;
  const auto fail = [&](const char* what, VkResult r) {
    if (error) *error = std::string(what) + " for shader " + std::string(shader) + ": " + result_name(r);
    return nullptr;
  };
  VkShaderModuleCreateInfo mci{};
  mci.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
  mci.codeSize = size_t(s->n_words) * 4;
  mci.pCode = s->words;
  VkResult r = d.vk.vkCreateShaderModule(d.device, &mci, nullptr, &p->module);
  if (r != VK_SUCCESS) return fail("vkCreateShaderModule", r);

  VkDescriptorSetLayoutBinding bindings[kMaxBindings]{};
  for (uint32_t i = 0; i < n_buffers; ++i) {
    bindings[i].binding = i;
    bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    bindings[i].descriptorCount = 1;
    bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo lci{};
  lci.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
  lci.bindingCount = n_buffers;
  lci.pBindings = bindings;
  r = d.vk.vkCreateDescriptorSetLayout(d.device, &lci, nullptr, &p->set_layout);
  if (r != VK_SUCCESS) return fail("vkCreateDescriptorSetLayout", r);

  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes};
  VkPipelineLayoutCreateInfo plci{};
  plci.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
  plci.setLayoutCount = 1;
  plci.pSetLayouts = &p->set_layout;
  plci.pushConstantRangeCount = push_bytes ? 1 : 0;
  plci.pPushConstantRanges = push_bytes ? &range : nullptr;
  r = d.vk.vkCreatePipelineLayout(d.device, &plci, nullptr, &p->layout);
  if (r != VK_SUCCESS) return fail("vkCreatePipelineLayout", r);

  VkComputePipelineCreateInfo cci{};
  cci.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
  cci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  cci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  cci.stage.module = p->module;
  cci.stage.pName = "main";
  cci.layout = p->layout;
  r = d.vk.vkCreateComputePipelines(d.device, VK_NULL_HANDLE, 1, &cci, nullptr, &p->pipeline);
  if (r != VK_SUCCESS) return fail("vkCreateComputePipelines", r);
  return p;
}

Graph::Graph(Device& d) : d_(d) {}

Graph::~Graph() {
  if (cb_) d_.vk.vkFreeCommandBuffers(d_.device, d_.command_pool, 1, &cb_);
  for (VkDescriptorPool pool : pools_) d_.vk.vkDestroyDescriptorPool(d_.device, pool, nullptr);
}

bool Graph::begin(std::string* error) {
  VkCommandBufferAllocateInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  ai.commandPool = d_.command_pool;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkResult r = d_.vk.vkAllocateCommandBuffers(d_.device, &ai, &cb_);
  if (r == VK_SUCCESS) {
    VkCommandBufferBeginInfo bi{};
    bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    r = d_.vk.vkBeginCommandBuffer(cb_, &bi);  // no one-time flag: the graph is replayed
  }
  if (r != VK_SUCCESS) {
    if (error) *error = "Vulkan command buffer: " + result_name(r);
    return false;
  }
  recording_ = true;
  return true;
}

VkDescriptorSet Graph::allocate_set(const Pipeline& p, std::string* error) {
  if (left_in_pool_ == 0) {
    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSetsPerPool * kMaxBindings};
    VkDescriptorPoolCreateInfo pci{};
    pci.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
    pci.maxSets = kSetsPerPool;
    pci.poolSizeCount = 1;
    pci.pPoolSizes = &size;
    VkDescriptorPool pool = VK_NULL_HANDLE;
    const VkResult r = d_.vk.vkCreateDescriptorPool(d_.device, &pci, nullptr, &pool);
    if (r != VK_SUCCESS) {
      if (error) *error = "Vulkan descriptor pool: " + result_name(r);
      return VK_NULL_HANDLE;
    }
    pools_.push_back(pool);
    left_in_pool_ = kSetsPerPool;
  }
  VkDescriptorSetAllocateInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
  ai.descriptorPool = pools_.back();
  ai.descriptorSetCount = 1;
  ai.pSetLayouts = &p.set_layout;
  VkDescriptorSet set = VK_NULL_HANDLE;
  const VkResult r = d_.vk.vkAllocateDescriptorSets(d_.device, &ai, &set);
  if (r != VK_SUCCESS) {
    if (error) *error = "Vulkan descriptor set: " + result_name(r);
    return VK_NULL_HANDLE;
  }
  --left_in_pool_;
  return set;
}

bool Graph::dispatch(const Pipeline& p, std::span<const Buffer* const> buffers, const void* push, uint32_t groups_x,
                     uint32_t groups_y, uint32_t groups_z, std::string* error) {
  if (ended_) {
    if (error) *error = "a Vulkan graph cannot be extended after it has run";
    return false;
  }
  if (buffers.size() != p.n_buffers) {
    if (error)
      *error = "a dispatch bound " + std::to_string(buffers.size()) + " buffers to a pipeline of " +
               std::to_string(p.n_buffers);
    return false;
  }
  const auto& limits = d_.properties.limits.maxComputeWorkGroupCount;
  if (groups_x == 0 || groups_y == 0 || groups_z == 0 || groups_x > limits[0] || groups_y > limits[1] ||
      groups_z > limits[2]) {
    if (error)
      *error = "a dispatch of " + std::to_string(groups_x) + "x" + std::to_string(groups_y) + "x" +
               std::to_string(groups_z) + " workgroups is outside this device's limits";
    return false;
  }
  if (!recording_ && !begin(error)) return false;
  const VkDescriptorSet set = allocate_set(p, error);
  if (!set) return false;
  VkDescriptorBufferInfo infos[kMaxBindings]{};
  VkWriteDescriptorSet writes[kMaxBindings]{};
  for (uint32_t i = 0; i < p.n_buffers; ++i) {
    infos[i] = {buffers[i]->buffer, 0, VK_WHOLE_SIZE};
    writes[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
    writes[i].dstSet = set;
    writes[i].dstBinding = i;
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  d_.vk.vkUpdateDescriptorSets(d_.device, p.n_buffers, writes, 0, nullptr);
  d_.vk.vkCmdBindPipeline(cb_, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline);
  d_.vk.vkCmdBindDescriptorSets(cb_, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, 1, &set, 0, nullptr);
  if (p.push_bytes) d_.vk.vkCmdPushConstants(cb_, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, p.push_bytes, push);
  d_.vk.vkCmdDispatch(cb_, groups_x, groups_y, groups_z);
  // Each dispatch may read what the one before wrote: a full compute-to-compute barrier. (Finer
  // dependencies are for a later change, measured on a real GPU.)
  VkMemoryBarrier barrier{};
  barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
  barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
  d_.vk.vkCmdPipelineBarrier(cb_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1,
                             &barrier, 0, nullptr, 0, nullptr);
  ++dispatches_;
  return true;
}

bool Graph::run(std::string* error) {
  if (!recording_ && !ended_) {
    if (error) *error = "an empty Vulkan graph";
    return false;
  }
  if (!ended_) {
    // What the shaders wrote to host-visible buffers is read by the host once the run ends.
    VkMemoryBarrier to_host{};
    to_host.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    to_host.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
    to_host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    d_.vk.vkCmdPipelineBarrier(cb_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0,
                               nullptr, 0, nullptr);
    const VkResult r = d_.vk.vkEndCommandBuffer(cb_);
    if (r != VK_SUCCESS) {
      if (error) *error = "vkEndCommandBuffer: " + result_name(r);
      return false;
    }
    ended_ = true;
  }
  return submit_and_wait(d_, cb_, error);
}

}  // namespace onprem::vulkan
