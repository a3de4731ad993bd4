#include "protocol/json_text.h"

namespace onprem::protocol {

std::string json_text(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string sse_event(const std::string& name, const Json& data) {
  return "event: " + name + "\ndata: " + json_text(data) + "\n\n";
}

std::string sse_data(const Json& data) { return "data: " + json_text(data) + "\n\n"; }

std::string string_field(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

}  // namespace onprem::protocol
