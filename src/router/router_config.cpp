#include "router/router_config.h"

#include <cctype>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "planner/tco.h"

namespace onprem::router {

using nlohmann::json;

const char* data_class_name(DataClass c) {
  switch (c) {
    case DataClass::kPublic:
      return "public";
    case DataClass::kInternal:
      return "internal";
    case DataClass::kConfidential:
      return "confidential";
    case DataClass::kRegulated:
      return "regulated";
  }
  return "internal";
}

std::optional<DataClass> parse_data_class(const std::string& s) {
  std::string lower = s;
  for (char& ch : lower) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  while (!lower.empty() && lower.back() == ' ') lower.pop_back();
  while (!lower.empty() && lower.front() == ' ') lower.erase(lower.begin());
  for (DataClass c : {DataClass::kPublic, DataClass::kInternal, DataClass::kConfidential, DataClass::kRegulated})
    if (lower == data_class_name(c)) return c;
  return std::nullopt;
}

const char* backend_kind_name(BackendKind k) {
  switch (k) {
    case BackendKind::kOnprem:
      return "onprem";
    case BackendKind::kOpenAI:
      return "openai";
    case BackendKind::kAnthropic:
      return "anthropic";
  }
  return "onprem";
}

const BackendConfig* RouterConfig::backend(const std::string& name) const {
  for (const auto& b : backends)
    if (b.name == name) return &b;
  return nullptr;
}

const KeyConfig* RouterConfig::key(const std::string& k) const {
  for (const auto& c : keys)
    if (!k.empty() && c.key == k) return &c;
  return nullptr;
}

namespace {

core::Error bad(const std::string& where, const std::string& what) {
  return core::make_error(core::ErrorCode::kInvalidArgument, where + ": " + what);
}

// Typed field readers: absent keeps the default, a wrong type is an error naming the field.
struct Reader {
  const json& j;
  std::string where;
  std::optional<core::Error> err;

  void fail(const std::string& key, const std::string& what) {
    if (!err) err = bad(where + "." + key, what);
  }
  template <typename T>
  void get(const char* key, T* out) {
    if (!j.contains(key) || j[key].is_null()) return;
    const json& v = j[key];
    if constexpr (std::is_same_v<T, bool>) {
      if (!v.is_boolean()) return fail(key, "expected true or false");
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!v.is_string()) return fail(key, "expected a string");
    } else if constexpr (std::is_integral_v<T>) {
      if (!v.is_number_integer()) return fail(key, "expected an integer");
    } else {
      if (!v.is_number()) return fail(key, "expected a number");
    }
    *out = v.get<T>();
  }
  void get_opt_int(const char* key, std::optional<int64_t>* out) {
    if (!j.contains(key)) return;
    int64_t v = 0;
    get(key, &v);
    *out = v;
  }
  void get_opt_bool(const char* key, std::optional<bool>* out) {
    if (!j.contains(key)) return;
    bool v = false;
    get(key, &v);
    *out = v;
  }
  void get_list(const char* key, std::vector<std::string>* out) {
    if (!j.contains(key)) return;
    const json& v = j[key];
    if (v.is_string()) return out->push_back(v.get<std::string>());
    if (!v.is_array()) return fail(key, "expected a string or a list of strings");
    for (const auto& s : v) {
      if (!s.is_string()) return fail(key, "expected a list of strings");
      out->push_back(s.get<std::string>());
    }
  }
  // Keys we do not know are typos until proven otherwise.
  void only(std::initializer_list<const char*> known) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      bool ok = false;
      for (const char* k : known) ok = ok || it.key() == k;
      if (!ok) fail(it.key(), "unknown field");
    }
  }
};

std::string resolve(const std::string& base_dir, const std::string& p) {
  if (p.empty() || p[0] == '/' || base_dir.empty()) return p;
  return base_dir + "/" + p;
}

std::optional<core::Error> read_backend(const json& j, const std::string& base_dir, BackendConfig* b) {
  Reader r{j, "backends[?]", {}};
  if (!j.is_object()) return bad("backends", "each backend must be an object");
  r.get("name", &b->name);
  r.where = "backends[" + b->name + "]";
  r.only({"name", "kind", "urls", "url", "model", "on_premises", "max_concurrency", "max_context", "fallback",
          "timeout_s", "api_key_file", "api_key_env", "usd_per_mtok_in", "usd_per_mtok_out", "usd_per_hour", "tco",
          "health_path", "ca_file", "why"});
  std::string kind = "onprem";
  r.get("kind", &kind);
  r.get_list("urls", &b->urls);
  r.get_list("url", &b->urls);
  r.get("model", &b->model);
  r.get("on_premises", &b->on_premises);
  r.get("max_concurrency", &b->max_concurrency);
  r.get("max_context", &b->max_context);
  r.get("fallback", &b->fallback);
  r.get("timeout_s", &b->timeout_s);
  r.get("api_key_file", &b->api_key_file);
  r.get("api_key_env", &b->api_key_env);
  r.get("usd_per_mtok_in", &b->usd_per_mtok_in);
  r.get("usd_per_mtok_out", &b->usd_per_mtok_out);
  r.get("usd_per_hour", &b->usd_per_hour);
  if (kind == "anthropic") b->health_path = "";
  r.get("health_path", &b->health_path);
  r.get("ca_file", &b->ca_file);
  if (r.err) return r.err;
  if (b->name.empty()) return bad("backends", "every backend needs a name");
  if (kind == "onprem")
    b->kind = BackendKind::kOnprem;
  else if (kind == "openai")
    b->kind = BackendKind::kOpenAI;
  else if (kind == "anthropic")
    b->kind = BackendKind::kAnthropic;
  else
    return bad(r.where + ".kind", "'" + kind + "' is not one of onprem, openai, anthropic");
  if (b->urls.empty()) return bad(r.where + ".urls", "at least one replica URL is required");
  for (const auto& u : b->urls)
    if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0)
      return bad(r.where + ".urls", "'" + u + "' must start with http:// or https://");
  if (b->max_concurrency < 1) return bad(r.where + ".max_concurrency", "must be at least 1");
  if (b->timeout_s <= 0) return bad(r.where + ".timeout_s", "must be positive");
  // The on-premises hourly cost may come from the planner's TCO inputs instead of a number.
  if (j.contains("tco")) {
    const json& t = j["tco"];
    if (!t.is_object()) return bad(r.where + ".tco", "expected an object of planner TCO inputs");
    planner::TcoInputs in;
    Reader tr{t, r.where + ".tco", {}};
    tr.only({"hardware_usd", "depreciation_years", "power_w", "electricity_usd_per_kwh", "staff_usd_per_month"});
    tr.get("hardware_usd", &in.hardware_usd);
    tr.get("depreciation_years", &in.depreciation_years);
    tr.get("power_w", &in.power_w);
    tr.get("electricity_usd_per_kwh", &in.electricity_usd_per_kwh);
    tr.get("staff_usd_per_month", &in.staff_usd_per_month);
    if (tr.err) return tr.err;
    const planner::TcoResult res = planner::compute_tco(in);
    b->usd_per_hour = res.onprem_usd_per_month / res.hours_per_month;
  }
  b->api_key_file = resolve(base_dir, b->api_key_file);
  b->ca_file = resolve(base_dir, b->ca_file);
  if (!b->ca_file.empty() && !std::ifstream(b->ca_file))
    return bad(r.where + ".ca_file", "cannot read '" + b->ca_file + "'");
  if (!b->api_key_file.empty()) {
    std::ifstream in(b->api_key_file);
    if (!in) return bad(r.where + ".api_key_file", "cannot read '" + b->api_key_file + "'");
    std::getline(in, b->api_key);
    while (!b->api_key.empty() && (b->api_key.back() == '\r' || b->api_key.back() == ' ')) b->api_key.pop_back();
  } else if (!b->api_key_env.empty()) {
    // Unset is not an error: the backend then answers 401 and the router falls back; `onprem
    // route` warns at start.
    const char* v = std::getenv(b->api_key_env.c_str());
    if (v) b->api_key = v;
  }
  return std::nullopt;
}

std::optional<core::Error> read_rule(const json& j, size_t i, Rule* rule) {
  if (!j.is_object()) return bad("rules", "each rule must be an object");
  Reader r{j, "rules[" + std::to_string(i) + "]", {}};
  r.only({"name", "why", "when", "target"});
  r.get("name", &rule->name);
  r.get("why", &rule->why);
  r.get("target", &rule->target);
  if (r.err) return r.err;
  if (rule->name.empty()) rule->name = "rule-" + std::to_string(i);
  if (rule->target.empty()) return bad(r.where + ".target", "every rule names a target backend");
  if (!j.contains("when")) return std::nullopt;
  if (!j["when"].is_object()) return bad(r.where + ".when", "expected an object of conditions");
  Reader w{j["when"], r.where + ".when", {}};
  w.only({"prompt_tokens_over", "prompt_tokens_at_most", "output_tokens_over", "context_over", "context_at_most",
          "tools", "thinking", "tool_choice", "latency", "data_class", "model", "workload", "team", "user", "key"});
  RuleConditions& c = rule->when;
  w.get_opt_int("prompt_tokens_over", &c.prompt_tokens_over);
  w.get_opt_int("prompt_tokens_at_most", &c.prompt_tokens_at_most);
  w.get_opt_int("output_tokens_over", &c.output_tokens_over);
  w.get_opt_int("context_over", &c.context_over);
  w.get_opt_int("context_at_most", &c.context_at_most);
  w.get_opt_bool("tools", &c.tools);
  w.get_opt_bool("thinking", &c.thinking);
  w.get_list("tool_choice", &c.tool_choice);
  w.get_list("latency", &c.latency);
  w.get_list("data_class", &c.data_class);
  w.get_list("model", &c.model);
  w.get_list("workload", &c.workload);
  w.get_list("team", &c.team);
  w.get_list("user", &c.user);
  w.get_list("key", &c.key);
  if (w.err) return w.err;
  for (const auto& d : c.data_class)
    if (!parse_data_class(d))
      return bad(w.where + ".data_class", "'" + d + "' is not public, internal, confidential or regulated");
  for (const auto& t : c.tool_choice)
    if (t != "auto" && t != "none" && t != "required" && t != "named")
      return bad(w.where + ".tool_choice", "'" + t + "' is not auto, none, required or named");
  for (const auto& l : c.latency)
    if (l != "interactive" && l != "batch") return bad(w.where + ".latency", "'" + l + "' is not interactive or batch");
  return std::nullopt;
}

std::optional<core::Error> read_key(const json& j, size_t i, KeyConfig* k) {
  if (!j.is_object()) return bad("keys", "each key must be an object");
  Reader r{j, "keys[" + std::to_string(i) + "]", {}};
  r.only({"key", "name", "team", "data_class", "allowed_backends", "budget_usd", "requests_per_minute",
          "tokens_per_minute", "admin"});
  std::string cls = "internal";
  r.get("key", &k->key);
  r.get("name", &k->name);
  r.get("team", &k->team);
  r.get("data_class", &cls);
  r.get_list("allowed_backends", &k->allowed_backends);
  r.get("budget_usd", &k->budget_usd);
  r.get("requests_per_minute", &k->requests_per_minute);
  r.get("tokens_per_minute", &k->tokens_per_minute);
  r.get("admin", &k->admin);
  if (r.err) return r.err;
  if (k->key.empty()) return bad(r.where + ".key", "required");
  if (k->name.empty()) k->name = "key-" + std::to_string(i);
  auto c = parse_data_class(cls);
  if (!c) return bad(r.where + ".data_class", "'" + cls + "' is not public, internal, confidential or regulated");
  k->data_class = *c;
  return std::nullopt;
}

std::optional<core::Error> check_references(const RouterConfig& c) {
  std::set<std::string> names;
  for (const auto& b : c.backends)
    if (!names.insert(b.name).second) return bad("backends", "two backends are named '" + b.name + "'");
  auto known = [&](const std::string& n) { return names.count(n) > 0; };
  for (const auto& b : c.backends) {
    if (!b.fallback.empty() && !known(b.fallback))
      return bad("backends[" + b.name + "].fallback", "no backend named '" + b.fallback + "'");
    // A fallback chain must end: walk it and refuse a cycle.
    std::set<std::string> seen{b.name};
    for (const BackendConfig* f = c.backend(b.fallback); f; f = c.backend(f->fallback))
      if (!seen.insert(f->name).second)
        return bad("backends[" + b.name + "].fallback", "the fallback chain loops back to '" + f->name + "'");
  }
  for (const auto& r : c.rules)
    if (!known(r.target)) return bad("rules[" + r.name + "].target", "no backend named '" + r.target + "'");
  if (!c.sovereign_target.empty()) {
    const BackendConfig* s = c.backend(c.sovereign_target);
    if (!s) return bad("sovereign_target", "no backend named '" + c.sovereign_target + "'");
    if (!s->on_premises) return bad("sovereign_target", "'" + s->name + "' is not on premises");
  }
  std::set<std::string> keys;
  for (const auto& k : c.keys) {
    if (!keys.insert(k.key).second) return bad("keys[" + k.name + "]", "duplicate key");
    for (const auto& a : k.allowed_backends)
      if (!known(a)) return bad("keys[" + k.name + "].allowed_backends", "no backend named '" + a + "'");
  }
  if (c.rules.empty()) return bad("rules", "at least one rule is required (the last one usually has no conditions)");
  return std::nullopt;
}

}  // namespace

core::Expected<RouterConfig> parse_config(const std::string& text, const std::string& base_dir) {
  json j;
  try {
    j = json::parse(text);
  } catch (const std::exception& e) {
    return bad("config", std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) return bad("config", "expected a JSON object");
  RouterConfig c;
  Reader r{j, "config", {}};
  r.only({"listen",
          "ledger",
          "tokenizer",
          "backends",
          "rules",
          "sovereign_target",
          "keys",
          "reference_api",
          "default_max_tokens",
          "retries",
          "backoff_ms",
          "connect_timeout_s",
          "queue_timeout_s",
          "health_interval_s",
          "health_failures",
          "breaker_failures",
          "breaker_open_s",
          "affinity_slack",
          "http_threads",
          "header_timeout_s",
          "body_timeout_s",
          "comment"});
  r.get("ledger", &c.ledger_path);
  r.get("tokenizer", &c.tokenizer);
  r.get("sovereign_target", &c.sovereign_target);
  r.get("default_max_tokens", &c.default_max_tokens);
  r.get("retries", &c.retries);
  r.get("backoff_ms", &c.backoff_ms);
  r.get("connect_timeout_s", &c.connect_timeout_s);
  r.get("queue_timeout_s", &c.queue_timeout_s);
  r.get("health_interval_s", &c.health_interval_s);
  r.get("health_failures", &c.health_failures);
  r.get("breaker_failures", &c.breaker_failures);
  r.get("breaker_open_s", &c.breaker_open_s);
  r.get("affinity_slack", &c.affinity_slack);
  r.get("http_threads", &c.http_threads);
  r.get("header_timeout_s", &c.read_deadlines.header_s);
  r.get("body_timeout_s", &c.read_deadlines.body_s);
  if (r.err) return *r.err;
  if (j.contains("listen")) {
    Reader l{j["listen"], "config.listen", {}};
    if (!j["listen"].is_object()) return bad("config.listen", "expected {\"host\", \"port\"}");
    l.only({"host", "port"});
    l.get("host", &c.host);
    l.get("port", &c.port);
    if (l.err) return *l.err;
  }
  if (j.contains("reference_api")) {
    Reader p{j["reference_api"], "config.reference_api", {}};
    if (!j["reference_api"].is_object()) return bad("config.reference_api", "expected an object");
    p.only({"usd_per_mtok_in", "usd_per_mtok_out", "why"});
    p.get("usd_per_mtok_in", &c.reference_usd_per_mtok_in);
    p.get("usd_per_mtok_out", &c.reference_usd_per_mtok_out);
    if (p.err) return *p.err;
  }
  c.ledger_path = resolve(base_dir, c.ledger_path);
  c.tokenizer = resolve(base_dir, c.tokenizer);
  if (!j.contains("backends") || !j["backends"].is_array() || j["backends"].empty())
    return bad("config.backends", "a non-empty list of backends is required");
  for (const auto& b : j["backends"]) {
    c.backends.emplace_back();
    if (auto e = read_backend(b, base_dir, &c.backends.back())) return *e;
  }
  if (j.contains("rules")) {
    if (!j["rules"].is_array()) return bad("config.rules", "expected a list");
    for (size_t i = 0; i < j["rules"].size(); ++i) {
      c.rules.emplace_back();
      if (auto e = read_rule(j["rules"][i], i, &c.rules.back())) return *e;
    }
  }
  if (j.contains("keys")) {
    if (!j["keys"].is_array()) return bad("config.keys", "expected a list");
    for (size_t i = 0; i < j["keys"].size(); ++i) {
      c.keys.emplace_back();
      if (auto e = read_key(j["keys"][i], i, &c.keys.back())) return *e;
    }
  }
  if (c.retries < 0 || c.backoff_ms < 0 || c.breaker_failures < 1 || c.http_threads < 1 || c.health_failures < 1)
    return bad("config",
               "retries and backoff_ms must be >= 0, breaker_failures, health_failures and http_threads >= 1");
  if (!(c.read_deadlines.header_s > 0) || !(c.read_deadlines.body_s > 0))
    return bad("config", "header_timeout_s and body_timeout_s must be > 0");
  if (auto e = check_references(c)) return *e;
  return c;
}

core::Expected<RouterConfig> load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return core::make_error(core::ErrorCode::kIo, "cannot read router config '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  const size_t slash = path.rfind('/');
  auto c = parse_config(ss.str(), slash == std::string::npos ? "." : path.substr(0, slash));
  if (!c) {
    core::Error e = c.error();
    e.where = path;
    return e;
  }
  return c;
}

}  // namespace onprem::router
