#include "protocol/chat_request.h"

namespace onprem::protocol {

std::string Message::text() const {
  std::string s;
  for (const auto& p : content)
    if (p.kind == ContentPart::Kind::kText) s += p.text;
  return s;
}

bool Message::text_only() const {
  for (const auto& p : content)
    if (p.kind != ContentPart::Kind::kText) return false;
  return true;
}

}  // namespace onprem::protocol
