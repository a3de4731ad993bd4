// The policy: the first rule whose conditions all hold names a target; the target's fallback
// chain follows. Then the guards, which no rule can override: confidential and regulated data
// never reach an off-premises backend, a key reaches only its allowed backends, and a backend
// whose max_context is below the request's context is skipped. Pure functions of config + features.
#pragma once

#include <string>
#include <vector>

#include "chat/pyjson.h"
#include "router/router_config.h"
#include "router/features.h"

namespace onprem::router {

struct Skipped {
  std::string backend, reason;
};

struct Decision {
  const Rule* rule = nullptr;        // null only if no rule matched
  std::vector<std::string> chain;    // backends to try, in order (fallbacks included)
  std::vector<Skipped> skipped;      // what the guards removed, and why
  bool sovereignty_applied = false;  // the rule named an off-premises backend for data that must stay
  int error_status = 0;              // non-zero: refuse with this status and message
  std::string error;
};

bool rule_matches(const RuleConditions& c, const RequestFeatures& f);
Decision decide(const RouterConfig& cfg, const RequestFeatures& f, const KeyConfig* key);

// The explain endpoint's body: features, the rule, the chain, what was skipped.
chat::Json explain_json(const RequestFeatures& f, const Decision& d);

}  // namespace onprem::router
