#define BOOST_TEST_MODULE store
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <sqlite3.h>
#include <boost/test/unit_test.hpp>

#include "crypto.h"
#include "secret.h"
#include "sqlite_statement.h"
#include "status.h"
#include "store.h"

namespace srconnect {

// Printers for BOOST_TEST failure messages.
std::ostream& operator<<(std::ostream& out, ConnectionState state) {
  return out << StateName(state);
}

std::ostream& operator<<(std::ostream& out, ClaimResult result) {
  switch (result) {
    case ClaimResult::kClaimed:
      return out << "claimed";
    case ClaimResult::kNotFound:
      return out << "not found";
    case ClaimResult::kExpired:
      return out << "expired";
    case ClaimResult::kAlreadyClaimed:
      return out << "already claimed";
  }
  return out << "unknown";
}

std::ostream& operator<<(std::ostream& out, ConsentStatus status) {
  switch (status) {
    case ConsentStatus::kOpen:
      return out << "open";
    case ConsentStatus::kInProgress:
      return out << "in_progress";
    case ConsentStatus::kSucceeded:
      return out << "succeeded";
    case ConsentStatus::kFailed:
      return out << "failed";
  }
  return out << "unknown";
}

namespace {

constexpr int64_t kBusyTimeoutMs = 10000;

const std::string& OldKey() {
  static const std::string key(kKeyBytes, '\x11');
  return key;
}

const std::string& NewKey() {
  static const std::string key(kKeyBytes, '\x22');
  return key;
}

// A fresh directory under the system temporary directory, removed with
// everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "store_test.XXXXXX").string();
    BOOST_TEST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  std::string File(std::string_view name) const {
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

std::unique_ptr<Store> OpenStore(const std::string& path, const KeyRing* keys) {
  Result<std::unique_ptr<Store>> store =
      Store::Open(path, keys, kBusyTimeoutMs);
  BOOST_TEST_REQUIRE(store.ok(), store.error());
  return std::move(*store);
}

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const {
    sqlite3_finalize(statement);
  }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

// Prepares `sql` on `db` and binds `params` to ?1, ?2, ...
StatementPtr PrepareRaw(sqlite3* db, const std::string& sql,
                        std::initializer_list<int64_t> params) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr);
  StatementPtr statement(raw);
  BOOST_TEST_REQUIRE(rc == SQLITE_OK, sqlite3_errmsg(db));
  int index = 1;
  for (int64_t param : params) {
    BOOST_TEST_REQUIRE(sqlite3_bind_int64(raw, index++, param) == SQLITE_OK);
  }
  return statement;
}

// Runs `sql` and returns SQLite's result code. `message`, when given,
// receives sqlite3_errmsg().
int ExecRaw(sqlite3* db, const std::string& sql,
            std::initializer_list<int64_t> params = {},
            std::string* message = nullptr) {
  StatementPtr statement = PrepareRaw(db, sql, params);
  int rc;
  while ((rc = sqlite3_step(statement.get())) == SQLITE_ROW) {
  }
  if (message != nullptr) *message = sqlite3_errmsg(db);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

// Returns the first column of the first row as text, "" for NULL or no row.
std::string QueryText(sqlite3* db, const std::string& sql,
                      std::initializer_list<int64_t> params = {}) {
  StatementPtr statement = PrepareRaw(db, sql, params);
  if (sqlite3_step(statement.get()) != SQLITE_ROW) return "";
  const unsigned char* text = sqlite3_column_text(statement.get(), 0);
  return text == nullptr ? "" : reinterpret_cast<const char*>(text);
}

// Returns the first column of every row as text.
std::vector<std::string> QueryColumn(sqlite3* db, const std::string& sql) {
  StatementPtr statement = PrepareRaw(db, sql, {});
  std::vector<std::string> values;
  while (sqlite3_step(statement.get()) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(statement.get(), 0);
    values.emplace_back(text == nullptr ? ""
                                        : reinterpret_cast<const char*>(text));
  }
  return values;
}

int64_t QueryInt(sqlite3* db, const std::string& sql,
                 std::initializer_list<int64_t> params = {}) {
  StatementPtr statement = PrepareRaw(db, sql, params);
  BOOST_TEST_REQUIRE(sqlite3_step(statement.get()) == SQLITE_ROW,
                     sqlite3_errmsg(db));
  return sqlite3_column_int64(statement.get(), 0);
}

struct DatabaseCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DatabasePtr = std::unique_ptr<sqlite3, DatabaseCloser>;

// Opens `path` on a connection of its own. It has no busy timeout, so a
// call that would wait for another connection returns at once.
DatabasePtr OpenRaw(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  DatabasePtr db(raw);
  BOOST_TEST_REQUIRE(rc == SQLITE_OK, sqlite3_errstr(rc));
  return db;
}

// Returns the prepared statements of `db` whose SQL text contains
// `fragment`, or all of them for an empty fragment.
std::vector<sqlite3_stmt*> PreparedStatements(sqlite3* db,
                                              std::string_view fragment = "") {
  std::vector<sqlite3_stmt*> statements;
  for (sqlite3_stmt* statement = sqlite3_next_stmt(db, nullptr);
       statement != nullptr; statement = sqlite3_next_stmt(db, statement)) {
    const char* sql = sqlite3_sql(statement);
    if (sql != nullptr &&
        std::string_view(sql).find(fragment) != std::string_view::npos) {
      statements.push_back(statement);
    }
  }
  return statements;
}

// Returns the one prepared statement of `db` whose SQL contains `fragment`.
sqlite3_stmt* OnlyStatement(sqlite3* db, std::string_view fragment) {
  const std::vector<sqlite3_stmt*> statements =
      PreparedStatements(db, fragment);
  BOOST_TEST_REQUIRE(statements.size() == 1u, fragment);
  return statements.front();
}

// Returns how often `statement` ran: each run is one or more steps followed
// by a reset.
int RunCount(sqlite3_stmt* statement) {
  return sqlite3_stmt_status(statement, SQLITE_STMTSTATUS_RUN, 0);
}

int64_t CountAudit(Store& store, int64_t connection_id) {
  Result<std::vector<AuditEntry>> entries =
      store.ListAudit(connection_id, 1000);
  BOOST_TEST_REQUIRE(entries.ok(), entries.error());
  return static_cast<int64_t>(entries->size());
}

AuditEntry NewestAudit(Store& store, int64_t connection_id) {
  Result<std::vector<AuditEntry>> entries = store.ListAudit(connection_id, 1);
  BOOST_TEST_REQUIRE(entries.ok(), entries.error());
  BOOST_TEST_REQUIRE(entries->size() == 1u);
  return entries->front();
}

Connection MustFind(Store& store, int64_t id) {
  Result<std::optional<Connection>> connection = store.FindConnection(id);
  BOOST_TEST_REQUIRE(connection.ok(), connection.error());
  BOOST_TEST_REQUIRE(connection->has_value());
  return **connection;
}

ConnectionSecrets MustReadSecrets(Store& store, int64_t id) {
  Result<ConnectionSecrets> secrets = store.ReadSecrets(id);
  BOOST_TEST_REQUIRE(secrets.ok(), secrets.error());
  return std::move(*secrets);
}

// A hex state id like the ones the start handler derives.
std::string StateId(int n) {
  const std::string number = std::to_string(n);
  return "5a7e" + std::string(60 - number.size(), '0') + number;
}

// A store in a fresh temporary directory, sealing with OldKey().
struct StoreFixture {
  StoreFixture()
      : keys(KeyRing::FromKeys(OldKey())),
        path(dir.File("srconnect.db")),
        store(OpenStore(path, &keys)) {}

  // Stores credentials derived from `company` for `account`, with a token
  // that expires at `expires_at`.
  int64_t Connect(std::string_view account, std::string_view company,
                  int64_t now = 1000, int64_t expires_at = 4600,
                  std::string_view token_suffix = "") {
    const std::string company_id(company);
    Result<int64_t> id = store->StoreCredentials(
        account, company, "client-id-" + company_id,
        Secret("client-secret-" + company_id),
        Secret("access-token-" + company_id + std::string(token_suffix)),
        expires_at, now, "callback", "connected");
    BOOST_TEST_REQUIRE(id.ok(), id.error());
    return *id;
  }

  // Takes the lease as "refresh-test" and records a failure.
  void Fail(int64_t id, ConnectionState state, std::string_view reason,
            int64_t next_attempt_at, int64_t now) {
    Result<bool> leased =
        store->AcquireLease(id, "refresh-test", now, now + 60);
    BOOST_TEST_REQUIRE(leased.ok(), leased.error());
    BOOST_TEST_REQUIRE(*leased);
    Status recorded = store->RecordFailure(id, "refresh-test", state, reason,
                                           next_attempt_at, now);
    BOOST_TEST_REQUIRE(recorded.ok(), recorded.message());
  }

  sqlite3* db() { return store->db(); }

  TempDir dir;
  KeyRing keys;
  std::string path;
  std::unique_ptr<Store> store;
};

BOOST_AUTO_TEST_SUITE(schema)

BOOST_AUTO_TEST_CASE(migrates_empty_database) {
  StoreFixture fixture;
  Result<int> version = fixture.store->SchemaVersion();
  BOOST_TEST_REQUIRE(version.ok(), version.error());
  BOOST_TEST(*version == 1);
  BOOST_TEST(QueryInt(fixture.db(), "PRAGMA user_version") == 1);
  const std::vector<std::string> names =
      QueryColumn(fixture.db(), "SELECT name FROM sqlite_schema");
  for (const char* expected :
       {"connections", "pending_consents", "audit_log", "audit_log_no_update",
        "audit_log_no_delete", "connections_state_token_expires_at"}) {
    BOOST_TEST((std::find(names.begin(), names.end(), expected) != names.end()),
               expected);
  }
}

BOOST_AUTO_TEST_CASE(reopening_keeps_version_and_data) {
  StoreFixture fixture;
  BOOST_TEST_REQUIRE(
      fixture.store->CreatePendingConsent("acct-1", StateId(1), 1000, 1600)
          .ok());
  fixture.store.reset();

  std::unique_ptr<Store> reopened = OpenStore(fixture.path, &fixture.keys);
  Result<int> version = reopened->SchemaVersion();
  BOOST_TEST_REQUIRE(version.ok(), version.error());
  BOOST_TEST(*version == 1);
  Result<std::optional<PendingConsent>> consent =
      reopened->FindPendingConsent(StateId(1));
  BOOST_TEST_REQUIRE(consent.ok(), consent.error());
  BOOST_TEST(consent->has_value());
}

BOOST_AUTO_TEST_CASE(refuses_newer_schema) {
  TempDir dir;
  const std::string path = dir.File("newer.db");
  sqlite3* raw = nullptr;
  BOOST_TEST_REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  BOOST_TEST_REQUIRE(sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr,
                                  nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  KeyRing keys = KeyRing::FromKeys(OldKey());

  Result<std::unique_ptr<Store>> store =
      Store::Open(path, &keys, kBusyTimeoutMs);
  BOOST_TEST_REQUIRE(!store.ok());
  BOOST_TEST(store.error() ==
             "database \"" + path +
                 "\" has schema version 99, newer than this srconnect (1): "
                 "upgrade srconnect or restore a backup");
}

BOOST_AUTO_TEST_CASE(rejects_file_that_is_not_database) {
  TempDir dir;
  const std::string path = dir.File("notes.db");
  std::string text;
  for (int i = 0; i < 200; ++i) text += "this is a text file, not a database\n";
  std::ofstream(path, std::ios::binary) << text;
  KeyRing keys = KeyRing::FromKeys(OldKey());

  Result<std::unique_ptr<Store>> store =
      Store::Open(path, &keys, kBusyTimeoutMs);
  BOOST_TEST_REQUIRE(!store.ok());
  BOOST_TEST(store.error().find("\"" + path + "\"") != std::string::npos,
             store.error());
  BOOST_TEST(store.error().find("not an SQLite database") != std::string::npos,
             store.error());
  BOOST_TEST(ReadFileBytes(path) == text);
}

BOOST_AUTO_TEST_CASE(creates_files_with_mode_0600) {
  // A zero umask shows that the mode comes from the store, not the umask.
  const mode_t saved_umask = ::umask(0);
  StoreFixture fixture;
  Status created =
      fixture.store->CreatePendingConsent("acct-1", StateId(1), 1000, 1600);
  ::umask(saved_umask);
  BOOST_TEST_REQUIRE(created.ok(), created.message());

  for (const std::string& file :
       {fixture.path, fixture.path + "-wal", fixture.path + "-shm"}) {
    struct stat info;
    BOOST_TEST_REQUIRE(::stat(file.c_str(), &info) == 0, file);
    BOOST_TEST((info.st_mode & 0777) == 0600u, file);
  }
}

BOOST_AUTO_TEST_CASE(sets_connection_pragmas) {
  StoreFixture fixture;
  BOOST_TEST(QueryText(fixture.db(), "PRAGMA journal_mode") == "wal");
  BOOST_TEST(QueryInt(fixture.db(), "PRAGMA busy_timeout") == kBusyTimeoutMs);
  BOOST_TEST(QueryInt(fixture.db(), "PRAGMA foreign_keys") == 1);
  // 1 is NORMAL.
  BOOST_TEST(QueryInt(fixture.db(), "PRAGMA synchronous") == 1);
}

BOOST_AUTO_TEST_CASE(rejects_missing_key_ring) {
  TempDir dir;
  Result<std::unique_ptr<Store>> store =
      Store::Open(dir.File("srconnect.db"), nullptr, kBusyTimeoutMs);
  BOOST_TEST(!store.ok());
}

BOOST_AUTO_TEST_CASE(state_names_round_trip) {
  for (ConnectionState state :
       {ConnectionState::kPending, ConnectionState::kConnected,
        ConnectionState::kDegraded, ConnectionState::kNeedsReintegration,
        ConnectionState::kDisconnected}) {
    Result<ConnectionState> parsed = ParseStateName(StateName(state));
    BOOST_TEST_REQUIRE(parsed.ok(), parsed.error());
    BOOST_TEST(*parsed == state);
  }
  BOOST_TEST(StateName(ConnectionState::kNeedsReintegration) ==
             "needs_reintegration");
  BOOST_TEST(!ParseStateName("Connected").ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(consents)

BOOST_AUTO_TEST_CASE(claims_open_consent_once) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  BOOST_TEST_REQUIRE(
      store.CreatePendingConsent("acct-1", StateId(1), 1000, 1600).ok());

  Result<std::optional<PendingConsent>> open =
      store.FindPendingConsent(StateId(1));
  BOOST_TEST_REQUIRE(open.ok(), open.error());
  BOOST_TEST_REQUIRE(open->has_value());
  BOOST_TEST((*open)->account_id == "acct-1");
  BOOST_TEST((*open)->status == ConsentStatus::kOpen);
  BOOST_TEST((*open)->created_at == 1000);
  BOOST_TEST((*open)->expires_at == 1600);
  BOOST_TEST((*open)->company_id == "");

  Result<ClaimResult> first = store.ClaimPendingConsent(StateId(1), "C1", 1100);
  BOOST_TEST_REQUIRE(first.ok(), first.error());
  BOOST_TEST(*first == ClaimResult::kClaimed);
  Result<ClaimResult> second =
      store.ClaimPendingConsent(StateId(1), "C2", 1101);
  BOOST_TEST_REQUIRE(second.ok(), second.error());
  BOOST_TEST(*second == ClaimResult::kAlreadyClaimed);

  Result<std::optional<PendingConsent>> claimed =
      store.FindPendingConsent(StateId(1));
  BOOST_TEST_REQUIRE(claimed.ok(), claimed.error());
  BOOST_TEST_REQUIRE(claimed->has_value());
  BOOST_TEST((*claimed)->status == ConsentStatus::kInProgress);
  BOOST_TEST((*claimed)->company_id == "C1");
}

BOOST_AUTO_TEST_CASE(reports_expired_consent) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  BOOST_TEST_REQUIRE(
      store.CreatePendingConsent("acct-1", StateId(1), 1000, 1600).ok());

  Result<ClaimResult> at_expiry =
      store.ClaimPendingConsent(StateId(1), "C1", 1600);
  BOOST_TEST_REQUIRE(at_expiry.ok(), at_expiry.error());
  BOOST_TEST(*at_expiry == ClaimResult::kExpired);

  Result<std::optional<PendingConsent>> consent =
      store.FindPendingConsent(StateId(1));
  BOOST_TEST_REQUIRE(consent.ok(), consent.error());
  BOOST_TEST_REQUIRE(consent->has_value());
  BOOST_TEST((*consent)->status == ConsentStatus::kOpen);
}

BOOST_AUTO_TEST_CASE(reports_unknown_consent) {
  StoreFixture fixture;
  Result<ClaimResult> claim =
      fixture.store->ClaimPendingConsent(StateId(404), "C1", 1000);
  BOOST_TEST_REQUIRE(claim.ok(), claim.error());
  BOOST_TEST(*claim == ClaimResult::kNotFound);

  Result<std::optional<PendingConsent>> consent =
      fixture.store->FindPendingConsent(StateId(404));
  BOOST_TEST_REQUIRE(consent.ok(), consent.error());
  BOOST_TEST(!consent->has_value());
}

BOOST_AUTO_TEST_CASE(rejects_duplicate_state_id) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  BOOST_TEST_REQUIRE(
      store.CreatePendingConsent("acct-1", StateId(1), 1000, 1600).ok());
  Status duplicate =
      store.CreatePendingConsent("acct-2", StateId(1), 1000, 1600);
  BOOST_TEST(!duplicate.ok());
  Result<std::optional<Connection>> other =
      store.FindConnectionByAccount("acct-2");
  BOOST_TEST_REQUIRE(other.ok(), other.error());
  BOOST_TEST(!other->has_value());
}

BOOST_AUTO_TEST_CASE(creates_pending_connection_once) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  BOOST_TEST_REQUIRE(
      store.CreatePendingConsent("acct-1", StateId(1), 1000, 1600).ok());
  BOOST_TEST_REQUIRE(
      store.CreatePendingConsent("acct-1", StateId(2), 1100, 1700).ok());

  Result<std::optional<Connection>> found =
      store.FindConnectionByAccount("acct-1");
  BOOST_TEST_REQUIRE(found.ok(), found.error());
  BOOST_TEST_REQUIRE(found->has_value());
  const Connection& connection = **found;
  BOOST_TEST(connection.state == ConnectionState::kPending);
  BOOST_TEST(connection.company_id == "");
  BOOST_TEST(connection.created_at == 1000);
  BOOST_TEST(!connection.has_credentials);

  BOOST_TEST(CountAudit(store, connection.id) == 1);
  const AuditEntry entry = NewestAudit(store, connection.id);
  BOOST_TEST(entry.from_state == "");
  BOOST_TEST(entry.to_state == "pending");
  BOOST_TEST(entry.account_id == "acct-1");
}

BOOST_AUTO_TEST_CASE(new_consent_keeps_connected_state) {
  StoreFixture fixture;
  const int64_t id = fixture.Connect("acct-1", "C1");
  BOOST_TEST_REQUIRE(
      fixture.store->CreatePendingConsent("acct-1", StateId(1), 2000, 2600)
          .ok());
  BOOST_TEST(MustFind(*fixture.store, id).state == ConnectionState::kConnected);
  BOOST_TEST(CountAudit(*fixture.store, id) == 1);
}

BOOST_AUTO_TEST_CASE(deletes_consents_expired_a_day_ago) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  BOOST_TEST_REQUIRE(
      store.CreatePendingConsent("acct-1", StateId(1), 1000, 2000).ok());

  // Expired exactly one day before: kept.
  BOOST_TEST_REQUIRE(store
                         .CreatePendingConsent("acct-2", StateId(2),
                                               2000 + 86400, 2000 + 87000)
                         .ok());
  Result<std::optional<PendingConsent>> kept =
      store.FindPendingConsent(StateId(1));
  BOOST_TEST_REQUIRE(kept.ok(), kept.error());
  BOOST_TEST(kept->has_value());

  BOOST_TEST_REQUIRE(store
                         .CreatePendingConsent("acct-3", StateId(3),
                                               2000 + 86401, 2000 + 87000)
                         .ok());
  Result<std::optional<PendingConsent>> purged =
      store.FindPendingConsent(StateId(1));
  BOOST_TEST_REQUIRE(purged.ok(), purged.error());
  BOOST_TEST(!purged->has_value());
  Result<std::optional<PendingConsent>> recent =
      store.FindPendingConsent(StateId(2));
  BOOST_TEST_REQUIRE(recent.ok(), recent.error());
  BOOST_TEST(recent->has_value());
}

BOOST_AUTO_TEST_CASE(finishes_claimed_consent_once) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  BOOST_TEST_REQUIRE(
      store.CreatePendingConsent("acct-1", StateId(1), 1000, 1600).ok());
  BOOST_TEST(!store.FinishPendingConsent(StateId(1), true, "ok", "").ok());
  BOOST_TEST_REQUIRE(store.ClaimPendingConsent(StateId(1), "C1", 1100).ok());

  Status finished = store.FinishPendingConsent(StateId(1), false,
                                               "setup_failed", "try again");
  BOOST_TEST_REQUIRE(finished.ok(), finished.message());
  Result<std::optional<PendingConsent>> consent =
      store.FindPendingConsent(StateId(1));
  BOOST_TEST_REQUIRE(consent.ok(), consent.error());
  BOOST_TEST_REQUIRE(consent->has_value());
  BOOST_TEST((*consent)->status == ConsentStatus::kFailed);
  BOOST_TEST((*consent)->outcome_code == "setup_failed");
  BOOST_TEST((*consent)->outcome_message == "try again");

  BOOST_TEST(!store.FinishPendingConsent(StateId(1), true, "ok", "").ok());
  BOOST_TEST(!store.FinishPendingConsent(StateId(404), true, "ok", "").ok());
}

BOOST_AUTO_TEST_CASE(claims_once_across_two_stores) {
  StoreFixture fixture;
  std::unique_ptr<Store> other = OpenStore(fixture.path, &fixture.keys);
  BOOST_TEST_REQUIRE(
      fixture.store->CreatePendingConsent("acct-1", StateId(1), 1000, 1600)
          .ok());

  Result<ClaimResult> first =
      other->ClaimPendingConsent(StateId(1), "C1", 1100);
  BOOST_TEST_REQUIRE(first.ok(), first.error());
  BOOST_TEST(*first == ClaimResult::kClaimed);
  Result<ClaimResult> second =
      fixture.store->ClaimPendingConsent(StateId(1), "C1", 1100);
  BOOST_TEST_REQUIRE(second.ok(), second.error());
  BOOST_TEST(*second == ClaimResult::kAlreadyClaimed);
}

// Runs in a forked child: waits for the start signal, claims every consent
// and writes '1' (claimed) or '0' (already claimed) per consent to `out`.
int ClaimAllInChild(const std::string& path, int start_fd, int out_fd,
                    int consents) {
  char byte;
  if (::read(start_fd, &byte, 1) != 0) return 10;
  KeyRing keys = KeyRing::FromKeys(OldKey());
  Result<std::unique_ptr<Store>> store =
      Store::Open(path, &keys, kBusyTimeoutMs);
  if (!store.ok()) return 11;
  std::string results;
  for (int i = 0; i < consents; ++i) {
    Result<ClaimResult> claim =
        (*store)->ClaimPendingConsent(StateId(i), "C1", 1100);
    if (!claim.ok()) return 12;
    if (*claim == ClaimResult::kClaimed) {
      results += '1';
    } else if (*claim == ClaimResult::kAlreadyClaimed) {
      results += '0';
    } else {
      return 13;
    }
  }
  const ssize_t written = ::write(out_fd, results.data(), results.size());
  return written == static_cast<ssize_t>(results.size()) ? 0 : 14;
}

BOOST_AUTO_TEST_CASE(claims_exactly_once_across_processes) {
  constexpr int kConsents = 80;
  constexpr int kProcesses = 4;
  TempDir dir;
  const std::string path = dir.File("srconnect.db");
  {
    KeyRing keys = KeyRing::FromKeys(OldKey());
    std::unique_ptr<Store> store = OpenStore(path, &keys);
    for (int i = 0; i < kConsents; ++i) {
      BOOST_TEST_REQUIRE(store
                             ->CreatePendingConsent("acct-" + std::to_string(i),
                                                    StateId(i), 1000, 1600)
                             .ok());
    }
  }  // An SQLite connection must not be open across fork().

  // Children block on `start` until the parent closes its write end, so
  // they all claim at the same time.
  int start[2];
  BOOST_TEST_REQUIRE(::pipe(start) == 0);
  std::vector<pid_t> children;
  std::vector<int> outputs;
  for (int p = 0; p < kProcesses; ++p) {
    int out[2];
    BOOST_TEST_REQUIRE(::pipe(out) == 0);
    const pid_t pid = ::fork();
    BOOST_TEST_REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(start[1]);
      ::close(out[0]);
      ::_exit(ClaimAllInChild(path, start[0], out[1], kConsents));
    }
    ::close(out[1]);
    children.push_back(pid);
    outputs.push_back(out[0]);
  }
  ::close(start[0]);
  ::close(start[1]);

  std::vector<int> claims(kConsents, 0);
  for (size_t p = 0; p < children.size(); ++p) {
    std::string results;
    char buffer[256];
    ssize_t n;
    while ((n = ::read(outputs[p], buffer, sizeof(buffer))) > 0) {
      results.append(buffer, static_cast<size_t>(n));
    }
    ::close(outputs[p]);
    int status = 0;
    BOOST_TEST_REQUIRE(::waitpid(children[p], &status, 0) == children[p]);
    BOOST_TEST_REQUIRE(WIFEXITED(status));
    BOOST_TEST_REQUIRE(WEXITSTATUS(status) == 0);
    BOOST_TEST_REQUIRE(results.size() == static_cast<size_t>(kConsents));
    for (int i = 0; i < kConsents; ++i) {
      if (results[static_cast<size_t>(i)] == '1')
        ++claims[static_cast<size_t>(i)];
    }
  }
  for (int i = 0; i < kConsents; ++i) {
    BOOST_TEST(claims[static_cast<size_t>(i)] == 1, "consent " << i);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(credentials)

BOOST_AUTO_TEST_CASE(round_trips_secrets) {
  StoreFixture fixture;
  const int64_t id = fixture.Connect("acct-1", "C1", 1000, 4600);

  const ConnectionSecrets secrets = MustReadSecrets(*fixture.store, id);
  BOOST_TEST(secrets.client_id == "client-id-C1");
  BOOST_TEST(secrets.client_secret.Reveal() == "client-secret-C1");
  BOOST_TEST(secrets.access_token.Reveal() == "access-token-C1");

  const Connection connection = MustFind(*fixture.store, id);
  BOOST_TEST(connection.account_id == "acct-1");
  BOOST_TEST(connection.company_id == "C1");
  BOOST_TEST(connection.state == ConnectionState::kConnected);
  BOOST_TEST(connection.reason == "connected");
  BOOST_TEST(connection.connected_since == 1000);
  BOOST_TEST(connection.last_success_at == 1000);
  BOOST_TEST(connection.token_expires_at == 4600);
  BOOST_TEST(connection.failure_count == 0);
  BOOST_TEST(connection.next_attempt_at == 0);
  BOOST_TEST(connection.has_credentials);

  const AuditEntry entry = NewestAudit(*fixture.store, id);
  BOOST_TEST(entry.from_state == "");
  BOOST_TEST(entry.to_state == "connected");
  BOOST_TEST(entry.actor == "callback");
  BOOST_TEST(entry.company_id == "C1");
}

BOOST_AUTO_TEST_CASE(stores_credentials_without_token) {
  StoreFixture fixture;
  Result<int64_t> id = fixture.store->StoreCredentials(
      "acct-1", "C1", "client-id-C1", Secret("client-secret-C1"), Secret(),
      4600, 1000, "callback", "connected");
  BOOST_TEST_REQUIRE(id.ok(), id.error());
  const ConnectionSecrets secrets = MustReadSecrets(*fixture.store, *id);
  BOOST_TEST(secrets.access_token.empty());
  BOOST_TEST(MustFind(*fixture.store, *id).token_expires_at == 0);
}

BOOST_AUTO_TEST_CASE(keeps_no_plaintext_on_disk) {
  StoreFixture fixture;
  const std::string client_id = "cid-6f1c2b9e4d";
  const std::string client_secret = "csec-83a7d0f5e2";
  const std::string token = "tok-b4e9c1a7d3";
  Result<int64_t> id = fixture.store->StoreCredentials(
      "acct-visible-7c3e", "C1", client_id, Secret(client_secret),
      Secret(token), 4600, 1000, "callback", "connected");
  BOOST_TEST_REQUIRE(id.ok(), id.error());

  // While the store is open the new pages are in the -wal file; closing it
  // checkpoints them into the database file.
  for (bool open : {true, false}) {
    if (!open) fixture.store.reset();
    const std::string bytes =
        ReadFileBytes(fixture.path) + ReadFileBytes(fixture.path + "-wal");
    BOOST_TEST(bytes.find("acct-visible-7c3e") != std::string::npos,
               "the scan must see unsealed columns, open " << open);
    BOOST_TEST(bytes.find(client_id) == std::string::npos, "open " << open);
    BOOST_TEST(bytes.find(client_secret) == std::string::npos, "open " << open);
    BOOST_TEST(bytes.find(token) == std::string::npos, "open " << open);
  }
}

BOOST_AUTO_TEST_CASE(rejects_secret_copied_to_another_row) {
  StoreFixture fixture;
  const int64_t first = fixture.Connect("acct-1", "C1");
  const int64_t second = fixture.Connect("acct-2", "C2");
  BOOST_TEST_REQUIRE(
      ExecRaw(fixture.db(),
              "UPDATE connections SET client_secret_sealed = (SELECT "
              "client_secret_sealed FROM connections WHERE id = ?1) "
              "WHERE id = ?2",
              {first, second}) == SQLITE_OK);

  Result<ConnectionSecrets> moved = fixture.store->ReadSecrets(second);
  BOOST_TEST_REQUIRE(!moved.ok());
  BOOST_TEST(moved.error().find("client_secret of connection " +
                                std::to_string(second)) != std::string::npos,
             moved.error());
  BOOST_TEST(moved.error().find("client-secret-") == std::string::npos,
             moved.error());
  BOOST_TEST(fixture.store->ReadSecrets(first).ok());
}

BOOST_AUTO_TEST_CASE(rejects_secret_copied_to_another_column) {
  StoreFixture fixture;
  const int64_t id = fixture.Connect("acct-1", "C1");
  BOOST_TEST_REQUIRE(ExecRaw(fixture.db(),
                             "UPDATE connections SET access_token_sealed = "
                             "client_secret_sealed WHERE id = ?1",
                             {id}) == SQLITE_OK);
  BOOST_TEST(!fixture.store->ReadSecrets(id).ok());
}

BOOST_AUTO_TEST_CASE(reintegration_keeps_id) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  BOOST_TEST_REQUIRE(
      store.CreatePendingConsent("acct-1", StateId(1), 500, 1100).ok());
  Result<std::optional<Connection>> pending =
      store.FindConnectionByAccount("acct-1");
  BOOST_TEST_REQUIRE(pending.ok(), pending.error());
  BOOST_TEST_REQUIRE(pending->has_value());

  const int64_t first = fixture.Connect("acct-1", "C1", 1000, 4600);
  BOOST_TEST(first == (*pending)->id);
  const int64_t again = fixture.Connect("acct-1", "C1", 2000, 5600, "-v2");
  BOOST_TEST(again == first);

  const ConnectionSecrets secrets = MustReadSecrets(store, again);
  BOOST_TEST(secrets.access_token.Reveal() == "access-token-C1-v2");
  const Connection connection = MustFind(store, again);
  BOOST_TEST(connection.connected_since == 2000);
  BOOST_TEST(connection.token_expires_at == 5600);
  // pending, connected, connected again with new credentials
  BOOST_TEST(CountAudit(store, again) == 3);
  Result<std::vector<Connection>> all = store.ListConnections();
  BOOST_TEST_REQUIRE(all.ok(), all.error());
  BOOST_TEST(all->size() == 1u);
}

BOOST_AUTO_TEST_CASE(rejects_company_of_another_live_account) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  const int64_t owner = fixture.Connect("acct-1", "C1");
  BOOST_TEST_REQUIRE(
      store.CreatePendingConsent("acct-2", StateId(2), 1500, 2100).ok());
  const int64_t audit_rows = CountAudit(store, 0);

  Result<int64_t> conflict = store.StoreCredentials(
      "acct-2", "C1", "client-id-x", Secret("client-secret-x"),
      Secret("access-token-x"), 9000, 2000, "callback", "connected");
  BOOST_TEST_REQUIRE(!conflict.ok());
  BOOST_TEST(conflict.error().find("company \"C1\"") != std::string::npos,
             conflict.error());

  Result<std::optional<Connection>> other =
      store.FindConnectionByAccount("acct-2");
  BOOST_TEST_REQUIRE(other.ok(), other.error());
  BOOST_TEST_REQUIRE(other->has_value());
  BOOST_TEST((*other)->state == ConnectionState::kPending);
  BOOST_TEST((*other)->company_id == "");
  BOOST_TEST(!(*other)->has_credentials);
  const Connection owner_connection = MustFind(store, owner);
  BOOST_TEST(owner_connection.company_id == "C1");
  BOOST_TEST(owner_connection.state == ConnectionState::kConnected);
  BOOST_TEST(MustReadSecrets(store, owner).client_id == "client-id-C1");
  BOOST_TEST(CountAudit(store, 0) == audit_rows);
}

BOOST_AUTO_TEST_CASE(moves_company_from_disconnected_account) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  const int64_t old_owner = fixture.Connect("acct-1", "C1");
  BOOST_TEST_REQUIRE(store.Disconnect(old_owner, "removed", "cli", 1500).ok());

  const int64_t new_owner = fixture.Connect("acct-2", "C1", 2000, 5600);
  BOOST_TEST(new_owner != old_owner);
  Result<std::optional<Connection>> by_company =
      store.FindConnectionByCompany("C1");
  BOOST_TEST_REQUIRE(by_company.ok(), by_company.error());
  BOOST_TEST_REQUIRE(by_company->has_value());
  BOOST_TEST((*by_company)->id == new_owner);
  const Connection old_connection = MustFind(store, old_owner);
  BOOST_TEST(old_connection.company_id == "");
  BOOST_TEST(old_connection.state == ConnectionState::kDisconnected);
}

BOOST_AUTO_TEST_CASE(read_secrets_fails_without_credentials) {
  StoreFixture fixture;
  BOOST_TEST_REQUIRE(
      fixture.store->CreatePendingConsent("acct-1", StateId(1), 1000, 1600)
          .ok());
  Result<std::optional<Connection>> pending =
      fixture.store->FindConnectionByAccount("acct-1");
  BOOST_TEST_REQUIRE(pending.ok(), pending.error());
  BOOST_TEST_REQUIRE(pending->has_value());
  BOOST_TEST(!fixture.store->ReadSecrets((*pending)->id).ok());
  BOOST_TEST(!fixture.store->ReadSecrets(999).ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(states)

BOOST_AUTO_TEST_CASE(set_state_audits_each_change_once) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  const int64_t id = fixture.Connect("acct-1", "C1");
  BOOST_TEST(CountAudit(store, id) == 1);

  BOOST_TEST_REQUIRE(
      store.SetState(id, ConnectionState::kDegraded, "timeout", "cli", 2000)
          .ok());
  BOOST_TEST(CountAudit(store, id) == 2);
  const AuditEntry entry = NewestAudit(store, id);
  BOOST_TEST(entry.at == 2000);
  BOOST_TEST(entry.connection_id == id);
  BOOST_TEST(entry.from_state == "connected");
  BOOST_TEST(entry.to_state == "degraded");
  BOOST_TEST(entry.actor == "cli");
  BOOST_TEST(entry.reason == "timeout");
  BOOST_TEST(MustFind(store, id).updated_at == 2000);

  BOOST_TEST_REQUIRE(
      store.SetState(id, ConnectionState::kDegraded, "timeout", "cli", 2100)
          .ok());
  BOOST_TEST(CountAudit(store, id) == 2);
  BOOST_TEST(MustFind(store, id).updated_at == 2000);

  BOOST_TEST_REQUIRE(
      store.SetState(id, ConnectionState::kDegraded, "HTTP 503", "cli", 2200)
          .ok());
  BOOST_TEST(CountAudit(store, id) == 3);
}

BOOST_AUTO_TEST_CASE(set_state_rejects_unknown_connection) {
  StoreFixture fixture;
  Status status = fixture.store->SetState(42, ConnectionState::kDegraded,
                                          "timeout", "cli", 2000);
  BOOST_TEST_REQUIRE(!status.ok());
  BOOST_TEST(status.message().find("connection 42") != std::string::npos,
             status.message());
}

BOOST_AUTO_TEST_CASE(set_state_requires_credentials) {
  StoreFixture fixture;
  BOOST_TEST_REQUIRE(
      fixture.store->CreatePendingConsent("acct-1", StateId(1), 1000, 1600)
          .ok());
  Result<std::optional<Connection>> pending =
      fixture.store->FindConnectionByAccount("acct-1");
  BOOST_TEST_REQUIRE(pending.ok(), pending.error());
  BOOST_TEST_REQUIRE(pending->has_value());
  BOOST_TEST(!fixture.store
                  ->SetState((*pending)->id, ConnectionState::kConnected,
                             "forced", "cli", 2000)
                  .ok());
}

BOOST_AUTO_TEST_CASE(audit_log_rejects_update_and_delete) {
  StoreFixture fixture;
  const int64_t id = fixture.Connect("acct-1", "C1");

  std::string message;
  BOOST_TEST(ExecRaw(fixture.db(), "UPDATE audit_log SET reason = 'edited'", {},
                     &message) == SQLITE_CONSTRAINT);
  BOOST_TEST(message == "audit_log is append-only");
  BOOST_TEST(ExecRaw(fixture.db(), "DELETE FROM audit_log", {}, &message) ==
             SQLITE_CONSTRAINT);
  BOOST_TEST(message == "audit_log is append-only");

  BOOST_TEST(CountAudit(*fixture.store, id) == 1);
  BOOST_TEST(NewestAudit(*fixture.store, id).reason == "connected");
}

BOOST_AUTO_TEST_CASE(disconnect_erases_secrets) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  const int64_t id = fixture.Connect("acct-1", "C1");
  BOOST_TEST_REQUIRE(store.AcquireLease(id, "refresh-1", 1100, 1200).ok());

  Status disconnected = store.Disconnect(id, "uninstalled", "cli", 1500);
  BOOST_TEST_REQUIRE(disconnected.ok(), disconnected.message());

  const Connection connection = MustFind(store, id);
  BOOST_TEST(connection.state == ConnectionState::kDisconnected);
  BOOST_TEST(connection.reason == "uninstalled");
  BOOST_TEST(!connection.has_credentials);
  BOOST_TEST(connection.token_expires_at == 0);
  BOOST_TEST(connection.company_id == "C1");
  BOOST_TEST(QueryInt(fixture.db(),
                      "SELECT client_id_sealed IS NULL AND "
                      "client_secret_sealed IS NULL AND "
                      "access_token_sealed IS NULL AND lease_owner IS NULL "
                      "FROM connections WHERE id = ?1",
                      {id}) == 1);
  BOOST_TEST(!store.ReadSecrets(id).ok());

  const AuditEntry entry = NewestAudit(store, id);
  BOOST_TEST(entry.from_state == "connected");
  BOOST_TEST(entry.to_state == "disconnected");
  BOOST_TEST(entry.reason == "uninstalled");
}

BOOST_AUTO_TEST_CASE(reads_leave_database_unchanged) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  const int64_t id = fixture.Connect("acct-1", "C1");
  BOOST_TEST_REQUIRE(
      store.CreatePendingConsent("acct-2", StateId(2), 1000, 1600).ok());
  const int before = sqlite3_total_changes(fixture.db());

  BOOST_TEST(store.FindConnection(id).ok());
  BOOST_TEST(store.FindConnectionByAccount("acct-1").ok());
  BOOST_TEST(store.FindConnectionByCompany("C1").ok());
  BOOST_TEST(store.ListConnections().ok());
  BOOST_TEST(store.ListDue(5000, 600).ok());
  BOOST_TEST(store.ListAudit(0, 10).ok());
  BOOST_TEST(store.ReadSecrets(id).ok());
  BOOST_TEST(store.FindPendingConsent(StateId(2)).ok());
  BOOST_TEST(store.SchemaVersion().ok());

  BOOST_TEST(sqlite3_total_changes(fixture.db()) == before);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(leases)

BOOST_AUTO_TEST_CASE(lease_excludes_other_owners_until_deadline) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  const int64_t id = fixture.Connect("acct-1", "C1");

  Result<bool> first = store.AcquireLease(id, "refresh-a", 100, 200);
  BOOST_TEST_REQUIRE(first.ok(), first.error());
  BOOST_TEST(*first);
  Result<bool> contended = store.AcquireLease(id, "refresh-b", 150, 250);
  BOOST_TEST_REQUIRE(contended.ok(), contended.error());
  BOOST_TEST(!*contended);
  Result<bool> renewed = store.AcquireLease(id, "refresh-a", 150, 260);
  BOOST_TEST_REQUIRE(renewed.ok(), renewed.error());
  BOOST_TEST(*renewed);
  Result<bool> still_held = store.AcquireLease(id, "refresh-b", 259, 300);
  BOOST_TEST_REQUIRE(still_held.ok(), still_held.error());
  BOOST_TEST(!*still_held);
  Result<bool> expired = store.AcquireLease(id, "refresh-b", 260, 400);
  BOOST_TEST_REQUIRE(expired.ok(), expired.error());
  BOOST_TEST(*expired);
  Result<bool> lost = store.AcquireLease(id, "refresh-a", 300, 500);
  BOOST_TEST_REQUIRE(lost.ok(), lost.error());
  BOOST_TEST(!*lost);
}

BOOST_AUTO_TEST_CASE(acquire_rejects_bad_arguments) {
  StoreFixture fixture;
  const int64_t id = fixture.Connect("acct-1", "C1");
  BOOST_TEST(!fixture.store->AcquireLease(999, "refresh-a", 100, 200).ok());
  BOOST_TEST(!fixture.store->AcquireLease(id, "refresh-a", 200, 200).ok());
  BOOST_TEST(!fixture.store->AcquireLease(id, "", 100, 200).ok());
}

BOOST_AUTO_TEST_CASE(release_by_non_owner_does_nothing) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  const int64_t id = fixture.Connect("acct-1", "C1");
  BOOST_TEST_REQUIRE(*store.AcquireLease(id, "refresh-a", 100, 200));

  BOOST_TEST(store.ReleaseLease(id, "refresh-b").ok());
  Result<bool> blocked = store.AcquireLease(id, "refresh-b", 110, 210);
  BOOST_TEST_REQUIRE(blocked.ok(), blocked.error());
  BOOST_TEST(!*blocked);

  BOOST_TEST(store.ReleaseLease(id, "refresh-a").ok());
  Result<bool> free = store.AcquireLease(id, "refresh-b", 120, 220);
  BOOST_TEST_REQUIRE(free.ok(), free.error());
  BOOST_TEST(*free);
}

BOOST_AUTO_TEST_CASE(commit_token_by_non_owner_changes_nothing) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  const int64_t id = fixture.Connect("acct-1", "C1", 1000, 4600);
  BOOST_TEST_REQUIRE(*store.AcquireLease(id, "refresh-a", 4000, 4100));
  const int64_t audit_rows = CountAudit(store, id);

  Status wrong_owner = store.CommitToken(
      id, "refresh-b", Secret("access-token-new"), 8000, 4010);
  BOOST_TEST_REQUIRE(!wrong_owner.ok());
  BOOST_TEST(wrong_owner.message().find("\"refresh-b\"") != std::string::npos,
             wrong_owner.message());
  BOOST_TEST(wrong_owner.message().find("access-token") == std::string::npos,
             wrong_owner.message());

  BOOST_TEST(MustReadSecrets(store, id).access_token.Reveal() ==
             "access-token-C1");
  const Connection connection = MustFind(store, id);
  BOOST_TEST(connection.token_expires_at == 4600);
  BOOST_TEST(connection.last_success_at == 1000);
  BOOST_TEST(connection.updated_at == 1000);
  BOOST_TEST(CountAudit(store, id) == audit_rows);
  Result<bool> still_held = store.AcquireLease(id, "refresh-b", 4020, 4120);
  BOOST_TEST_REQUIRE(still_held.ok(), still_held.error());
  BOOST_TEST(!*still_held);
}

BOOST_AUTO_TEST_CASE(commit_token_without_lease_fails) {
  StoreFixture fixture;
  const int64_t id = fixture.Connect("acct-1", "C1");
  BOOST_TEST(!fixture.store
                  ->CommitToken(id, "refresh-a", Secret("access-token-new"),
                                8000, 4010)
                  .ok());
}

BOOST_AUTO_TEST_CASE(commit_token_restores_degraded_connection) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  const int64_t id = fixture.Connect("acct-1", "C1", 1000, 4600);
  fixture.Fail(id, ConnectionState::kDegraded, "timeout", 4100, 4000);
  const int64_t audit_rows = CountAudit(store, id);

  BOOST_TEST_REQUIRE(*store.AcquireLease(id, "refresh-a", 4100, 4200));
  Status committed = store.CommitToken(id, "refresh-a",
                                       Secret("access-token-new"), 8000, 4110);
  BOOST_TEST_REQUIRE(committed.ok(), committed.message());

  const Connection connection = MustFind(store, id);
  BOOST_TEST(connection.state == ConnectionState::kConnected);
  BOOST_TEST(connection.reason == "token renewed");
  BOOST_TEST(connection.failure_count == 0);
  BOOST_TEST(connection.next_attempt_at == 0);
  BOOST_TEST(connection.last_success_at == 4110);
  BOOST_TEST(connection.token_expires_at == 8000);
  BOOST_TEST(MustReadSecrets(store, id).access_token.Reveal() ==
             "access-token-new");
  BOOST_TEST(CountAudit(store, id) == audit_rows + 1);
  const AuditEntry entry = NewestAudit(store, id);
  BOOST_TEST(entry.from_state == "degraded");
  BOOST_TEST(entry.to_state == "connected");
  BOOST_TEST(entry.reason == "token renewed");

  Result<bool> released = store.AcquireLease(id, "refresh-b", 4120, 4220);
  BOOST_TEST_REQUIRE(released.ok(), released.error());
  BOOST_TEST(*released);
}

BOOST_AUTO_TEST_CASE(renewal_while_connected_not_audited) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  const int64_t id = fixture.Connect("acct-1", "C1", 1000, 4600);
  BOOST_TEST_REQUIRE(*store.AcquireLease(id, "refresh-a", 4000, 4100));
  BOOST_TEST_REQUIRE(
      store.CommitToken(id, "refresh-a", Secret("access-token-new"), 8000, 4010)
          .ok());
  BOOST_TEST(CountAudit(store, id) == 1);
  BOOST_TEST(MustFind(store, id).reason == "connected");
}

BOOST_AUTO_TEST_CASE(record_failure_counts_and_releases_lease) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  const int64_t id = fixture.Connect("acct-1", "C1", 1000, 4600);

  fixture.Fail(id, ConnectionState::kDegraded, "timeout", 4100, 4000);
  fixture.Fail(id, ConnectionState::kDegraded, "timeout", 4300, 4100);
  Connection connection = MustFind(store, id);
  BOOST_TEST(connection.state == ConnectionState::kDegraded);
  BOOST_TEST(connection.failure_count == 2);
  BOOST_TEST(connection.next_attempt_at == 4300);
  BOOST_TEST(connection.reason == "timeout");
  // connected, then degraded once: the repeated failure changed nothing.
  BOOST_TEST(CountAudit(store, id) == 2);

  fixture.Fail(id, ConnectionState::kNeedsReintegration, "invalid_client", 0,
               4300);
  connection = MustFind(store, id);
  BOOST_TEST(connection.state == ConnectionState::kNeedsReintegration);
  BOOST_TEST(connection.failure_count == 0);
  BOOST_TEST(CountAudit(store, id) == 3);
  const AuditEntry entry = NewestAudit(store, id);
  BOOST_TEST(entry.from_state == "degraded");
  BOOST_TEST(entry.to_state == "needs_reintegration");
  BOOST_TEST(entry.actor == "refresh");

  Result<bool> released = store.AcquireLease(id, "refresh-b", 4310, 4410);
  BOOST_TEST_REQUIRE(released.ok(), released.error());
  BOOST_TEST(*released);
}

BOOST_AUTO_TEST_CASE(record_failure_validates_owner_and_state) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  const int64_t id = fixture.Connect("acct-1", "C1");
  BOOST_TEST(!store
                  .RecordFailure(id, "refresh-a", ConnectionState::kDegraded,
                                 "timeout", 4100, 4000)
                  .ok());
  BOOST_TEST_REQUIRE(*store.AcquireLease(id, "refresh-a", 4000, 4100));
  BOOST_TEST(!store
                  .RecordFailure(id, "refresh-a", ConnectionState::kConnected,
                                 "fine", 0, 4000)
                  .ok());
  const Connection connection = MustFind(store, id);
  BOOST_TEST(connection.state == ConnectionState::kConnected);
  BOOST_TEST(connection.failure_count == 0);
}

BOOST_AUTO_TEST_CASE(record_failure_disconnect_erases_secrets) {
  StoreFixture fixture;
  const int64_t id = fixture.Connect("acct-1", "C1");
  fixture.Fail(id, ConnectionState::kDisconnected, "app uninstalled", 0, 4000);
  const Connection connection = MustFind(*fixture.store, id);
  BOOST_TEST(connection.state == ConnectionState::kDisconnected);
  BOOST_TEST(!connection.has_credentials);
  BOOST_TEST(!fixture.store->ReadSecrets(id).ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(refresh)

BOOST_AUTO_TEST_CASE(list_due_filters_and_orders) {
  constexpr int64_t kNow = 10000;
  constexpr int64_t kMargin = 600;
  StoreFixture fixture;
  Store& store = *fixture.store;

  const int64_t soon = fixture.Connect("acct-soon", "C-soon", 900, 10500);
  const int64_t degraded = fixture.Connect("acct-deg", "C-deg", 900, 10100);
  fixture.Fail(degraded, ConnectionState::kDegraded, "timeout", 9000, 9000);
  const int64_t retry_now = fixture.Connect("acct-now", "C-now", 900, 10200);
  fixture.Fail(retry_now, ConnectionState::kDegraded, "timeout", kNow, 9000);
  Result<int64_t> tokenless = store.StoreCredentials(
      "acct-none", "C-none", "client-id-none", Secret("client-secret-none"),
      Secret(), 0, 900, "callback", "connected");
  BOOST_TEST_REQUIRE(tokenless.ok(), tokenless.error());

  // Not due: at the margin, far away, backing off, or not renewable.
  fixture.Connect("acct-edge", "C-edge", 900, kNow + kMargin);
  fixture.Connect("acct-far", "C-far", 900, 20000);
  const int64_t waiting = fixture.Connect("acct-wait", "C-wait", 900, 10000);
  fixture.Fail(waiting, ConnectionState::kDegraded, "timeout", kNow + 1, 9000);
  const int64_t rejected = fixture.Connect("acct-rej", "C-rej", 900, 10000);
  fixture.Fail(rejected, ConnectionState::kNeedsReintegration, "invalid_client",
               0, 9000);
  const int64_t removed = fixture.Connect("acct-rm", "C-rm", 900, 10000);
  BOOST_TEST_REQUIRE(store.Disconnect(removed, "removed", "cli", 9000).ok());
  BOOST_TEST_REQUIRE(
      store.CreatePendingConsent("acct-pend", StateId(1), 9000, 9600).ok());

  Result<std::vector<Connection>> due = store.ListDue(kNow, kMargin);
  BOOST_TEST_REQUIRE(due.ok(), due.error());
  std::vector<int64_t> ids;
  for (const Connection& connection : *due) ids.push_back(connection.id);
  const std::vector<int64_t> expected = {*tokenless, degraded, retry_now, soon};
  BOOST_TEST(ids == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(keys)

BOOST_AUTO_TEST_CASE(reseal_moves_values_to_new_key) {
  StoreFixture fixture;
  const int64_t first = fixture.Connect("acct-1", "C1");
  Result<int64_t> second = fixture.store->StoreCredentials(
      "acct-2", "C2", "client-id-C2", Secret("client-secret-C2"), Secret(), 0,
      1000, "callback", "connected");
  BOOST_TEST_REQUIRE(second.ok(), second.error());

  const KeyRing rotated = KeyRing::FromKeys(NewKey(), {OldKey()});
  Result<int64_t> resealed = fixture.store->Reseal(&rotated);
  BOOST_TEST_REQUIRE(resealed.ok(), resealed.error());
  BOOST_TEST(*resealed == 5);
  BOOST_TEST(MustReadSecrets(*fixture.store, first).client_id ==
             "client-id-C1");
  Result<int64_t> again = fixture.store->Reseal(&rotated);
  BOOST_TEST_REQUIRE(again.ok(), again.error());
  BOOST_TEST(*again == 0);
  fixture.store.reset();

  const KeyRing new_only = KeyRing::FromKeys(NewKey());
  std::unique_ptr<Store> with_new = OpenStore(fixture.path, &new_only);
  const ConnectionSecrets secrets = MustReadSecrets(*with_new, first);
  BOOST_TEST(secrets.client_id == "client-id-C1");
  BOOST_TEST(secrets.client_secret.Reveal() == "client-secret-C1");
  BOOST_TEST(secrets.access_token.Reveal() == "access-token-C1");
  BOOST_TEST(MustReadSecrets(*with_new, *second).client_secret.Reveal() ==
             "client-secret-C2");
  with_new.reset();

  const KeyRing old_only = KeyRing::FromKeys(OldKey());
  std::unique_ptr<Store> with_old = OpenStore(fixture.path, &old_only);
  BOOST_TEST(!with_old->ReadSecrets(first).ok());
  BOOST_TEST(!with_old->ReadSecrets(*second).ok());
}

BOOST_AUTO_TEST_CASE(reseal_failure_changes_nothing) {
  StoreFixture fixture;
  const int64_t first = fixture.Connect("acct-1", "C1");
  const int64_t second = fixture.Connect("acct-2", "C2");
  BOOST_TEST_REQUIRE(
      ExecRaw(fixture.db(),
              "UPDATE connections SET client_secret_sealed = (SELECT "
              "client_secret_sealed FROM connections WHERE id = ?1) "
              "WHERE id = ?2",
              {first, second}) == SQLITE_OK);
  const std::string sealed_before = QueryText(
      fixture.db(), "SELECT client_id_sealed FROM connections WHERE id = ?1",
      {first});

  const KeyRing rotated = KeyRing::FromKeys(NewKey(), {OldKey()});
  Result<int64_t> resealed = fixture.store->Reseal(&rotated);
  BOOST_TEST_REQUIRE(!resealed.ok());
  BOOST_TEST(resealed.error().find("client_secret of connection " +
                                   std::to_string(second)) != std::string::npos,
             resealed.error());
  BOOST_TEST(QueryText(fixture.db(),
                       "SELECT client_id_sealed FROM connections "
                       "WHERE id = ?1",
                       {first}) == sealed_before);
  // The store still seals with the old ring.
  const int64_t third = fixture.Connect("acct-3", "C3");
  const std::string sealed = QueryText(
      fixture.db(), "SELECT client_id_sealed FROM connections WHERE id = ?1",
      {third});
  Result<std::string> key_id = KeyRing::KeyIdOf(sealed);
  BOOST_TEST_REQUIRE(key_id.ok(), key_id.error());
  BOOST_TEST(*key_id == fixture.keys.current_key_id());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(statement_cache)

// A fragment of the SQL text of each statement on the renewal path.
constexpr std::string_view kRenewalSql[] = {
    "BEGIN IMMEDIATE",
    "COMMIT",
    "lease_deadline FROM connections WHERE id = ?1",
    "SET lease_owner = ?1, lease_deadline = ?2 ",
    "SELECT client_id_sealed, client_secret_sealed, access_token_sealed ",
    "SET access_token_sealed = ?1, ",
    "SET state = ?1, reason = ?2, next_attempt_at = ?3, ",
    "SET lease_owner = NULL, lease_deadline = 0 WHERE id = ?1 AND ",
    "INSERT INTO audit_log ",
};
constexpr std::string_view kAcquireLeaseSql =
    "SET lease_owner = ?1, lease_deadline = ?2 ";

// Makes the store calls of the renewal path for connection `id`. It reads
// the row, takes the lease, lets a second owner find it taken and opens the
// secrets. It then stores a new token (with `fail`, records a failure) and
// takes and releases the lease again.
void Renew(Store& store, int64_t id, int64_t now, bool fail) {
  MustFind(store, id);
  Result<bool> leased = store.AcquireLease(id, "refresh-a", now, now + 60);
  BOOST_TEST_REQUIRE(leased.ok(), leased.error());
  BOOST_TEST_REQUIRE(*leased);
  Result<bool> contended = store.AcquireLease(id, "refresh-b", now, now + 60);
  BOOST_TEST_REQUIRE(contended.ok(), contended.error());
  BOOST_TEST_REQUIRE(!*contended);
  MustReadSecrets(store, id);

  if (fail) {
    Status recorded = store.RecordFailure(
        id, "refresh-a", ConnectionState::kDegraded, "timeout", now + 30, now);
    BOOST_TEST_REQUIRE(recorded.ok(), recorded.message());
  } else {
    Status committed = store.CommitToken(
        id, "refresh-a", Secret("access-token-" + std::to_string(now)),
        now + 3600, now);
    BOOST_TEST_REQUIRE(committed.ok(), committed.message());
  }

  leased = store.AcquireLease(id, "refresh-a", now, now + 60);
  BOOST_TEST_REQUIRE(leased.ok(), leased.error());
  BOOST_TEST_REQUIRE(*leased);
  Status released = store.ReleaseLease(id, "refresh-a");
  BOOST_TEST_REQUIRE(released.ok(), released.message());
}

BOOST_AUTO_TEST_CASE(renewals_reuse_prepared_statements) {
  constexpr int kConnections = 20;
  constexpr int kRounds = 10;
  StoreFixture fixture;
  Store& store = *fixture.store;
  std::vector<int64_t> ids;
  for (int i = 0; i < kConnections; ++i) {
    const std::string suffix = std::to_string(i);
    ids.push_back(fixture.Connect("acct-" + suffix, "C" + suffix));
  }
  for (int64_t id : ids) Renew(store, id, 2000, true);
  for (int64_t id : ids) Renew(store, id, 2100, false);
  const size_t prepared = PreparedStatements(fixture.db()).size();
  sqlite3_stmt* acquire = OnlyStatement(fixture.db(), kAcquireLeaseSql);
  const int acquire_runs = RunCount(acquire);

  for (int round = 1; round <= kRounds; ++round) {
    for (int64_t id : ids) Renew(store, id, 2100 + round * 100, round % 2 == 1);
  }

  BOOST_TEST(PreparedStatements(fixture.db()).size() == prepared);
  for (std::string_view sql : kRenewalSql) {
    BOOST_TEST(PreparedStatements(fixture.db(), sql).size() == 1u, sql);
  }
  BOOST_TEST(OnlyStatement(fixture.db(), kAcquireLeaseSql) == acquire);
  // Three AcquireLease calls per renewal.
  BOOST_TEST(RunCount(acquire) == acquire_runs + 3 * kRounds * kConnections);
}

BOOST_AUTO_TEST_CASE(reads_see_other_connections_commits) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  const int64_t id = fixture.Connect("acct-1", "C1", 1000, 4600);
  std::unique_ptr<Store> other = OpenStore(fixture.path, &fixture.keys);

  // ReadSecrets stops on its one row. Unless that statement is reset, this
  // connection keeps reading from the snapshot the statement started.
  MustReadSecrets(store, id);
  Result<bool> leased = other->AcquireLease(id, "refresh-b", 2000, 2060);
  BOOST_TEST_REQUIRE(leased.ok(), leased.error());
  BOOST_TEST_REQUIRE(*leased);
  Status committed = other->CommitToken(
      id, "refresh-b", Secret("access-token-renewed"), 9000, 2000);
  BOOST_TEST_REQUIRE(committed.ok(), committed.message());
  Result<int64_t> added = other->StoreCredentials(
      "acct-2", "C2", "client-id-C2", Secret("client-secret-C2"), Secret(), 0,
      2000, "callback", "connected");
  BOOST_TEST_REQUIRE(added.ok(), added.error());

  BOOST_TEST(MustFind(store, id).token_expires_at == 9000);
  Result<std::vector<Connection>> connections = store.ListConnections();
  BOOST_TEST_REQUIRE(connections.ok(), connections.error());
  BOOST_TEST(connections->size() == 2u);
  BOOST_TEST(MustReadSecrets(store, id).access_token.Reveal() ==
             "access-token-renewed");
}

BOOST_AUTO_TEST_CASE(failed_step_leaves_statement_usable) {
  constexpr std::string_view kInsertConsentSql =
      "INSERT INTO pending_consents ";
  StoreFixture fixture;
  Store& store = *fixture.store;
  BOOST_TEST_REQUIRE(
      store.CreatePendingConsent("acct-1", StateId(1), 1000, 1600).ok());
  sqlite3_stmt* insert = OnlyStatement(fixture.db(), kInsertConsentSql);
  const size_t prepared = PreparedStatements(fixture.db()).size();

  Status duplicate =
      store.CreatePendingConsent("acct-2", StateId(1), 1000, 1600);
  BOOST_TEST_REQUIRE(!duplicate.ok());
  BOOST_TEST(duplicate.message() ==
             "sqlite3_step failed for consent \"5a7e0000\": UNIQUE "
             "constraint failed: pending_consents.state_id");

  Status next = store.CreatePendingConsent("acct-2", StateId(2), 1000, 1600);
  BOOST_TEST_REQUIRE(next.ok(), next.message());
  BOOST_TEST(OnlyStatement(fixture.db(), kInsertConsentSql) == insert);
  BOOST_TEST(RunCount(insert) == 3);
  BOOST_TEST(PreparedStatements(fixture.db()).size() == prepared);
  Result<std::optional<PendingConsent>> consent =
      store.FindPendingConsent(StateId(2));
  BOOST_TEST_REQUIRE(consent.ok(), consent.error());
  BOOST_TEST_REQUIRE(consent->has_value());
  BOOST_TEST((*consent)->account_id == "acct-2");
}

BOOST_AUTO_TEST_CASE(reads_leave_checkpoint_unblocked) {
  StoreFixture fixture;
  Store& store = *fixture.store;
  const int64_t id = fixture.Connect("acct-1", "C1");
  BOOST_TEST_REQUIRE(
      store.CreatePendingConsent("acct-2", StateId(2), 1000, 1600).ok());

  // Each of these reads stops on its one row.
  MustReadSecrets(store, id);
  BOOST_TEST_REQUIRE(store.FindPendingConsent(StateId(2)).ok());
  BOOST_TEST_REQUIRE(store.SchemaVersion().ok());

  // A reader left on an older snapshot keeps the checkpoint from copying
  // this write's WAL frames into the database file.
  std::unique_ptr<Store> other = OpenStore(fixture.path, &fixture.keys);
  BOOST_TEST_REQUIRE(
      other->CreatePendingConsent("acct-3", StateId(3), 1000, 1600).ok());

  DatabasePtr checkpointer = OpenRaw(fixture.path);
  StatementPtr checkpoint =
      PrepareRaw(checkpointer.get(), "PRAGMA wal_checkpoint(TRUNCATE)", {});
  BOOST_TEST_REQUIRE(sqlite3_step(checkpoint.get()) == SQLITE_ROW);
  // The first column is 1 when a reader blocked the checkpoint.
  BOOST_TEST(sqlite3_column_int64(checkpoint.get(), 0) == 0);
  BOOST_TEST(std::filesystem::file_size(fixture.path + "-wal") == 0u);
}

// Borrows "SELECT ?1" from `cache`, binds `value` unless it is nullopt, and
// steps to the one row.
Statement SelectParameter(StatementCache& cache, std::string subject,
                          std::optional<int64_t> value) {
  Result<Statement> statement = cache.Prepare("SELECT ?1", std::move(subject));
  BOOST_TEST_REQUIRE(statement.ok(), statement.error());
  if (value.has_value()) statement->BindInt(1, *value);
  Result<bool> row = statement->Step();
  BOOST_TEST_REQUIRE(row.ok(), row.error());
  BOOST_TEST_REQUIRE(*row);
  return std::move(*statement);
}

BOOST_AUTO_TEST_CASE(lends_one_off_statement_while_busy) {
  DatabasePtr db = OpenRaw(":memory:");
  StatementCache cache(db.get());
  {
    Statement outer = SelectParameter(cache, "outer", 1);
    Statement inner = SelectParameter(cache, "inner", 2);
    BOOST_TEST(inner.Int(0) == 2);
    BOOST_TEST(outer.Int(0) == 1);
    BOOST_TEST(cache.size() == 1u);
    BOOST_TEST(PreparedStatements(db.get()).size() == 2u);
  }

  // The one-off statement is finalized and the cached one is free again.
  BOOST_TEST(PreparedStatements(db.get()).size() == 1u);
  Statement again = SelectParameter(cache, "again", 3);
  BOOST_TEST(again.Int(0) == 3);
  BOOST_TEST(PreparedStatements(db.get()).size() == 1u);
}

BOOST_AUTO_TEST_CASE(release_clears_bindings) {
  DatabasePtr db = OpenRaw(":memory:");
  StatementCache cache(db.get());
  {
    Statement first = SelectParameter(cache, "first", 7);
    BOOST_TEST(first.Int(0) == 7);
  }

  Statement second = SelectParameter(cache, "second", std::nullopt);
  BOOST_TEST(second.IsNull(0));
}

BOOST_AUTO_TEST_CASE(prepare_error_names_call_and_subject) {
  DatabasePtr db = OpenRaw(":memory:");
  StatementCache cache(db.get());

  Result<Statement> invalid = cache.Prepare("SELECT FROM", "connection 7");
  BOOST_TEST_REQUIRE(!invalid.ok());
  BOOST_TEST(invalid.error() ==
             "sqlite3_prepare_v3 failed for connection 7: near \"FROM\": "
             "syntax error");
  BOOST_TEST(cache.size() == 0u);

  Result<Statement> empty = cache.Prepare("-- no statement", "connection 7");
  BOOST_TEST_REQUIRE(!empty.ok());
  BOOST_TEST(empty.error() ==
             "sqlite3_prepare_v3 failed for connection 7: the SQL text "
             "contains no statement");
  BOOST_TEST(cache.size() == 0u);
}

BOOST_AUTO_TEST_CASE(destructor_finalizes_statements) {
  sqlite3* raw = nullptr;
  BOOST_TEST_REQUIRE(sqlite3_open(":memory:", &raw) == SQLITE_OK);
  {
    StatementCache cache(raw);
    BOOST_TEST_REQUIRE(Execute(cache, "CREATE TABLE t (x)", "table t").ok());
    BOOST_TEST_REQUIRE(
        Execute(cache, "INSERT INTO t VALUES (1)", "table t").ok());
    BOOST_TEST(cache.size() == 2u);
  }

  BOOST_TEST(sqlite3_next_stmt(raw, nullptr) == nullptr);
  // sqlite3_close, unlike sqlite3_close_v2, fails while statements remain.
  const int rc = sqlite3_close(raw);
  BOOST_TEST(rc == SQLITE_OK);
  if (rc != SQLITE_OK) sqlite3_close_v2(raw);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace srconnect
