// The cost ledger: one row per routed request in SQLite (WAL, synchronous=NORMAL), so a restart
// loses nothing that was recorded. Sums by key, team, backend and day, and the savings against
// sending every request to the reference API. Thread-safe (one connection behind a mutex).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "chat/pyjson.h"
#include "core/status.h"

struct sqlite3;

namespace onprem::router {

struct LedgerEntry {
  int64_t ts_ms = 0;  // wall clock at the end of the request
  std::string key, team, user, backend, rule, data_class, api;
  int status = 0;  // HTTP status returned to the client
  bool stream = false;
  int64_t tokens_in = 0, tokens_out = 0;
  double latency_ms = 0, ttfb_ms = 0;
  double cost_usd = 0;      // what this request cost where it ran
  double api_cost_usd = 0;  // what it would have cost on the reference API
  int attempts = 1;
};

class Ledger {
 public:
  static core::Expected<std::unique_ptr<Ledger>> open(const std::string& path);
  ~Ledger();
  core::Status record(const LedgerEntry& e);
  // {"total": {...}, "by_key": [...], "by_team": [...], "by_backend": [...], "by_day": [...]}; each
  // group has requests, tokens_in, tokens_out, cost_usd, api_cost_usd, savings_usd, mean latency.
  // Totals and groups since since_ms; with key_name, only that key's requests.
  core::Expected<chat::Json> summary(int64_t since_ms = 0, const std::string& key_name = "");
  double spent_by_key(const std::string& key_name);  // keys are recorded by name, never the secret

 private:
  Ledger() = default;
  std::mutex mu_;
  sqlite3* db_ = nullptr;
};

}  // namespace onprem::router
