#include "router/ledger.h"

#include <sqlite3.h>

namespace onprem::router {

using chat::Json;

namespace {

core::Error db_error(sqlite3* db, const std::string& what) {
  return core::make_error(core::ErrorCode::kIo, "ledger: " + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ts_ms INTEGER NOT NULL,
  day TEXT NOT NULL,
  key TEXT NOT NULL, team TEXT NOT NULL, user TEXT NOT NULL,
  backend TEXT NOT NULL, rule TEXT NOT NULL, data_class TEXT NOT NULL, api TEXT NOT NULL,
  status INTEGER NOT NULL, stream INTEGER NOT NULL, attempts INTEGER NOT NULL,
  tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL,
  latency_ms REAL NOT NULL, ttfb_ms REAL NOT NULL,
  cost_usd REAL NOT NULL, api_cost_usd REAL NOT NULL);
CREATE INDEX IF NOT EXISTS requests_ts ON requests(ts_ms);
)sql";

}  // namespace

core::Expected<std::unique_ptr<Ledger>> Ledger::open(const std::string& path) {
  std::unique_ptr<Ledger> l(new Ledger());
  if (sqlite3_open_v2(path.c_str(), &l->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK)
    return db_error(l->db_, "cannot open '" + path + "'");
  char* err = nullptr;
  const std::string setup =
      std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;") + kSchema;
  if (sqlite3_exec(l->db_, setup.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    return core::make_error(core::ErrorCode::kIo, "ledger '" + path + "': " + msg);
  }
  return l;
}

Ledger::~Ledger() {
  if (db_) sqlite3_close(db_);
}

core::Status Ledger::record(const LedgerEntry& e) {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3_stmt* st = nullptr;
  const char* sql =
      "INSERT INTO requests (ts_ms, day, key, team, user, backend, rule, data_class, api, status, stream, attempts, "
      "tokens_in, "
      "tokens_out, latency_ms, ttfb_ms, cost_usd, api_cost_usd) VALUES (?, date(? / 1000, 'unixepoch'), ?, ?, ?, ?, ?, "
      "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) return db_error(db_, "prepare insert");
  int i = 1;
  sqlite3_bind_int64(st, i++, e.ts_ms);
  sqlite3_bind_int64(st, i++, e.ts_ms);
  for (const std::string* s : {&e.key, &e.team, &e.user, &e.backend, &e.rule, &e.data_class, &e.api})
    sqlite3_bind_text(st, i++, s->c_str(), int(s->size()), SQLITE_TRANSIENT);
  sqlite3_bind_int(st, i++, e.status);
  sqlite3_bind_int(st, i++, e.stream ? 1 : 0);
  sqlite3_bind_int(st, i++, e.attempts);
  sqlite3_bind_int64(st, i++, e.tokens_in);
  sqlite3_bind_int64(st, i++, e.tokens_out);
  sqlite3_bind_double(st, i++, e.latency_ms);
  sqlite3_bind_double(st, i++, e.ttfb_ms);
  sqlite3_bind_double(st, i++, e.cost_usd);
  sqlite3_bind_double(st, i++, e.api_cost_usd);
  const int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return db_error(db_, "insert");
  return core::ok_status();
}

core::Expected<Json> Ledger::summary(int64_t since_ms, const std::string& key_name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto group = [&](const char* column) -> core::Expected<Json> {
    const std::string sel = column ? std::string(column) + ", " : std::string();
    const std::string sql =
        "SELECT " + sel +
        "COUNT(*), SUM(tokens_in), SUM(tokens_out), SUM(cost_usd), SUM(api_cost_usd), AVG(latency_ms), "
        "SUM(status >= 400) FROM requests WHERE ts_ms >= ?" +
        (key_name.empty() ? std::string() : std::string(" AND key = ?")) +
        (column ? std::string(" GROUP BY ") + column + " ORDER BY " + column : std::string());
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) return db_error(db_, "prepare summary");
    sqlite3_bind_int64(st, 1, since_ms);
    if (!key_name.empty()) sqlite3_bind_text(st, 2, key_name.c_str(), int(key_name.size()), SQLITE_TRANSIENT);
    Json rows = Json::array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      int c = 0;
      Json row = Json::object();
      if (column) {
        const unsigned char* v = sqlite3_column_text(st, c++);
        row[column] = v ? reinterpret_cast<const char*>(v) : "";
      }
      row["requests"] = sqlite3_column_int64(st, c++);
      row["tokens_in"] = sqlite3_column_int64(st, c++);
      row["tokens_out"] = sqlite3_column_int64(st, c++);
      const double cost = sqlite3_column_double(st, c++), api = sqlite3_column_double(st, c++);
      row["cost_usd"] = cost;
      row["api_cost_usd"] = api;
      row["savings_usd"] = api - cost;
      row["mean_latency_ms"] = sqlite3_column_double(st, c++);
      row["failed"] = sqlite3_column_int64(st, c++);
      rows.push_back(row);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_error(db_, "summary");
    return rows;
  };
  Json out = Json::object();
  auto total = group(nullptr);
  if (!total) return total.error();
  out["total"] = total->empty() ? Json::object() : (*total)[0];
  for (const char* col : {"key", "team", "backend", "day"}) {
    auto g = group(col);
    if (!g) return g.error();
    out[std::string("by_") + col] = *g;
  }
  return out;
}

double Ledger::spent_by_key(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT COALESCE(SUM(cost_usd), 0) FROM requests WHERE key = ?", -1, &st, nullptr) !=
      SQLITE_OK)
    return 0;
  sqlite3_bind_text(st, 1, key.c_str(), int(key.size()), SQLITE_TRANSIENT);
  double v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_double(st, 0) : 0;
  sqlite3_finalize(st);
  return v;
}

}  // namespace onprem::router
