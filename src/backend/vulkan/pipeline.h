// Compute pipelines and the command graph: a step's dispatches recorded once into a command
// buffer, then submitted as many times as needed (replayed) while the buffers it binds live.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backend/vulkan/buffer.h"

namespace onprem::vulkan {

// One shader with `n_buffers` storage buffers at bindings 0.. and `push_bytes` of push constants.
struct Pipeline {
  Device* device = nullptr;
  VkShaderModule module = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline pipeline = VK_NULL_HANDLE;
  uint32_t n_buffers = 0;
  uint32_t push_bytes = 0;

  Pipeline() = default;
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;
  ~Pipeline();
};

// Null with *error when the build has no such shader or the driver refuses it.
std::unique_ptr<Pipeline> make_pipeline(Device& d, std::string_view shader, uint32_t n_buffers, uint32_t push_bytes,
                                        std::string* error);

class Graph {
 public:
  explicit Graph(Device& d);
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  ~Graph();

  // Records one dispatch, then a barrier so the next dispatch sees its writes. The buffers are
  // bound whole (offsets travel in the push constants) and must outlive every run().
  bool dispatch(const Pipeline& p, std::span<const Buffer* const> buffers, const void* push, uint32_t groups_x,
                uint32_t groups_y, uint32_t groups_z, std::string* error);
  // Submits what was recorded and waits; the first call ends the recording. Can be called again.
  bool run(std::string* error);
  uint32_t dispatches() const { return dispatches_; }

 private:
  bool begin(std::string* error);
  VkDescriptorSet allocate_set(const Pipeline& p, std::string* error);

  Device& d_;
  VkCommandBuffer cb_ = VK_NULL_HANDLE;
  std::vector<VkDescriptorPool> pools_;
  uint32_t left_in_pool_ = 0;
  uint32_t dispatches_ = 0;
  bool recording_ = false, ended_ = false;
};

}  // namespace onprem::vulkan
