// The template's one extension beyond the official Qwen3.6 template (whose output the e2e chat
// template test holds byte for byte against python3-jinja2): system messages after the first.
#include <gtest/gtest.h>

#include "chat/template.h"

namespace onprem::chat {
namespace {

const Json kMessages = Json::array({{{"role", "system"}, {"content", "A"}},
                                    {{"role", "user"}, {"content", "hi"}},
                                    {{"role", "system"}, {"content", " B "}},
                                    {{"role", "user"}, {"content", "again"}}});

TEST(Template, LaterSystemMessagesAreRefusedAsTheOfficialTemplateDoes) {
  auto r = render_chat(kMessages, Json::array(), RenderOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("System message must be at the beginning."), 0u) << r.error().message;
}

TEST(Template, SystemAnywhereRendersASystemTurnWhereItStands) {
  RenderOptions o;
  o.system_anywhere = true;
  auto r = render_chat(kMessages, Json::array(), o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r,
            "<|im_start|>system\nA<|im_end|>\n"
            "<|im_start|>user\nhi<|im_end|>\n"
            "<|im_start|>system\nB<|im_end|>\n"
            "<|im_start|>user\nagain<|im_end|>\n"
            "<|im_start|>assistant\n<think>\n");
}

}  // namespace
}  // namespace onprem::chat
