#include "router/policy.h"

#include <algorithm>

namespace onprem::router {

using chat::Json;

namespace {

bool in(const std::vector<std::string>& list, const std::string& v) {
  return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
}

}  // namespace

bool rule_matches(const RuleConditions& c, const RequestFeatures& f) {
  if (c.prompt_tokens_over && !(f.prompt_tokens > *c.prompt_tokens_over)) return false;
  if (c.prompt_tokens_at_most && !(f.prompt_tokens <= *c.prompt_tokens_at_most)) return false;
  if (c.output_tokens_over && !(f.output_tokens > *c.output_tokens_over)) return false;
  if (c.context_over && !(f.context_tokens > *c.context_over)) return false;
  if (c.context_at_most && !(f.context_tokens <= *c.context_at_most)) return false;
  if (c.tools && *c.tools != f.tools) return false;
  if (c.thinking && *c.thinking != f.thinking) return false;
  if (!in(c.tool_choice, f.tool_choice) || !in(c.latency, f.latency)) return false;
  if (!in(c.data_class, data_class_name(f.data_class))) return false;
  if (!in(c.model, f.model) || !in(c.workload, f.workload)) return false;
  if (!in(c.team, f.team) || !in(c.user, f.user) || !in(c.key, f.key_name)) return false;
  return true;
}

Decision decide(const RouterConfig& cfg, const RequestFeatures& f, const KeyConfig* key) {
  Decision d;
  for (const auto& r : cfg.rules)
    if (rule_matches(r.when, f)) {
      d.rule = &r;
      break;
    }
  if (!d.rule) {
    d.error_status = 400;
    d.error = "no routing rule matches this request (add a last rule without conditions)";
    return d;
  }
  const bool stay = must_stay_on_premises(f.data_class);
  // Walks a fallback chain from `start`, keeping what the guards allow.
  auto walk = [&](const std::string& start) {
    for (const BackendConfig* b = cfg.backend(start); b; b = cfg.backend(b->fallback)) {
      if (std::find(d.chain.begin(), d.chain.end(), b->name) != d.chain.end()) continue;
      if (stay && !b->on_premises) {
        d.sovereignty_applied = true;
        d.skipped.push_back({b->name, std::string("off premises; the request is ") + data_class_name(f.data_class)});
      } else if (key && !key->allowed_backends.empty() &&
                 std::find(key->allowed_backends.begin(), key->allowed_backends.end(), b->name) ==
                     key->allowed_backends.end()) {
        d.skipped.push_back({b->name, "not allowed for key " + key->name});
      } else if (b->max_context > 0 && f.context_tokens > b->max_context) {
        d.skipped.push_back({b->name, "context " + std::to_string(f.context_tokens) + " > max_context " +
                                          std::to_string(b->max_context)});
      } else {
        d.chain.push_back(b->name);
      }
    }
  };
  walk(d.rule->target);
  if (d.chain.empty() && d.sovereignty_applied && !cfg.sovereign_target.empty()) walk(cfg.sovereign_target);
  if (d.chain.empty()) {
    if (d.sovereignty_applied) {
      d.error_status = 403;
      d.error = std::string("this request is classed ") + data_class_name(f.data_class) +
                " and may not leave the premises, and no on-premises backend can take it (rule '" + d.rule->name + "')";
    } else {
      d.error_status = 400;
      d.error = "no backend can take this request (rule '" + d.rule->name + "'):";
      for (const auto& s : d.skipped) d.error += " " + s.backend + ": " + s.reason + ";";
    }
  }
  return d;
}

Json explain_json(const RequestFeatures& f, const Decision& d) {
  Json features = {{"api", f.shape == ApiShape::kOpenAI ? "openai" : "anthropic"},
                   {"model", f.model},
                   {"prompt_tokens", f.prompt_tokens},
                   {"prompt_tokens_counted", f.prompt_tokens_counted},
                   {"output_tokens", f.output_tokens},
                   {"context_tokens", f.context_tokens},
                   {"tools", f.tools},
                   {"tool_choice", f.tool_choice},
                   {"thinking", f.thinking},
                   {"stream", f.stream},
                   {"latency", f.latency},
                   {"workload", f.workload},
                   {"team", f.team},
                   {"user", f.user},
                   {"key", f.key_name},
                   {"declared_data_class", data_class_name(f.declared_class)},
                   {"data_class", data_class_name(f.data_class)}};
  Json pii = Json::array();
  for (const auto& p : f.pii) pii.push_back({{"kind", p.kind}, {"offset", p.offset}, {"length", p.length}});
  features["pii"] = pii;
  Json skipped = Json::array();
  for (const auto& s : d.skipped) skipped.push_back({{"backend", s.backend}, {"reason", s.reason}});
  Json out = {{"features", features},
              {"rule", d.rule ? Json(d.rule->name) : Json()},
              {"why", d.rule ? Json(d.rule->why) : Json()},
              {"rule_target", d.rule ? Json(d.rule->target) : Json()},
              {"backend", d.chain.empty() ? Json() : Json(d.chain.front())},
              {"chain", d.chain},
              {"skipped", skipped},
              {"sovereignty_applied", d.sovereignty_applied}};
  if (d.error_status) out["error"] = {{"status", d.error_status}, {"message", d.error}};
  return out;
}

}  // namespace onprem::router
