// The router's configuration: backends (replica sets), ordered rules, keys, prices, reliability
// settings. Read from one JSON file; every field is checked and a bad file gets an error naming
// the field. Plain data: the policy, the picker and the ledger read it, nothing writes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/read_deadlines.h"
#include "core/status.h"

namespace onprem::router {

// Ordered by sensitivity: a request's class only ever goes up (header, key default, detector).
enum class DataClass { kPublic = 0, kInternal = 1, kConfidential = 2, kRegulated = 3 };
const char* data_class_name(DataClass c);
std::optional<DataClass> parse_data_class(const std::string& s);
inline bool must_stay_on_premises(DataClass c) { return c >= DataClass::kConfidential; }

enum class BackendKind { kOnprem, kOpenAI, kAnthropic };
const char* backend_kind_name(BackendKind k);

struct BackendConfig {
  std::string name;
  BackendKind kind = BackendKind::kOnprem;
  std::vector<std::string> urls;          // replicas, "http://host:port" or "https://..."
  std::string model;                      // model name sent upstream ("" = the client's)
  bool on_premises = true;                // false: data leaves the organisation (the sovereignty guard)
  int max_concurrency = 8;                // per replica; all replicas full = saturated -> fallback
  int64_t max_context = 0;                // prompt + output tokens this backend takes (0 = no limit)
  std::string fallback;                   // backend to use when this one is saturated, down or too small
  double timeout_s = 600;                 // read timeout per upstream call
  std::string api_key_file, api_key_env;  // upstream credential (Anthropic / OpenAI-compatible)
  std::string api_key;                    // resolved at load
  std::string ca_file;                    // PEM CA bundle for an https backend with a private CA ("" = the system's)
  double usd_per_mtok_in = 0, usd_per_mtok_out = 0;  // API prices
  double usd_per_hour = 0;              // on-premises: one replica's cost per hour (from the planner's TCO)
  std::string health_path = "/health";  // "" = no active health checks
};

// One rule: every condition present must hold. Absent conditions match anything.
struct RuleConditions {
  std::optional<int64_t> prompt_tokens_over, prompt_tokens_at_most;
  std::optional<int64_t> output_tokens_over, context_over, context_at_most;
  std::optional<bool> tools, thinking;
  std::vector<std::string> tool_choice;  // auto, none, required, named
  std::vector<std::string> latency;      // interactive, batch
  std::vector<std::string> data_class;   // public, internal, confidential, regulated
  std::vector<std::string> model;        // requested model names or aliases
  std::vector<std::string> workload;     // x-onprem-workload / metadata.workload
  std::vector<std::string> team, user, key;
};

struct Rule {
  std::string name, why;
  RuleConditions when;
  std::string target;
};

struct KeyConfig {
  std::string key, name, team;
  DataClass data_class = DataClass::kInternal;
  std::vector<std::string> allowed_backends;               // empty: all
  double budget_usd = 0;                                   // 0: none; spend is read from the ledger
  int64_t requests_per_minute = 0, tokens_per_minute = 0;  // 0: unlimited
  bool admin = false;  // reads the whole ledger and the replicas' URLs; other keys see their own rows only
};

struct RouterConfig {
  std::string host = "127.0.0.1";
  int port = 8090;
  api::ReadDeadlines read_deadlines;  // header_timeout_s, body_timeout_s
  int http_threads = 1024;  // most at once, one per open connection: slow or idle clients must not take them all
  std::string ledger_path = "onprem-ledger.sqlite";
  std::string tokenizer;  // GGUF whose vocabulary counts prompt tokens ("" = estimate)
  std::vector<BackendConfig> backends;
  std::vector<Rule> rules;
  std::string sovereign_target;  // where confidential work goes if its rule names an off-premises backend
  std::vector<KeyConfig> keys;   // empty: no authentication, anonymous requests are "internal"
  double reference_usd_per_mtok_in = 3.0, reference_usd_per_mtok_out = 15.0;  // "everything to the API"
  int64_t default_max_tokens = 4096;  // sent to the Anthropic API when the client set none
  int retries = 2;                    // extra attempts per backend on connect errors / 5xx before the first byte
  int backoff_ms = 100;               // doubled per attempt
  double connect_timeout_s = 2;
  double queue_timeout_s = 30;  // every backend of a request's chain saturated: wait this long for a slot, then 429
  double health_interval_s = 2;
  int health_failures = 3;    // consecutive failed checks before a replica is out (a busy server may answer late)
  int breaker_failures = 3;   // consecutive failures that open a replica's breaker
  double breaker_open_s = 5;  // then one trial request (half-open)
  int affinity_slack = 2;     // stay on the conversation's replica unless it has this many more outstanding

  const BackendConfig* backend(const std::string& name) const;
  const KeyConfig* key(const std::string& k) const;
};

// Parses and validates (unknown backend names in rules and fallbacks, fallback cycles, bad
// classes, URLs, duplicate names). Relative paths (ledger, key files, tokenizer) resolve against base_dir.
core::Expected<RouterConfig> parse_config(const std::string& json_text, const std::string& base_dir);
core::Expected<RouterConfig> load_config(const std::string& path);

}  // namespace onprem::router
