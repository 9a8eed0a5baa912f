#include "store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <limits>
#include <string>
#include <utility>

#include <sqlite3.h>

#include "log.h"
#include "sqlite_statement.h"

namespace srconnect {
namespace {

// Schema migrations, applied in order, each in one BEGIN IMMEDIATE
// transaction. Every script ends by setting PRAGMA user_version to its own
// version. A released script never changes, and a schema change adds a new
// script.
struct Migration {
  int version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE connections (
  id INTEGER PRIMARY KEY,
  account_id TEXT NOT NULL UNIQUE CHECK (account_id <> ''),
  company_id TEXT UNIQUE,
  state TEXT NOT NULL CHECK (state IN ('pending', 'connected', 'degraded',
                                       'needs_reintegration', 'disconnected')),
  reason TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  connected_since INTEGER NOT NULL DEFAULT 0,
  token_expires_at INTEGER NOT NULL DEFAULT 0,
  last_success_at INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  failure_count INTEGER NOT NULL DEFAULT 0,
  client_id_sealed TEXT,
  client_secret_sealed TEXT,
  access_token_sealed TEXT,
  lease_owner TEXT,
  lease_deadline INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX connections_state_token_expires_at
  ON connections (state, token_expires_at);

CREATE TABLE pending_consents (
  state_id TEXT PRIMARY KEY CHECK (state_id <> ''),
  account_id TEXT NOT NULL,
  company_id TEXT,
  status TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'succeeded',
                                         'failed')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  outcome_code TEXT NOT NULL DEFAULT '',
  outcome_message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX pending_consents_expires_at ON pending_consents (expires_at);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  connection_id INTEGER NOT NULL REFERENCES connections (id),
  account_id TEXT NOT NULL,
  company_id TEXT NOT NULL DEFAULT '',
  from_state TEXT NOT NULL DEFAULT '',
  to_state TEXT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_connection_id ON audit_log (connection_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;

PRAGMA user_version = 1;
)sql"},
};
static_assert(std::size(kMigrations) == Store::kSchemaVersion);
static_assert(kMigrations[std::size(kMigrations) - 1].version ==
              Store::kSchemaVersion);

// Consents that expired longer ago than this are deleted when a new one is
// created.
constexpr int64_t kConsentRetentionS = 86400;

// The associated data of a sealed value names the logical column (without
// the "_sealed" suffix), so these names are part of the stored format.
constexpr std::string_view kSealedTable = "connections";
constexpr std::string_view kClientIdColumn = "client_id";
constexpr std::string_view kClientSecretColumn = "client_secret";
constexpr std::string_view kAccessTokenColumn = "access_token";

constexpr std::string_view kSelectConnection =
    "SELECT id, account_id, company_id, state, reason, created_at, "
    "updated_at, connected_since, token_expires_at, last_success_at, "
    "next_attempt_at, failure_count, client_secret_sealed IS NOT NULL, "
    "lease_owner, lease_deadline FROM connections ";

std::string ConnectionSubject(int64_t connection_id) {
  return "connection " + std::to_string(connection_id);
}

std::string AccountSubject(std::string_view account_id) {
  return "account " + Quote(account_id);
}

std::string CompanySubject(std::string_view company_id) {
  return "company " + Quote(company_id);
}

// Names a consent by the first 8 hex digits of its state id, which is enough
// to find the row and keeps log lines short.
std::string ConsentSubject(std::string_view state_id) {
  return "consent " + Quote(state_id.substr(0, 8));
}

std::string DatabaseSubject(std::string_view path) {
  return "database " + Quote(path);
}

// A connections row with the lease columns that Connection leaves out.
struct ConnectionRow {
  Connection connection;
  std::string lease_owner;  // empty when no lease is held
  int64_t lease_deadline = 0;
};

// Reads the current row of a statement that starts with kSelectConnection.
Result<ConnectionRow> ReadConnectionRow(const Statement& statement) {
  ConnectionRow row;
  Connection& connection = row.connection;
  connection.id = statement.Int(0);
  connection.account_id = statement.Text(1);
  connection.company_id = statement.Text(2);
  Result<ConnectionState> state = ParseStateName(statement.Text(3));
  if (!state.ok()) {
    return Status::Error(ConnectionSubject(connection.id) +
                         " is invalid: " + state.error());
  }
  connection.state = *state;
  connection.reason = statement.Text(4);
  connection.created_at = statement.Int(5);
  connection.updated_at = statement.Int(6);
  connection.connected_since = statement.Int(7);
  connection.token_expires_at = statement.Int(8);
  connection.last_success_at = statement.Int(9);
  connection.next_attempt_at = statement.Int(10);
  connection.failure_count = statement.Int(11);
  connection.has_credentials = statement.Int(12) != 0;
  row.lease_owner = statement.Text(13);
  row.lease_deadline = statement.Int(14);
  return row;
}

Result<std::vector<ConnectionRow>> ReadConnectionRows(Statement& statement) {
  std::vector<ConnectionRow> rows;
  while (true) {
    Result<bool> step = statement.Step();
    if (!step.ok()) return step.status();
    if (!*step) return rows;
    Result<ConnectionRow> row = ReadConnectionRow(statement);
    if (!row.ok()) return row.status();
    rows.push_back(std::move(*row));
  }
}

Result<std::vector<Connection>> ReadConnections(Statement& statement) {
  Result<std::vector<ConnectionRow>> rows = ReadConnectionRows(statement);
  if (!rows.ok()) return rows.status();
  std::vector<Connection> connections;
  connections.reserve(rows->size());
  for (ConnectionRow& row : *rows) {
    connections.push_back(std::move(row.connection));
  }
  return connections;
}

Result<std::optional<ConnectionRow>> ReadOptionalConnectionRow(
    Statement& statement) {
  Result<std::vector<ConnectionRow>> rows = ReadConnectionRows(statement);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<ConnectionRow>();
  return std::optional<ConnectionRow>(std::move(rows->front()));
}

Result<std::optional<ConnectionRow>> LoadConnectionById(
    StatementCache& statements, int64_t id) {
  Result<Statement> statement = statements.Prepare(
      std::string(kSelectConnection) + "WHERE id = ?1", ConnectionSubject(id));
  if (!statement.ok()) return statement.status();
  statement->BindInt(1, id);
  return ReadOptionalConnectionRow(*statement);
}

Result<std::optional<ConnectionRow>> LoadConnectionByAccount(
    StatementCache& statements, std::string_view account_id) {
  Result<Statement> statement = statements.Prepare(
      std::string(kSelectConnection) + "WHERE account_id = ?1",
      AccountSubject(account_id));
  if (!statement.ok()) return statement.status();
  statement->BindText(1, account_id);
  return ReadOptionalConnectionRow(*statement);
}

Result<std::optional<ConnectionRow>> LoadConnectionByCompany(
    StatementCache& statements, std::string_view company_id) {
  Result<Statement> statement = statements.Prepare(
      std::string(kSelectConnection) + "WHERE company_id = ?1",
      CompanySubject(company_id));
  if (!statement.ok()) return statement.status();
  statement->BindText(1, company_id);
  return ReadOptionalConnectionRow(*statement);
}

// Like LoadConnectionById, but a missing row is an error.
Result<ConnectionRow> LoadExistingConnection(StatementCache& statements,
                                             int64_t id) {
  Result<std::optional<ConnectionRow>> row = LoadConnectionById(statements, id);
  if (!row.ok()) return row.status();
  if (!row->has_value()) {
    return Status::Error(ConnectionSubject(id) + " not found");
  }
  return std::move(**row);
}

Result<std::optional<Connection>> ToConnection(
    Result<std::optional<ConnectionRow>> row) {
  if (!row.ok()) return row.status();
  if (!row->has_value()) return std::optional<Connection>();
  return std::optional<Connection>(std::move((*row)->connection));
}

// Appends the audit row for `before` moving to `to_state`. `company_id` is
// the company after the change.
Status AppendAudit(StatementCache& statements, const Connection& before,
                   std::string_view from_state, ConnectionState to_state,
                   std::string_view company_id, std::string_view actor,
                   std::string_view reason, int64_t now) {
  Result<Statement> insert = statements.Prepare(
      "INSERT INTO audit_log (at, connection_id, account_id, company_id, "
      "from_state, to_state, actor, reason) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
      ConnectionSubject(before.id));
  if (!insert.ok()) return insert.status();
  insert->BindInt(1, now);
  insert->BindInt(2, before.id);
  insert->BindText(3, before.account_id);
  insert->BindText(4, company_id);
  insert->BindText(5, from_state);
  insert->BindText(6, StateName(to_state));
  insert->BindText(7, actor);
  insert->BindText(8, reason);
  return insert->Run();
}

Status AppendTransition(StatementCache& statements, const Connection& before,
                        ConnectionState to_state, std::string_view actor,
                        std::string_view reason, int64_t now) {
  return AppendAudit(statements, before, StateName(before.state), to_state,
                     before.company_id, actor, reason, now);
}

Status RequireNonEmpty(std::string_view value, std::string_view name,
                       std::string_view call) {
  if (!value.empty()) return Status::Ok();
  return Status::Error(std::string(call) + " failed: " + std::string(name) +
                       " is empty");
}

Result<std::string> SealColumn(const KeyRing& keys, int64_t connection_id,
                               std::string_view column,
                               std::string_view plaintext) {
  Result<std::string> sealed = keys.Seal(
      plaintext, SealedValueContext(kSealedTable, connection_id, column));
  if (!sealed.ok()) {
    return Status::Error("sealing " + std::string(column) + " of " +
                         ConnectionSubject(connection_id) +
                         " failed: " + sealed.error());
  }
  return sealed;
}

Result<Secret> OpenColumn(const KeyRing& keys, int64_t connection_id,
                          std::string_view column, std::string_view sealed) {
  Result<Secret> opened = keys.Open(
      sealed, SealedValueContext(kSealedTable, connection_id, column));
  if (!opened.ok()) {
    return Status::Error("opening " + std::string(column) + " of " +
                         ConnectionSubject(connection_id) +
                         " failed: " + opened.error());
  }
  return opened;
}

Status RequireLeaseOwner(const ConnectionRow& row, std::string_view owner,
                         std::string_view call) {
  if (!owner.empty() && row.lease_owner == owner) return Status::Ok();
  const std::string holder =
      row.lease_owner.empty() ? "nobody" : Quote(row.lease_owner);
  return Status::Error(std::string(call) + " failed for " +
                       ConnectionSubject(row.connection.id) + ": lease owner " +
                       Quote(owner) + " does not hold the lease (held by " +
                       holder + "); acquire the lease again and retry");
}

// Returns a + b, limited to the int64_t range.
int64_t SaturatingAdd(int64_t a, int64_t b) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  if (b > 0 && a > kMax - b) return kMax;
  if (b < 0 && a < kMin - b) return kMin;
  return a + b;
}

std::string_view ConsentStatusName(ConsentStatus status) {
  switch (status) {
    case ConsentStatus::kOpen:
      return "open";
    case ConsentStatus::kInProgress:
      return "in_progress";
    case ConsentStatus::kSucceeded:
      return "succeeded";
    case ConsentStatus::kFailed:
      return "failed";
  }
  return "open";
}

Result<ConsentStatus> ParseConsentStatus(std::string_view name) {
  for (ConsentStatus status :
       {ConsentStatus::kOpen, ConsentStatus::kInProgress,
        ConsentStatus::kSucceeded, ConsentStatus::kFailed}) {
    if (ConsentStatusName(status) == name) return status;
  }
  return Status::Error("unknown consent status " + Quote(name));
}

// Returns the stored status name of a consent, or nullopt when there is no
// such consent.
Result<std::optional<std::string>> ReadConsentStatusName(
    StatementCache& statements, std::string_view state_id,
    const std::string& subject) {
  Result<Statement> select = statements.Prepare(
      "SELECT status FROM pending_consents WHERE state_id = ?1", subject);
  if (!select.ok()) return select.status();
  select->BindText(1, state_id);
  Result<bool> row = select->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(select->Text(0));
}

// Creates `path` with mode 0600 when it does not exist yet. SQLite creates
// the -wal and -shm files with the mode of the database file, so none of
// the three is readable by others. An existing file keeps its mode.
Status CreatePrivateFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                        S_IRUSR | S_IWUSR);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Ok();
    return Status::Error("creating " + DatabaseSubject(path) +
                         " failed: " + std::strerror(errno));
  }
  ::close(fd);
  return Status::Ok();
}

Result<int> ReadUserVersion(StatementCache& statements,
                            const std::string& subject) {
  Result<Statement> statement =
      statements.Prepare("PRAGMA user_version", subject);
  if (!statement.ok()) return statement.status();
  Result<bool> row = statement->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return Status::Error("PRAGMA user_version returned no row for " + subject);
  }
  return static_cast<int>(statement->Int(0));
}

Status CheckSchemaVersion(int version, const std::string& path) {
  if (version > Store::kSchemaVersion) {
    return Status::Error(DatabaseSubject(path) + " has schema version " +
                         std::to_string(version) +
                         ", newer than this srconnect (" +
                         std::to_string(Store::kSchemaVersion) +
                         "): upgrade srconnect or restore a backup");
  }
  if (version < 0) {
    return Status::Error(DatabaseSubject(path) +
                         " has an invalid schema version " +
                         std::to_string(version) + ": restore a backup");
  }
  return Status::Ok();
}

// Sets the per-connection options. The file is read here for the first
// time, so this is where a file that is not a database shows up.
Status ConfigureConnection(StatementCache& statements, const std::string& path,
                           int64_t busy_timeout_ms) {
  sqlite3* db = statements.db();
  const std::string subject = DatabaseSubject(path);

  // Same setting as PRAGMA busy_timeout. It comes first because even the
  // first read may have to wait for another process.
  constexpr int64_t kMaxTimeoutMs = std::numeric_limits<int>::max();
  sqlite3_busy_timeout(
      db, static_cast<int>(busy_timeout_ms < kMaxTimeoutMs ? busy_timeout_ms
                                                           : kMaxTimeoutMs));

  const int rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", nullptr,
                              nullptr, nullptr);
  if (rc == SQLITE_NOTADB) {
    return Status::Error(subject + " is not an SQLite database (" +
                         sqlite3_errmsg(db) +
                         "): check the path, or move the file away so that a "
                         "new database is created");
  }
  if (rc != SQLITE_OK) {
    return Status::Error(SqliteCallFailed("sqlite3_exec", subject, db));
  }

  Result<Statement> journal =
      statements.Prepare("PRAGMA journal_mode = WAL", subject);
  if (!journal.ok()) return journal.status();
  Result<bool> journal_row = journal->Step();
  if (!journal_row.ok()) return journal_row.status();
  const std::string mode = *journal_row ? journal->Text(0) : "";
  const char* file = sqlite3_db_filename(db, "main");
  const bool in_memory = file == nullptr || *file == '\0';
  if (mode != "wal" && !in_memory) {
    return Status::Error(subject + " cannot use WAL mode (journal_mode is " +
                         Quote(mode) +
                         "): keep the database on a local file system");
  }

  // In WAL mode, synchronous=NORMAL keeps the database consistent, but a
  // power loss or OS crash may roll back the last commits (SQLite's PRAGMA
  // synchronous documentation). secure_delete zeroes the space that erased
  // sealed values leave in the database file.
  // NOTE: older page images stay in the -wal file until SQLite reuses it,
  // but they contain only sealed values.
  for (const char* pragma :
       {"PRAGMA foreign_keys = ON", "PRAGMA synchronous = NORMAL",
        "PRAGMA secure_delete = ON"}) {
    Status set = Execute(statements, pragma, subject);
    if (!set.ok()) return set;
  }
  return Status::Ok();
}

Status Migrate(StatementCache& statements, const std::string& path) {
  sqlite3* db = statements.db();
  const std::string subject = DatabaseSubject(path);
  Result<int> version = ReadUserVersion(statements, subject);
  if (!version.ok()) return version.status();
  Status supported = CheckSchemaVersion(*version, path);
  if (!supported.ok()) return supported;
  if (*version == Store::kSchemaVersion) return Status::Ok();

  for (const Migration& migration : kMigrations) {
    Transaction transaction(statements);
    Status begun = transaction.Begin(subject);
    if (!begun.ok()) return begun;

    // Another process may have migrated since the first read.
    version = ReadUserVersion(statements, subject);
    if (!version.ok()) return version.status();
    supported = CheckSchemaVersion(*version, path);
    if (!supported.ok()) return supported;
    if (*version >= migration.version) continue;

    char* error = nullptr;
    const int rc = sqlite3_exec(db, migration.sql, nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
      const std::string text = error != nullptr ? error : sqlite3_errstr(rc);
      sqlite3_free(error);
      return Status::Error("schema migration " +
                           std::to_string(migration.version) + " failed for " +
                           subject + ": " + text);
    }
    version = ReadUserVersion(statements, subject);
    if (!version.ok()) return version.status();
    if (*version != migration.version) {
      return Status::Error("schema migration " +
                           std::to_string(migration.version) +
                           " did not set user_version for " + subject);
    }

    Status committed = transaction.Commit(subject);
    if (!committed.ok()) return committed;
  }
  return Status::Ok();
}

}  // namespace

std::string_view StateName(ConnectionState state) {
  switch (state) {
    case ConnectionState::kPending:
      return "pending";
    case ConnectionState::kConnected:
      return "connected";
    case ConnectionState::kDegraded:
      return "degraded";
    case ConnectionState::kNeedsReintegration:
      return "needs_reintegration";
    case ConnectionState::kDisconnected:
      return "disconnected";
  }
  return "pending";
}

Result<ConnectionState> ParseStateName(std::string_view name) {
  for (ConnectionState state :
       {ConnectionState::kPending, ConnectionState::kConnected,
        ConnectionState::kDegraded, ConnectionState::kNeedsReintegration,
        ConnectionState::kDisconnected}) {
    if (StateName(state) == name) return state;
  }
  return Status::Error("unknown connection state " + Quote(name));
}

void Store::DbCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

Store::Store(std::unique_ptr<sqlite3, DbCloser> db,
             std::unique_ptr<StatementCache> statements, const KeyRing* keys)
    : db_(std::move(db)), statements_(std::move(statements)), keys_(keys) {}

Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                           const KeyRing* keys,
                                           int64_t busy_timeout_ms) {
  if (path.empty()) return Status::Error("database path is empty");
  if (keys == nullptr) {
    return Status::Error("opening " + DatabaseSubject(path) +
                         " failed: no key ring given");
  }
  if (busy_timeout_ms < 0) {
    return Status::Error("opening " + DatabaseSubject(path) +
                         " failed: busy timeout " +
                         std::to_string(busy_timeout_ms) + " ms is negative");
  }

  if (path != ":memory:") {
    Status created = CreatePrivateFile(path);
    if (!created.ok()) return created;
  }

  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &raw,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  std::unique_ptr<sqlite3, DbCloser> db(raw);
  if (rc != SQLITE_OK) {
    const char* text =
        raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    return Status::Error("sqlite3_open_v2 failed for " + DatabaseSubject(path) +
                         ": " + text);
  }

  // Declared after db, so that on an early return the statements are
  // finalized before the connection is closed.
  auto statements = std::make_unique<StatementCache>(db.get());
  Status configured = ConfigureConnection(*statements, path, busy_timeout_ms);
  if (!configured.ok()) return configured;
  Status migrated = Migrate(*statements, path);
  if (!migrated.ok()) return migrated;

  return std::unique_ptr<Store>(
      new Store(std::move(db), std::move(statements), keys));
}

Result<int> Store::SchemaVersion() {
  const char* file = sqlite3_db_filename(db_.get(), "main");
  return ReadUserVersion(*statements_,
                         DatabaseSubject(file != nullptr ? file : ""));
}

// --- pending consents ---------------------------------------------------

Status Store::CreatePendingConsent(std::string_view account_id,
                                   std::string_view state_id, int64_t now,
                                   int64_t expires_at) {
  constexpr std::string_view kCall = "CreatePendingConsent";
  Status valid = RequireNonEmpty(account_id, "account id", kCall);
  if (valid.ok()) valid = RequireNonEmpty(state_id, "state id", kCall);
  if (!valid.ok()) return valid;
  const std::string subject = ConsentSubject(state_id);
  StatementCache& statements = *statements_;
  sqlite3* db = db_.get();

  Transaction transaction(statements);
  Status begun = transaction.Begin(subject);
  if (!begun.ok()) return begun;

  Result<Statement> purge = statements.Prepare(
      "DELETE FROM pending_consents WHERE expires_at < ?1", subject);
  if (!purge.ok()) return purge.status();
  purge->BindInt(1, SaturatingAdd(now, -kConsentRetentionS));
  Status purged = purge->Run();
  if (!purged.ok()) return purged;

  Result<Statement> insert = statements.Prepare(
      "INSERT INTO pending_consents (state_id, account_id, status, "
      "created_at, expires_at) VALUES (?1, ?2, 'open', ?3, ?4)",
      subject);
  if (!insert.ok()) return insert.status();
  insert->BindText(1, state_id);
  insert->BindText(2, account_id);
  insert->BindInt(3, now);
  insert->BindInt(4, expires_at);
  Status inserted = insert->Run();
  if (!inserted.ok()) return inserted;

  // An account that already has a connection keeps it, in whatever state,
  // until new credentials are stored.
  Result<Statement> create = statements.Prepare(
      "INSERT INTO connections (account_id, state, reason, created_at, "
      "updated_at) VALUES (?1, 'pending', 'consent started', ?2, ?2) "
      "ON CONFLICT (account_id) DO NOTHING",
      AccountSubject(account_id));
  if (!create.ok()) return create.status();
  create->BindText(1, account_id);
  create->BindInt(2, now);
  Status created = create->Run();
  if (!created.ok()) return created;
  if (sqlite3_changes(db) == 1) {
    Connection row;
    row.id = sqlite3_last_insert_rowid(db);
    row.account_id = std::string(account_id);
    Status audited = AppendAudit(statements, row, "", ConnectionState::kPending,
                                 "", "start", "consent started", now);
    if (!audited.ok()) return audited;
  }

  return transaction.Commit(subject);
}

Result<std::optional<PendingConsent>> Store::FindPendingConsent(
    std::string_view state_id) {
  const std::string subject = ConsentSubject(state_id);
  Result<Statement> select = statements_->Prepare(
      "SELECT state_id, account_id, company_id, status, created_at, "
      "expires_at, outcome_code, outcome_message FROM pending_consents "
      "WHERE state_id = ?1",
      subject);
  if (!select.ok()) return select.status();
  select->BindText(1, state_id);
  Result<bool> row = select->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<PendingConsent>();

  PendingConsent consent;
  consent.state_id = select->Text(0);
  consent.account_id = select->Text(1);
  consent.company_id = select->Text(2);
  Result<ConsentStatus> status = ParseConsentStatus(select->Text(3));
  if (!status.ok()) {
    return Status::Error(subject + " is invalid: " + status.error());
  }
  consent.status = *status;
  consent.created_at = select->Int(4);
  consent.expires_at = select->Int(5);
  consent.outcome_code = select->Text(6);
  consent.outcome_message = select->Text(7);
  return std::optional<PendingConsent>(std::move(consent));
}

Result<ClaimResult> Store::ClaimPendingConsent(std::string_view state_id,
                                               std::string_view company_id,
                                               int64_t now) {
  Status valid =
      RequireNonEmpty(company_id, "company id", "ClaimPendingConsent");
  if (!valid.ok()) return valid;
  const std::string subject = ConsentSubject(state_id);
  StatementCache& statements = *statements_;
  sqlite3* db = db_.get();

  Transaction transaction(statements);
  Status begun = transaction.Begin(subject);
  if (!begun.ok()) return begun;

  // The status guard makes the claim exactly-once, because only one UPDATE
  // can move the row out of 'open'.
  Result<Statement> claim = statements.Prepare(
      "UPDATE pending_consents SET status = 'in_progress', company_id = ?1 "
      "WHERE state_id = ?2 AND status = 'open' AND expires_at > ?3",
      subject);
  if (!claim.ok()) return claim.status();
  claim->BindText(1, company_id);
  claim->BindText(2, state_id);
  claim->BindInt(3, now);
  Status claimed = claim->Run();
  if (!claimed.ok()) return claimed;
  if (sqlite3_changes(db) == 1) {
    Status committed = transaction.Commit(subject);
    if (!committed.ok()) return committed;
    return ClaimResult::kClaimed;
  }

  Result<std::optional<std::string>> status =
      ReadConsentStatusName(statements, state_id, subject);
  if (!status.ok()) return status.status();
  if (!status->has_value()) return ClaimResult::kNotFound;
  if (**status != ConsentStatusName(ConsentStatus::kOpen)) {
    return ClaimResult::kAlreadyClaimed;
  }
  return ClaimResult::kExpired;
}

Status Store::FinishPendingConsent(std::string_view state_id, bool succeeded,
                                   std::string_view outcome_code,
                                   std::string_view outcome_message) {
  const std::string subject = ConsentSubject(state_id);
  StatementCache& statements = *statements_;
  sqlite3* db = db_.get();

  Transaction transaction(statements);
  Status begun = transaction.Begin(subject);
  if (!begun.ok()) return begun;

  Result<Statement> finish = statements.Prepare(
      "UPDATE pending_consents SET status = ?1, outcome_code = ?2, "
      "outcome_message = ?3 WHERE state_id = ?4 AND status = 'in_progress'",
      subject);
  if (!finish.ok()) return finish.status();
  finish->BindText(1, ConsentStatusName(succeeded ? ConsentStatus::kSucceeded
                                                  : ConsentStatus::kFailed));
  finish->BindText(2, outcome_code);
  finish->BindText(3, outcome_message);
  finish->BindText(4, state_id);
  Status finished = finish->Run();
  if (!finished.ok()) return finished;
  if (sqlite3_changes(db) == 1) return transaction.Commit(subject);

  Result<std::optional<std::string>> status =
      ReadConsentStatusName(statements, state_id, subject);
  if (!status.ok()) return status.status();
  if (!status->has_value()) return Status::Error(subject + " not found");
  return Status::Error("FinishPendingConsent failed for " + subject +
                       ": status is " + Quote(**status) +
                       ", but only a claimed (in_progress) consent can be "
                       "finished");
}

// --- connections --------------------------------------------------------

Result<std::optional<Connection>> Store::FindConnectionByAccount(
    std::string_view account_id) {
  return ToConnection(LoadConnectionByAccount(*statements_, account_id));
}

Result<std::optional<Connection>> Store::FindConnectionByCompany(
    std::string_view company_id) {
  return ToConnection(LoadConnectionByCompany(*statements_, company_id));
}

Result<std::optional<Connection>> Store::FindConnection(int64_t id) {
  return ToConnection(LoadConnectionById(*statements_, id));
}

Result<std::vector<Connection>> Store::ListConnections() {
  Result<Statement> statement = statements_->Prepare(
      std::string(kSelectConnection) + "ORDER BY id", "connections");
  if (!statement.ok()) return statement.status();
  return ReadConnections(*statement);
}

Result<int64_t> Store::StoreCredentials(
    std::string_view account_id, std::string_view company_id,
    std::string_view client_id, const Secret& client_secret,
    const Secret& access_token, int64_t token_expires_at, int64_t now,
    std::string_view actor, std::string_view reason) {
  constexpr std::string_view kCall = "StoreCredentials";
  Status valid = RequireNonEmpty(account_id, "account id", kCall);
  if (valid.ok()) valid = RequireNonEmpty(company_id, "company id", kCall);
  if (valid.ok()) valid = RequireNonEmpty(client_id, "client id", kCall);
  if (valid.ok()) {
    valid = RequireNonEmpty(client_secret.Reveal(), "client secret", kCall);
  }
  if (!valid.ok()) return valid;
  if (reason.empty()) reason = "connected";
  const std::string subject = AccountSubject(account_id);
  const std::string company = CompanySubject(company_id);
  StatementCache& statements = *statements_;
  sqlite3* db = db_.get();

  Transaction transaction(statements);
  Status begun = transaction.Begin(subject);
  if (!begun.ok()) return begun;

  // A company belongs to at most one account. It can move away from an
  // account only once that account's connection is disconnected.
  Result<std::optional<ConnectionRow>> holder =
      LoadConnectionByCompany(statements, company_id);
  if (!holder.ok()) return holder.status();
  if (holder->has_value() && (*holder)->connection.account_id != account_id) {
    const Connection& other = (*holder)->connection;
    if (other.state != ConnectionState::kDisconnected) {
      return Status::Error(
          "StoreCredentials failed for " + subject + ": " + company +
          " is already linked to " + ConnectionSubject(other.id) +
          " of another account; disconnect that connection first");
    }
    Result<Statement> release = statements.Prepare(
        "UPDATE connections SET company_id = NULL, updated_at = ?1 "
        "WHERE id = ?2",
        ConnectionSubject(other.id));
    if (!release.ok()) return release.status();
    release->BindInt(1, now);
    release->BindInt(2, other.id);
    Status released = release->Run();
    if (!released.ok()) return released;
  }

  // The row id is part of each sealed value's associated data, so the row
  // must exist before anything is sealed.
  Result<std::optional<ConnectionRow>> existing =
      LoadConnectionByAccount(statements, account_id);
  if (!existing.ok()) return existing.status();
  Connection before;
  std::string from_state;
  if (existing->has_value()) {
    before = std::move((*existing)->connection);
    from_state = std::string(StateName(before.state));
  } else {
    Result<Statement> insert = statements.Prepare(
        "INSERT INTO connections (account_id, state, created_at, updated_at) "
        "VALUES (?1, 'pending', ?2, ?2)",
        subject);
    if (!insert.ok()) return insert.status();
    insert->BindText(1, account_id);
    insert->BindInt(2, now);
    Status inserted = insert->Run();
    if (!inserted.ok()) return inserted;
    before.id = sqlite3_last_insert_rowid(db);
    before.account_id = std::string(account_id);
  }
  const int64_t id = before.id;

  Result<std::string> client_id_sealed =
      SealColumn(*keys_, id, kClientIdColumn, client_id);
  if (!client_id_sealed.ok()) return client_id_sealed.status();
  Result<std::string> client_secret_sealed =
      SealColumn(*keys_, id, kClientSecretColumn, client_secret.Reveal());
  if (!client_secret_sealed.ok()) return client_secret_sealed.status();
  std::string access_token_sealed;
  if (!access_token.empty()) {
    Result<std::string> sealed =
        SealColumn(*keys_, id, kAccessTokenColumn, access_token.Reveal());
    if (!sealed.ok()) return sealed.status();
    access_token_sealed = std::move(*sealed);
  }

  // Clearing the lease makes a renewal still running with the previous
  // credentials fail at CommitToken instead of overwriting the new token.
  Result<Statement> update = statements.Prepare(
      "UPDATE connections SET company_id = ?1, state = 'connected', "
      "reason = ?2, updated_at = ?3, connected_since = ?3, "
      "token_expires_at = ?4, last_success_at = ?3, next_attempt_at = 0, "
      "failure_count = 0, client_id_sealed = ?5, client_secret_sealed = ?6, "
      "access_token_sealed = ?7, lease_owner = NULL, lease_deadline = 0 "
      "WHERE id = ?8",
      ConnectionSubject(id));
  if (!update.ok()) return update.status();
  update->BindText(1, company_id);
  update->BindText(2, reason);
  update->BindInt(3, now);
  update->BindInt(4, access_token_sealed.empty() ? 0 : token_expires_at);
  update->BindText(5, *client_id_sealed);
  update->BindText(6, *client_secret_sealed);
  update->BindTextOrNull(7, access_token_sealed);
  update->BindInt(8, id);
  Status updated = update->Run();
  if (!updated.ok()) return updated;

  // New credentials are always audited, even when the connection was
  // already connected with the same reason.
  Status audited =
      AppendAudit(statements, before, from_state, ConnectionState::kConnected,
                  company_id, actor, reason, now);
  if (!audited.ok()) return audited;

  Status committed = transaction.Commit(subject);
  if (!committed.ok()) return committed;
  return id;
}

Result<ConnectionSecrets> Store::ReadSecrets(int64_t connection_id) {
  const std::string subject = ConnectionSubject(connection_id);
  Result<Statement> select = statements_->Prepare(
      "SELECT client_id_sealed, client_secret_sealed, access_token_sealed "
      "FROM connections WHERE id = ?1",
      subject);
  if (!select.ok()) return select.status();
  select->BindInt(1, connection_id);
  Result<bool> row = select->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::Error(subject + " not found");
  if (select->IsNull(0) || select->IsNull(1)) {
    return Status::Error(subject +
                         " has no stored credentials; the account must "
                         "reintegrate SmartRecruiters");
  }

  ConnectionSecrets secrets;
  Result<Secret> client_id =
      OpenColumn(*keys_, connection_id, kClientIdColumn, select->Text(0));
  if (!client_id.ok()) return client_id.status();
  secrets.client_id = client_id->Reveal();
  Result<Secret> client_secret =
      OpenColumn(*keys_, connection_id, kClientSecretColumn, select->Text(1));
  if (!client_secret.ok()) return client_secret.status();
  secrets.client_secret = std::move(*client_secret);
  if (!select->IsNull(2)) {
    Result<Secret> access_token =
        OpenColumn(*keys_, connection_id, kAccessTokenColumn, select->Text(2));
    if (!access_token.ok()) return access_token.status();
    secrets.access_token = std::move(*access_token);
  }
  return secrets;
}

Status Store::SetState(int64_t connection_id, ConnectionState state,
                       std::string_view reason, std::string_view actor,
                       int64_t now) {
  const std::string subject = ConnectionSubject(connection_id);
  StatementCache& statements = *statements_;

  Transaction transaction(statements);
  Status begun = transaction.Begin(subject);
  if (!begun.ok()) return begun;

  Result<ConnectionRow> row = LoadExistingConnection(statements, connection_id);
  if (!row.ok()) return row.status();
  const Connection& before = row->connection;
  if (before.state == state && before.reason == reason) return Status::Ok();
  if ((state == ConnectionState::kConnected ||
       state == ConnectionState::kDegraded) &&
      !before.has_credentials) {
    return Status::Error("SetState failed for " + subject +
                         ": cannot move to " + Quote(StateName(state)) +
                         " without stored credentials");
  }

  Result<Statement> update = statements.Prepare(
      "UPDATE connections SET state = ?1, reason = ?2, updated_at = ?3 "
      "WHERE id = ?4",
      subject);
  if (!update.ok()) return update.status();
  update->BindText(1, StateName(state));
  update->BindText(2, reason);
  update->BindInt(3, now);
  update->BindInt(4, connection_id);
  Status updated = update->Run();
  if (!updated.ok()) return updated;

  Status audited =
      AppendTransition(statements, before, state, actor, reason, now);
  if (!audited.ok()) return audited;
  return transaction.Commit(subject);
}

Status Store::Disconnect(int64_t connection_id, std::string_view reason,
                         std::string_view actor, int64_t now) {
  const std::string subject = ConnectionSubject(connection_id);
  StatementCache& statements = *statements_;

  Transaction transaction(statements);
  Status begun = transaction.Begin(subject);
  if (!begun.ok()) return begun;

  Result<ConnectionRow> row = LoadExistingConnection(statements, connection_id);
  if (!row.ok()) return row.status();
  const Connection& before = row->connection;

  // The company id stays, so that the operator still sees which company
  // this was. StoreCredentials clears it when another account connects the
  // same company.
  Result<Statement> update = statements.Prepare(
      "UPDATE connections SET state = 'disconnected', reason = ?1, "
      "updated_at = ?2, token_expires_at = 0, next_attempt_at = 0, "
      "failure_count = 0, client_id_sealed = NULL, "
      "client_secret_sealed = NULL, access_token_sealed = NULL, "
      "lease_owner = NULL, lease_deadline = 0 WHERE id = ?3",
      subject);
  if (!update.ok()) return update.status();
  update->BindText(1, reason);
  update->BindInt(2, now);
  update->BindInt(3, connection_id);
  Status updated = update->Run();
  if (!updated.ok()) return updated;

  if (before.state != ConnectionState::kDisconnected ||
      before.reason != reason) {
    Status audited = AppendTransition(
        statements, before, ConnectionState::kDisconnected, actor, reason, now);
    if (!audited.ok()) return audited;
  }
  return transaction.Commit(subject);
}

// --- refresh --------------------------------------------------------------

Result<std::vector<Connection>> Store::ListDue(int64_t now, int64_t margin_s) {
  Result<Statement> statement = statements_->Prepare(
      std::string(kSelectConnection) +
          "WHERE state IN ('connected', 'degraded') "
          "AND client_secret_sealed IS NOT NULL AND token_expires_at < ?1 "
          "AND next_attempt_at <= ?2 ORDER BY token_expires_at, id",
      "due connections");
  if (!statement.ok()) return statement.status();
  statement->BindInt(1, SaturatingAdd(now, margin_s));
  statement->BindInt(2, now);
  return ReadConnections(*statement);
}

Result<bool> Store::AcquireLease(int64_t connection_id, std::string_view owner,
                                 int64_t now, int64_t deadline) {
  Status valid = RequireNonEmpty(owner, "lease owner", "AcquireLease");
  if (!valid.ok()) return valid;
  const std::string subject = ConnectionSubject(connection_id);
  if (deadline <= now) {
    return Status::Error("AcquireLease failed for " + subject +
                         ": lease deadline " + std::to_string(deadline) +
                         " is not after now (" + std::to_string(now) + ")");
  }
  StatementCache& statements = *statements_;
  sqlite3* db = db_.get();

  Transaction transaction(statements);
  Status begun = transaction.Begin(subject);
  if (!begun.ok()) return begun;

  Result<Statement> acquire = statements.Prepare(
      "UPDATE connections SET lease_owner = ?1, lease_deadline = ?2 "
      "WHERE id = ?3 AND (lease_owner IS NULL OR lease_deadline <= ?4 "
      "OR lease_owner = ?1)",
      subject);
  if (!acquire.ok()) return acquire.status();
  acquire->BindText(1, owner);
  acquire->BindInt(2, deadline);
  acquire->BindInt(3, connection_id);
  acquire->BindInt(4, now);
  Status acquired = acquire->Run();
  if (!acquired.ok()) return acquired;
  if (sqlite3_changes(db) == 1) {
    Status committed = transaction.Commit(subject);
    if (!committed.ok()) return committed;
    return true;
  }

  Result<std::optional<ConnectionRow>> row =
      LoadConnectionById(statements, connection_id);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return Status::Error(subject + " not found");
  return false;
}

Status Store::ReleaseLease(int64_t connection_id, std::string_view owner) {
  Result<Statement> release = statements_->Prepare(
      "UPDATE connections SET lease_owner = NULL, lease_deadline = 0 "
      "WHERE id = ?1 AND lease_owner = ?2",
      ConnectionSubject(connection_id));
  if (!release.ok()) return release.status();
  release->BindInt(1, connection_id);
  release->BindText(2, owner);
  return release->Run();
}

Result<std::optional<int64_t>> Store::LeaseDeadline(int64_t connection_id) {
  Result<std::optional<ConnectionRow>> row =
      LoadConnectionById(*statements_, connection_id);
  if (!row.ok()) return row.status();
  if (!row->has_value()) {
    return Status::Error(ConnectionSubject(connection_id) + " not found");
  }
  if ((*row)->lease_owner.empty()) return std::optional<int64_t>();
  return std::optional<int64_t>((*row)->lease_deadline);
}

Status Store::CommitToken(int64_t connection_id, std::string_view owner,
                          const Secret& access_token, int64_t token_expires_at,
                          int64_t now) {
  constexpr std::string_view kCall = "CommitToken";
  Status valid = RequireNonEmpty(access_token.Reveal(), "access token", kCall);
  if (!valid.ok()) return valid;
  const std::string subject = ConnectionSubject(connection_id);
  StatementCache& statements = *statements_;

  Transaction transaction(statements);
  Status begun = transaction.Begin(subject);
  if (!begun.ok()) return begun;

  Result<ConnectionRow> row = LoadExistingConnection(statements, connection_id);
  if (!row.ok()) return row.status();
  Status leased = RequireLeaseOwner(*row, owner, kCall);
  if (!leased.ok()) return leased;
  const Connection& before = row->connection;
  if (!before.has_credentials) {
    return Status::Error("CommitToken failed for " + subject +
                         ": the connection has no stored credentials");
  }

  Result<std::string> sealed = SealColumn(
      *keys_, connection_id, kAccessTokenColumn, access_token.Reveal());
  if (!sealed.ok()) return sealed.status();

  const bool recovers = before.state == ConnectionState::kDegraded;
  const ConnectionState state =
      recovers ? ConnectionState::kConnected : before.state;
  const std::string reason = recovers ? "token renewed" : before.reason;
  Result<Statement> update = statements.Prepare(
      "UPDATE connections SET access_token_sealed = ?1, "
      "token_expires_at = ?2, last_success_at = ?3, updated_at = ?3, "
      "failure_count = 0, next_attempt_at = 0, state = ?4, reason = ?5, "
      "lease_owner = NULL, lease_deadline = 0 WHERE id = ?6",
      subject);
  if (!update.ok()) return update.status();
  update->BindText(1, *sealed);
  update->BindInt(2, token_expires_at);
  update->BindInt(3, now);
  update->BindText(4, StateName(state));
  update->BindText(5, reason);
  update->BindInt(6, connection_id);
  Status updated = update->Run();
  if (!updated.ok()) return updated;

  if (recovers) {
    Status audited =
        AppendTransition(statements, before, state, "refresh", reason, now);
    if (!audited.ok()) return audited;
  }
  return transaction.Commit(subject);
}

Status Store::RecordFailure(int64_t connection_id, std::string_view owner,
                            ConnectionState state, std::string_view reason,
                            int64_t next_attempt_at, int64_t now) {
  constexpr std::string_view kCall = "RecordFailure";
  const std::string subject = ConnectionSubject(connection_id);
  if (state == ConnectionState::kPending ||
      state == ConnectionState::kConnected) {
    return Status::Error("RecordFailure failed for " + subject + ": state " +
                         Quote(StateName(state)) +
                         " is not a failure state (use degraded, "
                         "needs_reintegration or disconnected)");
  }
  StatementCache& statements = *statements_;

  Transaction transaction(statements);
  Status begun = transaction.Begin(subject);
  if (!begun.ok()) return begun;

  Result<ConnectionRow> row = LoadExistingConnection(statements, connection_id);
  if (!row.ok()) return row.status();
  Status leased = RequireLeaseOwner(*row, owner, kCall);
  if (!leased.ok()) return leased;
  const Connection& before = row->connection;

  const int64_t failure_count =
      state == ConnectionState::kDegraded ? before.failure_count + 1 : 0;
  // Moving to disconnected erases the secrets, as Disconnect() does.
  const char* sql =
      state == ConnectionState::kDisconnected
          ? "UPDATE connections SET state = ?1, reason = ?2, "
            "next_attempt_at = ?3, failure_count = ?4, updated_at = ?5, "
            "lease_owner = NULL, lease_deadline = 0, token_expires_at = 0, "
            "client_id_sealed = NULL, client_secret_sealed = NULL, "
            "access_token_sealed = NULL WHERE id = ?6"
          : "UPDATE connections SET state = ?1, reason = ?2, "
            "next_attempt_at = ?3, failure_count = ?4, updated_at = ?5, "
            "lease_owner = NULL, lease_deadline = 0 WHERE id = ?6";
  Result<Statement> update = statements.Prepare(sql, subject);
  if (!update.ok()) return update.status();
  update->BindText(1, StateName(state));
  update->BindText(2, reason);
  update->BindInt(3, next_attempt_at);
  update->BindInt(4, failure_count);
  update->BindInt(5, now);
  update->BindInt(6, connection_id);
  Status updated = update->Run();
  if (!updated.ok()) return updated;

  if (before.state != state || before.reason != reason) {
    Status audited =
        AppendTransition(statements, before, state, "refresh", reason, now);
    if (!audited.ok()) return audited;
  }
  return transaction.Commit(subject);
}

// --- audit and keys -----------------------------------------------------

Result<std::vector<AuditEntry>> Store::ListAudit(int64_t connection_id,
                                                 int64_t limit) {
  Result<Statement> select = statements_->Prepare(
      "SELECT id, at, connection_id, account_id, company_id, from_state, "
      "to_state, actor, reason FROM audit_log "
      "WHERE ?1 = 0 OR connection_id = ?1 ORDER BY id DESC LIMIT ?2",
      connection_id == 0 ? "audit log" : ConnectionSubject(connection_id));
  if (!select.ok()) return select.status();
  select->BindInt(1, connection_id);
  select->BindInt(2, limit);

  std::vector<AuditEntry> entries;
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) return entries;
    AuditEntry entry;
    entry.id = select->Int(0);
    entry.at = select->Int(1);
    entry.connection_id = select->Int(2);
    entry.account_id = select->Text(3);
    entry.company_id = select->Text(4);
    entry.from_state = select->Text(5);
    entry.to_state = select->Text(6);
    entry.actor = select->Text(7);
    entry.reason = select->Text(8);
    entries.push_back(std::move(entry));
  }
}

Result<int64_t> Store::Reseal(const KeyRing* new_keys) {
  const std::string subject = "sealed values";
  if (new_keys == nullptr) {
    return Status::Error("Reseal failed: no key ring given");
  }
  StatementCache& statements = *statements_;

  Transaction transaction(statements);
  Status begun = transaction.Begin(subject);
  if (!begun.ok()) return begun;

  struct SealedValue {
    int64_t connection_id;
    size_t column;  // index into kColumns
    std::string sealed;
  };
  struct Column {
    std::string_view name;
    const char* update_sql;
  };
  constexpr Column kColumns[] = {
      {kClientIdColumn,
       "UPDATE connections SET client_id_sealed = ?1 WHERE id = ?2"},
      {kClientSecretColumn,
       "UPDATE connections SET client_secret_sealed = ?1 WHERE id = ?2"},
      {kAccessTokenColumn,
       "UPDATE connections SET access_token_sealed = ?1 WHERE id = ?2"},
  };

  // All values are read before the first update, so that the updates never
  // run under an open cursor over the same table.
  Result<Statement> select = statements.Prepare(
      "SELECT id, client_id_sealed, client_secret_sealed, "
      "access_token_sealed FROM connections ORDER BY id",
      subject);
  if (!select.ok()) return select.status();
  std::vector<SealedValue> values;
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    for (size_t column = 0; column < std::size(kColumns); ++column) {
      const int index = static_cast<int>(column) + 1;
      if (select->IsNull(index)) continue;
      values.push_back({select->Int(0), column, select->Text(index)});
    }
  }

  int64_t resealed = 0;
  for (const SealedValue& value : values) {
    const Column& column = kColumns[value.column];
    const std::string owner = std::string(column.name) + " of " +
                              ConnectionSubject(value.connection_id);
    Result<std::string> key_id = KeyRing::KeyIdOf(value.sealed);
    if (!key_id.ok()) {
      return Status::Error("Reseal failed: " + owner +
                           " is not a sealed value: " + key_id.error());
    }
    if (*key_id == new_keys->current_key_id()) continue;

    // The old ring opens the values it sealed. The new ring also opens
    // values sealed with one of its previous keys.
    Result<Secret> plaintext =
        OpenColumn(*keys_, value.connection_id, column.name, value.sealed);
    if (!plaintext.ok()) {
      plaintext =
          OpenColumn(*new_keys, value.connection_id, column.name, value.sealed);
    }
    if (!plaintext.ok()) return plaintext.status();
    Result<std::string> sealed = SealColumn(*new_keys, value.connection_id,
                                            column.name, plaintext->Reveal());
    if (!sealed.ok()) return sealed.status();

    Result<Statement> update = statements.Prepare(
        column.update_sql, ConnectionSubject(value.connection_id));
    if (!update.ok()) return update.status();
    update->BindText(1, *sealed);
    update->BindInt(2, value.connection_id);
    Status updated = update->Run();
    if (!updated.ok()) return updated;
    ++resealed;
  }

  Status committed = transaction.Commit(subject);
  if (!committed.ok()) return committed;
  keys_ = new_keys;
  return resealed;
}

}  // namespace srconnect
