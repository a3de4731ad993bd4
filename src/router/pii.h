// A detector for personal data in request text. It only ever raises a request's data class:
// e-mail addresses (internationalised, and spelled out: "name at example dot com") and phone
// numbers make it confidential; Korean resident registration numbers and payment card numbers
// (Luhn check digit valid) make it regulated. Linear in the text. It reads text as given: the
// guard first normalises it and reads every field (pii_scan.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "router/router_config.h"

namespace onprem::router {

struct PiiFinding {
  std::string kind;  // email, phone, kr_rrn, card
  size_t offset = 0, length = 0;
};

std::vector<PiiFinding> find_pii(std::string_view text);
DataClass pii_class(const std::vector<PiiFinding>& findings);  // public if none
bool luhn_valid(std::string_view digits);

}  // namespace onprem::router
